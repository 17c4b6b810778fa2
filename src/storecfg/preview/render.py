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
from .sanitize import text_on
from .views import DEFAULT_ACCENT, DEFAULT_PRIMARY, Branding, Site

MANIFEST = ".storecfg-preview.json"


@dataclass
class Written:
    directory: Path
    files: list[str]
    #: with several targets: target name -> what was written in its folder
    targets: dict[str, Written] | None = None


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


def _safe_names(values: object) -> list[str]:
    if not isinstance(values, list):
        return []
    return [
        v
        for v in values
        if isinstance(v, str) and v not in ("", ".", "..") and "/" not in v and "\\" not in v
    ]


def _previous(outdir: Path) -> tuple[list[str], list[str]]:
    """Files and target folders the last preview wrote here; refuse a folder that holds
    anything else."""
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {outdir}: exists and is not a directory")
    if not outdir.exists():
        return [], []
    manifest = outdir / MANIFEST
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        return _safe_names(data.get("files")), _safe_names(data.get("targets"))
    if any(outdir.iterdir()):
        raise UsageError(
            f"-o {outdir}: the directory is not empty and holds no earlier preview",
            hint="Choose a new or empty directory; storecfg preview replaces only its own files.",
        )
    return [], []


def _remove_preview(folder: Path) -> None:
    """Remove an earlier preview's files (only those its manifest names) and its folder
    when nothing else is left in it."""
    files, targets = _previous(folder)
    for name in targets:
        if (folder / name).is_dir() and not (folder / name).is_symlink():
            _remove_preview(folder / name)
    for name in [*files, MANIFEST]:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _finish(
    outdir: Path,
    pages: dict[str, str],
    targets: list[str],
    previous: tuple[list[str], list[str]],
) -> None:
    """Write pages, remove what the earlier preview had and this one has not, and
    record what is there now."""
    previous_files, previous_targets = previous
    outdir.mkdir(parents=True, exist_ok=True)
    for name, content in pages.items():
        atomic_write(outdir / name, content.encode("utf-8"))
    for stale in set(previous_files) - set(pages):
        path = outdir / stale
        if path.is_file() and not path.is_symlink():
            path.unlink()
    for stale in set(previous_targets) - set(targets):
        if (outdir / stale).is_dir() and not (outdir / stale).is_symlink():
            _remove_preview(outdir / stale)
    manifest: dict[str, object] = {
        "generator": f"storecfg {__version__} preview",
        "files": sorted(pages),
    }
    if targets:
        manifest["targets"] = sorted(targets)
    atomic_write(outdir / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())


def write_site(site: Site, outdir: Path) -> Written:
    """Write the pages into outdir (created if missing), replacing an earlier preview."""
    previous = _previous(outdir)  # refuse a folder that is not ours before writing anything
    pages = render_pages(site)
    _finish(outdir, pages, [], previous)
    return Written(outdir, sorted(pages))


def write_sites(sites: list[tuple[str, Site]], outdir: Path) -> Written:
    """Several targets' storefronts: each in OUTDIR/NAME, and OUTDIR/index.html leading
    to them."""
    previous = _previous(outdir)
    for name, _ in sites:
        _previous(outdir / name)
    written = {name: write_site(site, outdir / name) for name, site in sites}
    env = _environment()
    neutral = Branding(
        title="",
        primary=DEFAULT_PRIMARY,
        accent=DEFAULT_ACCENT,
        on_primary=text_on(DEFAULT_PRIMARY),
        on_accent=text_on(DEFAULT_ACCENT),
    )
    pages = {
        "style.css": env.get_template("style.css").render(branding=neutral),
        "index.html": env.get_template("targets.html").render(sites=sites, version=__version__),
    }
    _finish(outdir, pages, [name for name, _ in sites], previous)
    return Written(outdir, sorted(pages), written)
