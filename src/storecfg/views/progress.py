"""Progress of an apply: a bar on a terminal, plain lines in CI logs (standard error)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, ClassVar

import click

from ..escape import escape

if TYPE_CHECKING:
    from ..apply.execute import Progress

#: a progress line is padded (and cut) to this width, so the bar overwrites itself
WIDTH = 120


class ApplyProgress:
    """Told of every write of an apply (`execute(progress=...)`)."""

    VERBS: ClassVar[dict[str, str]] = {
        "create": "created",
        "update": "updated",
        "delete": "deleted",
        "replace": "replaced",
        "settings": "updated",
    }

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_pct = -1

    def __call__(self, p: Progress) -> None:
        if p.event == "failed":
            self._clear()
            click.echo(escape(f"  failed  {p.address}: {p.error}"), err=True)
            return
        if p.event != "done":
            return
        if self.tty:
            width = 30
            filled = int(width * p.done / max(p.total, 1))
            bar = "#" * filled + "-" * (width - filled)
            line = f"\r  [{bar}] {p.done}/{p.total} {self.VERBS.get(p.action, p.action)} {escape(p.address)}"
            click.echo(line[:WIDTH].ljust(WIDTH), err=True, nl=False)
            if p.done == p.total:
                click.echo("", err=True)
        elif p.total <= 200:
            click.echo(f"  {self.VERBS.get(p.action, p.action)} {escape(p.address)}", err=True)
        else:
            pct = p.done * 100 // p.total
            if pct // 10 != self.last_pct // 10 or p.done == p.total:
                self.last_pct = pct
                click.echo(f"  applied {p.done}/{p.total} ({pct}%)", err=True)

    def _clear(self) -> None:
        if self.tty:
            click.echo("\r" + " " * WIDTH + "\r", err=True, nl=False)
