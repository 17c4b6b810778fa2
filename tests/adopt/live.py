"""Changes made to a store through its HTTP API, as the control panel would make them
(outside storecfg), and the lines a file gained or lost, for the end-to-end tests."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from support.server import Server

STORE = "contoso-us"


def edit_live(server: Server, kind: str, rid: str, change: Callable[[Any], None]) -> None:
    """Change a resource with the store API directly (GET, change, PUT with If-Match)."""
    with server.client(STORE) as client:
        got = client.get(f"/v1/stores/{STORE}/{kind}/{rid}")
        assert got.status_code == 200, got.text
        spec = got.json()["spec"]
        change(spec)
        put = client.put(
            f"/v1/stores/{STORE}/{kind}/{rid}",
            json={"spec": spec},
            headers={"If-Match": got.headers["ETag"]},
        )
        assert put.status_code == 200, put.text


def create_live(server: Server, kind: str, spec: dict[str, Any]) -> None:
    """Create a resource with the store API directly."""
    with server.client(STORE) as client:
        put = client.put(
            f"/v1/stores/{STORE}/{kind}/{spec['id']}",
            json={"spec": spec},
            headers={"If-None-Match": "*"},
        )
        assert put.status_code in (200, 201), put.text


def changed_lines(before: str, after: str) -> list[str]:
    """The lines removed (`-...`) and added (`+...`) between two texts."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
