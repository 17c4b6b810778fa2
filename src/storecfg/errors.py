"""Errors and diagnostics: every problem the tool reports says where it is.

A `Diagnostic` is one finding in a store definition (file, line, column, code,
address, JSON path, message). A `StorecfgError` is a failure of a command; it
carries an exit code and, for definition problems, the diagnostics behind it.
Library exceptions are converted to these at the edge (`raise ... from exc`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .escape import escape

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in a source file; line and column are 1-based (0 means unknown)."""

    file: str
    line: int = 0
    column: int = 0

    def display_file(self) -> str:
        return display_path(self.file)


#: characters of a value that a message quotes (longer values end in '...')
QUOTE_CHARS = 40
#: characters of a diagnostic's message at most
MAX_MESSAGE_CHARS = 1000


def quoted(value: str, limit: int = QUOTE_CHARS) -> str:
    """A value as a message quotes it: repr of at most `limit` characters of it.

    Values come from the user's files; a message never carries more than a prefix."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def clipped(message: str) -> str:
    """A message cut to MAX_MESSAGE_CHARS characters."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 3] + "..."


def display_path(path: str) -> str:
    """A path as users should see it: relative to the current directory when possible."""
    if not path or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return rel


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding in a store definition."""

    code: str
    message: str
    location: SourceLocation
    address: str = "-"
    path: str = "$"
    severity: str = ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.display_file(), loc.line, loc.column, self.code, self.message)

    def format(self) -> str:
        """`FILE:LINE:COL: CODE ADDRESS: message` (SPEC 1.2)."""
        loc = self.location
        prefix = "warning: " if self.severity == WARNING else ""
        # messages quote the definition's own values: printed, they must not drive the terminal
        return escape(
            f"{loc.display_file()}:{loc.line}:{loc.column}: {self.code} {self.address}: {prefix}{self.message}"
        )

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "file": loc.display_file(),
            "line": loc.line,
            "column": loc.column,
            "code": self.code,
            "severity": self.severity,
            "address": self.address,
            "path": self.path,
            "message": self.message,
        }


def sort_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=Diagnostic.sort_key)


class StorecfgError(Exception):
    """A command failed; `exit_code` is what the CLI exits with."""

    exit_code = 1
    #: the store the failed command was working on, when known (a failed plan's
    #: Markdown names it in its marker line)
    store_id: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, lines: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: details printed one per line under the message (each escaped on its own, so
        #: a line break inside one of them cannot start a line of its own)
        self.lines = list(lines)

    def __str__(self) -> str:
        return "\n  ".join([self.message, *self.lines])


class DefinitionError(StorecfgError):
    """The store definition is invalid; `diagnostics` says where and why."""

    def __init__(
        self, diagnostics: list[Diagnostic], warnings: list[Diagnostic] | None = None
    ) -> None:
        errors = [d for d in diagnostics if d.severity == ERROR]
        n = len(errors)
        super().__init__(f"the store definition has {n} error{'s' if n != 1 else ''}")
        self.diagnostics = sort_diagnostics(diagnostics + (warnings or []))


class UsageError(StorecfgError):
    """Bad command-line input (a missing file, a malformed option value)."""


class StoreError(StorecfgError):
    """A store (embedded or HTTP) refused or failed a request.

    `status` follows HTTP meanings (404, 409, 412, 422, 423, 428, 429, 5xx; 0 when the
    store could not be reached). Never carries an API token.
    """

    def __init__(
        self,
        message: str,
        status: int = 0,
        *,
        diagnostics: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.diagnostics = diagnostics or []
        self.retry_after = retry_after
        self.details = details or {}


class ConflictError(StoreError):
    """A write's precondition failed: somebody else changed the resource."""


class LockedError(StoreError):
    """The store's apply lock is held by somebody else."""


class PlanError(StorecfgError):
    """A plan cannot be made or applied (prevent_destroy, --max-deletes, stale plan)."""
