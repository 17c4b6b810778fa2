"""export writes a definition that reads back as the same store, and never overwrites by surprise."""

from __future__ import annotations

from pathlib import Path

from storecfg.compiler.compile import compile_store
from storecfg.store.driver import open_store
from support.server import storecfg

from .samples import sku

STORE = "tricky"


def test_exported_values_read_back_as_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    driver = open_store(url)
    awkward = {
        "NO": "NO",
        "yes": "yes",
        "octal": "0755",
        "clock": "22:22",
        "braces": "{{ vars.x }}",
        "endraw": "Use {{ name }} or {% endraw %} literally",
        "null": "null",
        "number": "12",
        "float": "1.50",
        "multi": "line one\nline two",
    }
    for rid, name in awkward.items():
        driver.put(STORE, "skus", rid.lower(), sku(name=name, vendor=name), create=True)
    driver.close()
    out = tmp_path / "out"
    result = storecfg("export", "--store-id", STORE, "-o", str(out), "--store", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    compiled = compile_store(out)
    assert compiled.ok, [d.format() for d in compiled.diagnostics]
    assert compiled.desired is not None
    names = {rid: spec["name"] for rid, spec in compiled.desired.resources["skus"].items()}
    assert names == {rid.lower(): name for rid, name in awkward.items()}
    plan = storecfg("plan", str(out), "--store", url, "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    again = storecfg("export", "--store-id", STORE, "-o", str(out), "--store", url, cwd=tmp_path)
    assert again.returncode == 1
    assert "already holds a store.yaml; use --force" in again.stderr
    forced = storecfg(
        "export", "--store-id", STORE, "-o", str(out), "--store", url, "--force", cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
