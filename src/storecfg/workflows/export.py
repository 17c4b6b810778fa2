"""`export`: the live store written as a definition directory, and that directory
compiled back, so the user learns at once when the live store breaks the rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..compiler.result import CompileResult


@dataclass
class Exported:
    store_id: str
    revision: int
    #: resources exported
    count: int
    files: list[Path]


def export_live(
    store_url: str | None, store_id: str | None, output: Path, *, force: bool
) -> Exported:
    """Write the store at `store_url` (the one it holds, or `store_id`) into `output`."""
    from ..apply.workflow import resolve_store_id
    from ..store.driver import open_store
    from ..store.export import export_store

    driver = open_store(store_url)
    try:
        sid = resolve_store_id(driver, store_id)
        live = driver.read_all(sid)
        files = export_store(live, output, store_url=driver.url, force=force)
    finally:
        driver.close()
    return Exported(sid, live.revision, live.count(), files)


def check_export(output: Path) -> CompileResult:
    """The exported directory compiled: not ok when the live store breaks the rules."""
    from ..compiler.compile import compile_store

    return compile_store(output)
