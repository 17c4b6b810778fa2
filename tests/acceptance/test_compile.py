"""SPEC section 2's `compile`: the desired state is what the store API stores."""

from __future__ import annotations

import json
from pathlib import Path

from support.server import Server, storecfg

from .conftest import RESOURCE_COUNT, write_store


def test_compile_prints_the_specs_the_store_api_stores(tmp_path: Path, server: Server) -> None:
    write_store(tmp_path / "store", "compile-check")
    env = server.env("compile-check")
    applied = storecfg("apply", "store", "--auto-approve", cwd=tmp_path, env=env)
    assert applied.returncode == 0, applied.stderr

    result = storecfg("compile", "store", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    desired = json.loads(result.stdout)
    assert set(desired) == {"store", "resources"}
    assert sum(len(ids) for ids in desired["resources"].values()) == RESOURCE_COUNT
    # --json is accepted, as on every command that prints results, and changes nothing
    assert storecfg("compile", "store", "--json", cwd=tmp_path).stdout == result.stdout

    with server.client("compile-check") as client:
        for kind, specs in desired["resources"].items():
            for rid, spec in specs.items():
                live = client.get(f"/v1/stores/compile-check/{kind}/{rid}")
                assert live.status_code == 200, (kind, rid)
                assert live.json()["spec"] == spec, (kind, rid)
