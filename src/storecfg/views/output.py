"""Results on standard output: a rendered document, JSON, and the line that says a
file was written instead (on standard error, so the output stays the result)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def print_document(text: str) -> None:
    """Text rendered whole (it ends in its own newline)."""
    click.echo(text, nl=False)


def print_json(data: Any, *, ensure_ascii: bool = True) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=ensure_ascii))


def print_written(path: Path) -> None:
    click.echo(f"Wrote {path}", err=True)
