"""Storefront preview: the store as a customer walks it, as a static site.

`preview_directory` compiles a definition directory, optionally reads the live store to
compare, and writes the pages (`site.py` builds what they show, `render.py` writes
them). The result is one folder of HTML and CSS that opens from disk and that CI can
upload as an artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .render import Written, render_pages, write_site, write_sites
from .site import build_site
from .views import Site

__all__ = [
    "PreviewResult",
    "Site",
    "build_preview",
    "build_site",
    "preview_directory",
    "render_pages",
    "write_site",
    "write_sites",
]


@dataclass
class PreviewResult:
    site: Site
    written: Written
    warnings: list[Any] = field(default_factory=list)


def build_preview(
    directory: Path,
    settings: Any,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    *,
    compare_live: bool = False,
) -> tuple[Site, list[Any]]:
    """The storefront of `directory` (and the compile's warnings), written nowhere yet.

    With `compare_live`, the live store named by `settings` (URL and token) is read too,
    and the site marks changed prices, new and removed plans against it.
    """
    from ..apply.workflow import compile_desired
    from ..store.driver import open_store

    desired, warnings = compile_desired(directory, settings, var_files, var_overrides, var_json)
    live = None
    live_url = None
    if compare_live:
        driver = open_store(settings.store_url, token=getattr(settings, "token", None))
        try:
            live = driver.read_all(desired.store["id"])
            live_url = driver.url
        finally:
            driver.close()
    return build_site(desired, live, live_url), warnings


def preview_directory(
    directory: Path,
    outdir: Path,
    settings: Any,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    *,
    compare_live: bool = False,
) -> PreviewResult:
    """Compile `directory` and write its storefront into `outdir`."""
    site, warnings = build_preview(
        directory, settings, var_files, var_overrides, var_json, compare_live=compare_live
    )
    return PreviewResult(site, write_site(site, outdir), warnings)
