"""The `policy:` block of store.yaml: what an unattended apply may do to a live store.

`deletes: allow|deny` says whether a plan may delete or replace anything without
`--allow-deletes`; `unmanaged: [PATTERN, ...]` names live resources this definition
leaves alone (`KIND` or `KIND.ID-GLOB`, the glob in shell syntax: `*`, `?`, `[...]`).
Plain data, shared by the compiler (which checks the block) and the planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

DELETES = ("allow", "deny")


@dataclass(frozen=True, slots=True)
class Policy:
    deletes: str = "allow"
    unmanaged: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Policy:
        if not isinstance(data, dict):
            return cls()
        deletes = data.get("deletes", "allow")
        patterns = data.get("unmanaged") or []
        return cls(
            deletes if deletes in DELETES else "allow",
            tuple(p for p in patterns if isinstance(p, str)),
        )

    def to_json(self) -> dict[str, Any]:
        return {"deletes": self.deletes, "unmanaged": list(self.unmanaged)}

    def unmanaged_pattern(self, kind: str, rid: str) -> str | None:
        """The first `unmanaged` pattern that matches KIND.ID, or None (managed here)."""
        for pattern in self.unmanaged:
            if pattern_matches(pattern, kind, rid):
                return pattern
        return None


def pattern_matches(pattern: str, kind: str, rid: str) -> bool:
    p_kind, dot, glob = pattern.partition(".")
    if p_kind != kind:
        return False
    return not dot or fnmatchcase(rid, glob)
