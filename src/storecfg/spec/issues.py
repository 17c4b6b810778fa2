"""Issues, and diagnostics made from them: the one shape of a problem in a definition.

An `Issue` is plain data about a value: a stable code (see `codes`), the path of the
problem inside the value (keys and list indexes) and a message. The domain (schema
validation, the rules) finds issues without knowing where a value was written. A
`Diagnostic` (errors.py) is an issue plus a place: the file, line and column, and the
resource address; `diagnostic()` makes one, for the compiler (a place in a YAML file)
and for the store API alike (file "<request>", no line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Diagnostic, SourceLocation, clipped
from .codes import severity
from .paths import format_address, json_path


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with a value: what (`code`, `message`) and where in the value (`path`)."""

    code: str
    path: tuple[Any, ...]
    message: str
    #: the problem is the key at `path`, not its value (an unknown field)
    at_key: bool = False

    @property
    def severity(self) -> str:
        return severity(self.code)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding(Issue):
    """An issue a rule found in one resource: `path` is inside resource `kind`.`id`."""

    kind: str
    id: str

    @property
    def address(self) -> str:
        return format_address(self.kind, self.id, self.path)


def diagnostic(
    issue: Issue, file: str, pos: tuple[int, int] | None, address: str = "-"
) -> Diagnostic:
    """The issue at a place: `pos` is (line, column), None when unknown."""
    line, column = pos or (0, 0)
    return Diagnostic(
        issue.code,
        clipped(issue.message),
        SourceLocation(file, line, column),
        address,
        json_path(issue.path),
        issue.severity,
    )
