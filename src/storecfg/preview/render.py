"""Write a Site as a folder of static pages that opens from disk.

Jinja2 templates with autoescaping; one stylesheet written beside the pages; no
scripts, no fonts or styles from elsewhere, and a Content-Security-Policy that keeps
the browser from loading anything from the network even if the store's own text
tried to. A manifest of the files written lets the next run replace them without
touching anything else in the folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .. import __version__
from .._fs import atomic_write
from ..errors import UsageError
from .site import Site

MANIFEST = ".storecfg-preview.json"


@dataclass
class Written:
    directory: Path
    files: list[str]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("storecfg.preview", "templates"),
        # every page is HTML; the stylesheet only receives #RRGGBB colours checked before
        autoescape=lambda name: name is None or not name.endswith(".css"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_pages(site: Site) -> dict[str, str]:
    """File name -> content of every file of the preview."""
    env = _environment()
    common = {"site": site, "version": __version__}
    pages = {"style.css": env.get_template("style.css").render(branding=site.branding)}
    pages["index.html"] = env.get_template("index.html").render(page="index.html", **common)
    scenario = env.get_template("scenario.html")
    for view in site.scenarios:
        pages[view.page] = scenario.render(page=view.page, scenario=view, **common)
    pages["catalog.html"] = env.get_template("catalog.html").render(page="catalog.html", **common)
    if site.comparison is not None:
        pages["changes.html"] = env.get_template("changes.html").render(
            page="changes.html", **common
        )
    return pages


def _previous_files(outdir: Path) -> list[str]:
    """Files the last preview wrote here; refuse a folder that holds anything else."""
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {outdir}: exists and is not a directory")
    if not outdir.exists():
        return []
    manifest = outdir / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
        except (ValueError, AttributeError, OSError):
            files = []
        return [f for f in files if isinstance(f, str) and "/" not in f and f not in ("", "..")]
    if any(outdir.iterdir()):
        raise UsageError(
            f"-o {outdir}: the directory is not empty and holds no earlier preview",
            hint="Choose a new or empty directory; storecfg preview replaces only its own files.",
        )
    return []


def write_site(site: Site, outdir: Path) -> Written:
    """Write the pages into outdir (created if missing), replacing an earlier preview."""
    previous = _previous_files(outdir)
    pages = render_pages(site)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, content in pages.items():
        atomic_write(outdir / name, content.encode("utf-8"))
    for stale in set(previous) - set(pages):
        path = outdir / stale
        if path.is_file() and not path.is_symlink():
            path.unlink()
    manifest = {"generator": f"storecfg {__version__} preview", "files": sorted(pages)}
    atomic_write(outdir / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return Written(outdir, sorted(pages))
