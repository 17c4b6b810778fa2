"""Diagnostics, errors and notes on the terminal (standard error, unless a command
prints its findings as its result).

Messages quote what stores and files said: they are escaped, so no control or
bidirectional character reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..errors import DefinitionError, Diagnostic, StorecfgError
from ..escape import escape


def print_diagnostics(diagnostics: Sequence[Diagnostic], *, err: bool = True) -> None:
    """One `FILE:LINE:COL: CODE ADDRESS: message` line each."""
    for d in diagnostics:
        click.echo(d.format(), err=err)


def print_failure(message: str, hint: str | None = None, lines: Sequence[str] = ()) -> None:
    """`Error: message`, then its detail lines and its hint, indented."""
    click.echo(f"Error: {escape(message)}", err=True)
    for line in lines:
        click.echo(f"  {escape(line)}", err=True)
    if hint:
        click.echo(f"  {escape(hint)}", err=True)


def print_error(exc: StorecfgError, prefix: str = "") -> None:
    """A failed command (or target): the definition's diagnostics first, then the error."""
    if isinstance(exc, DefinitionError):
        print_diagnostics(exc.diagnostics)
    message = exc.message if exc.message.startswith(prefix) else prefix + exc.message
    print_failure(message, exc.hint, exc.lines)


def warning(message: str) -> None:
    """`Warning: message`, escaped whole."""
    click.echo(escape(f"Warning: {message}"), err=True)


def notice(message: str) -> None:
    """A line for the user while a command works (a stale lock released, a file written)."""
    click.echo(message, err=True)


def plaintext_warning(url: str) -> None:
    """The API token would cross the network in the clear (`url` has no credentials)."""
    click.echo(
        f"Warning: {escape(url)} is plain HTTP to another machine: the API "
        "token (STORECFG_TOKEN) and the store's content cross the network unencrypted. "
        "Use https://.",
        err=True,
    )
