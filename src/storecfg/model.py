"""The data model: resource kinds, addresses, dependency order, desired and live state.

Everything here is plain data. The compiler produces a `DesiredState`, a store driver
produces a `LiveState`, and `apply.diff` compares the two.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import SourceLocation

Spec = dict[str, Any]

#: Resource kinds in dependency order: a kind only refers to kinds before it (or to itself).
KINDS: tuple[str, ...] = (
    "skus",
    "resource_categories",
    "service_plans",
    "sales_categories",
    "terms",
    "screens",
    "purchase_scenarios",
    "tax_rules",
    "payment_methods",
    "customization",
)
KIND_RANK: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

#: Pattern every resource ID matches (SPEC 1).
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"


def address(kind: str, rid: str) -> str:
    return f"{kind}.{rid}"


def split_address(addr: str) -> tuple[str, str]:
    kind, _, rid = addr.partition(".")
    return kind, rid


def canonical_json(obj: Any) -> str:
    """The one serialization used for hashing and comparing specs."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _key(key: str) -> str:
    """A key as canonical_json writes it."""
    return json.dumps(key, ensure_ascii=False)


def spec_hash(spec: Any) -> str:
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


@dataclass
class DesiredState:
    """What a store definition asks for, normalized (defaults filled, money canonical)."""

    store: Spec
    resources: dict[str, dict[str, Spec]]
    #: address -> where the resource is defined
    sources: dict[str, SourceLocation] = field(default_factory=dict)
    #: address -> spec_hash(spec), filled on demand (or from the compile cache)
    digests: dict[str, str] = field(default_factory=dict)
    #: hash() once computed (or from the compile cache)
    known_hash: str = ""
    #: address -> depth in its kind's own references (spec.graph.kind_levels), once
    #: computed (or from the compile cache); the plan's order is made of it
    levels: dict[str, int] | None = None
    #: the `policy:` block of store.yaml as plain data (see storecfg.policy)
    policy: dict[str, Any] = field(default_factory=dict)
    #: the store directory (absolute) and the definition files in it (relative, with /)
    root: str = ""
    files: list[str] = field(default_factory=list)
    _file_of: dict[str, str | None] = field(default_factory=dict, repr=False)

    def file_of(self, addr: str) -> str | None:
        """The definition file (relative to the store directory) a resource is defined in."""
        location = self.sources.get(addr)
        if location is None or not self.root:
            return None
        shown = location.file
        if shown not in self._file_of:
            real = os.path.realpath(os.path.abspath(shown))
            try:
                rel = os.path.relpath(real, self.root)
            except ValueError:  # another drive on Windows
                rel = ""
            ok = rel and not rel.startswith("..")
            self._file_of[shown] = rel.replace(os.sep, "/") if ok else None
        return self._file_of[shown]

    def digest(self, kind: str, rid: str) -> str:
        addr = f"{kind}.{rid}"
        value = self.digests.get(addr)
        if value is None:
            value = self.digests[addr] = spec_hash(self.resources[kind][rid])
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "resources": {k: self.resources[k] for k in KINDS if self.resources.get(k)},
        }

    def count(self) -> int:
        return sum(len(v) for v in self.resources.values())

    def hash(self) -> str:
        """sha256 of the canonical JSON of the whole desired state (computed once)."""
        if not self.known_hash:
            self.hash_all()
        return self.known_hash

    def hash_all(self) -> None:
        """Fill `digests` for every resource and `known_hash`, serializing each spec
        once: the canonical JSON of the whole state is the specs' canonical texts
        joined in key order, so it is hashed as they are made, never built."""
        whole = hashlib.sha256(b'{"resources":{')
        kinds = sorted(k for k in KINDS if self.resources.get(k))  # as to_json()
        for n, kind in enumerate(kinds):
            items = self.resources[kind]
            whole.update(f"{',' if n else ''}{_key(kind)}:{{".encode())
            for m, rid in enumerate(sorted(items)):
                text = canonical_json(items[rid]).encode()
                self.digests[f"{kind}.{rid}"] = hashlib.sha256(text).hexdigest()
                whole.update(f"{',' if m else ''}{_key(rid)}:".encode())
                whole.update(text)
            whole.update(b"}")
        whole.update(f'}},"store":{canonical_json(self.store)}}}'.encode())
        self.known_hash = "sha256:" + whole.hexdigest()


@dataclass(slots=True)
class LiveResource:
    """One resource as a live store holds it (in a LiveState, a page, a write's result)."""

    spec: Spec
    revision: int
    hash: str = ""
    #: the definition file (relative to store.yaml) that apply last wrote it from
    source: str | None = None
    #: its ID, where the record travels without its key (a page, an answer to a write)
    id: str = field(default="", kw_only=True, compare=False)

    def spec_digest(self) -> str:
        if not self.hash:
            self.hash = spec_hash(self.spec)
        return self.hash


@dataclass
class LiveState:
    """A consistent read of one live store."""

    store_id: str
    revision: int
    settings: Spec
    settings_revision: int
    resources: dict[str, dict[str, LiveResource]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in self.resources.values())

    def revisions(self) -> dict[str, int]:
        return {
            address(kind, rid): res.revision
            for kind in KINDS
            for rid, res in sorted(self.resources.get(kind, {}).items())
        }

    def to_json(self) -> dict[str, Any]:
        """The whole store as plain data (what snapshots hold)."""
        return {
            "store": {"id": self.store_id, "revision": self.revision},
            "settings": self.settings,
            "settings_revision": self.settings_revision,
            "resources": {
                kind: {
                    rid: {"spec": res.spec, "revision": res.revision}
                    for rid, res in sorted(self.resources[kind].items())
                }
                for kind in KINDS
                if self.resources.get(kind)
            },
        }
