"""What a compile gives back, and the per-file pieces of it the compile cache keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ERROR, Diagnostic, UsageError
from ..model import DesiredState

STORE_FILE = "store.yaml"


@dataclass
class CompileResult:
    desired: DesiredState | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: absolute paths of every file read (for the compile cache)
    inputs: list[str] = field(default_factory=list)
    #: sha256 of each input's bytes as compiled (the cache records these)
    digests: dict[str, str] = field(default_factory=dict)
    #: (rendered include pattern, absolute paths it matched)
    globs: list[tuple[str, list[str]]] = field(default_factory=list)
    #: included files whose results may be reused by the next compile
    units: list[Unit] = field(default_factory=list)
    #: the resources written in store.yaml itself, as Unit items
    root_items: list[Any] = field(default_factory=list)
    #: store.id as store.yaml sets it, when it could be read (also when the compile failed)
    store_id: str | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Unit:
    """One file's resources, checked on their own (the part of a compile that can be
    reused while the file's bytes, the variables and the tool stay the same)."""

    file: str
    real: str
    hash: str
    #: (kind, id, index in the file's list, line, column, normalized spec or None if invalid)
    items: list[tuple[str, str, int, int, int, dict[str, Any] | None]] = field(default_factory=list)
    data: Any = None
    cacheable: bool = False
    context: str = ""

    def to_cache(self) -> dict[str, Any]:
        return {"hash": self.hash, "context": self.context, "items": [list(i) for i in self.items]}

    @classmethod
    def from_cache(cls, file: str, real: str, entry: dict[str, Any]) -> Unit:
        unit = cls(file, real, entry["hash"], context=entry["context"], cacheable=True)
        unit.items = [
            (k, r, int(i), int(ln), int(c), spec) for k, r, i, ln, c, spec in entry["items"]
        ]
        return unit


def find_store_file(target: Path) -> Path:
    if target.is_dir():
        candidate = target / STORE_FILE
        if not candidate.is_file():
            raise UsageError(f"{target}: no {STORE_FILE} in this directory")
        return candidate
    if target.is_file():
        return target
    raise UsageError(f"{target}: no such directory")
