"""Export a live store as a store definition directory.

store.yaml (settings and an include list) plus one file per kind, resources sorted
by ID, fields in schema order, amounts as quoted strings. Every string is written
so that storecfg reads it back as the same string: values YAML 1.2 would read as a
number, boolean or null are quoted, and text that looks like a template is wrapped
in `{% raw %}`. Export then plan shows no changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .._fs import atomic_write
from ..errors import UsageError, display_path
from ..model import KINDS, LiveState
from ..spec.iso import currency_digits
from ..spec.normalize import normalize
from ..spec.yaml12 import resolve_plain


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "{{" in data or "{%" in data:
        # text that looks like a template must come back as itself: a raw block, or,
        # when the text itself ends raw blocks, one string expression
        if "endraw" in data:
            data = "{{ " + json.dumps(data) + " }}"
        else:
            data = "{% raw %}" + data + "{% endraw %}"
    plain_means_same = resolve_plain(data) == data and isinstance(resolve_plain(data), str)
    style = None if plain_means_same else '"'
    if "\n" in data:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=110,
        default_flow_style=False,
    )


def export_store(
    live: LiveState, directory: Path, *, store_url: str, force: bool = False
) -> list[Path]:
    """Write `live` as a definition into `directory`; returns the files written."""
    if (directory / "store.yaml").exists() and not force:
        raise UsageError(
            f"{display_path(str(directory))} already holds a store.yaml; use --force to overwrite it"
        )
    settings = live.settings
    digits = currency_digits(str(settings.get("currency", "USD")))
    written: list[Path] = []
    includes: list[str] = []
    for kind in KINDS:
        items = live.resources.get(kind)
        if not items:
            continue
        specs = [normalize(kind, items[rid].spec, digits) for rid in sorted(items)]
        name = f"{kind}.yaml"
        header = f"# {kind}: {len(specs)} exported from store {live.store_id} at revision {live.revision}\n"
        path = directory / name
        atomic_write(path, (header + dump_yaml({kind: specs})).encode())
        written.append(path)
        includes.append(name)
    root = {
        "apiVersion": "storecfg/v1",
        "store": normalize("store", {**settings, "id": live.store_id}, digits),
        "include": includes,
    }
    header = (
        f"# Store {live.store_id} exported from {store_url} at revision {live.revision}.\n"
        "# `storecfg plan` on this directory shows no changes until the store or the files change.\n"
    )
    path = directory / "store.yaml"
    atomic_write(path, (header + dump_yaml(root)).encode())
    written.insert(0, path)
    return written
