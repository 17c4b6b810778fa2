"""Referential integrity of a live store: no write may leave a reference dangling.

The reference fields are the ones the definition language declares (`x-storecfg-ref`
in the schemas, the same fields `validate` checks with SC001). Every stored resource's
references are indexed in the `refs` table, so both questions a write raises are one
indexed lookup: does everything this resource names exist, and does anything still
name the resource being deleted. A single write is checked at once; a batch is checked
as a whole when it ends (see `Storage.batch`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model import address, split_address
from .engine import Connection, with_pairs
from .wire import DanglingReference

#: how many dangling references one refusal names
MAX_NAMED = 20


@dataclass(frozen=True, slots=True)
class Dangling:
    """`referring` names `missing` at `field` (for example `plans[1]`)."""

    referring: str
    field: str
    missing: str

    def to_json(self) -> dict[str, str]:
        return {"referring": self.referring, "field": self.field, "missing": self.missing}


def _ref_paths(kind: str) -> list[tuple[tuple[str, ...], str]]:
    from ..spec.fields import kind_info

    return kind_info(kind).ref_paths


def _field(path: Iterable[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def refs_of(kind: str, spec: Any) -> list[tuple[str, str, str]]:
    """(field, target kind, target ID) of every reference in a spec."""
    from ..spec.fields import values_at

    out: list[tuple[str, str, str]] = []
    for path, target in _ref_paths(kind):
        for where, value in values_at(spec, path):
            if isinstance(value, str):
                out.append((_field(where), target, value))
    return out


def fingerprint() -> str:
    """Which fields are references: when a storecfg upgrade changes it, the index is rebuilt."""
    from ..model import KINDS

    text = json.dumps({k: [[list(p), t] for p, t in _ref_paths(k)] for k in KINDS})
    return hashlib.sha256(text.encode()).hexdigest()


def index(
    conn: Connection, store: str, kind: str, rid: str, spec: Any, *, created: bool = False
) -> None:
    """Record the references of a resource just written (replacing what it named before;
    `created`: it did not exist, and a delete leaves no reference behind)."""
    if not created:
        unindex(conn, store, kind, rid)
    rows = [(store, kind, rid, f, tk, tid) for f, tk, tid in refs_of(kind, spec)]
    if rows:
        conn.executemany(
            "INSERT INTO refs (store, from_kind, from_id, field, to_kind, to_id) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT (store, from_kind, from_id, field) "
            "DO UPDATE SET to_kind = excluded.to_kind, to_id = excluded.to_id",
            rows,
        )


def unindex(conn: Connection, store: str, kind: str, rid: str) -> None:
    conn.execute(
        "DELETE FROM refs WHERE store = ? AND from_kind = ? AND from_id = ?", (store, kind, rid)
    )


def dangling_from(conn: Connection, store: str, kind: str, rid: str) -> list[Dangling]:
    """References of `kind.rid` to resources that do not exist."""
    rows = conn.execute(
        "SELECT r.field, r.to_kind, r.to_id FROM refs r WHERE r.store = ? AND r.from_kind = ? "
        "AND r.from_id = ? AND NOT EXISTS (SELECT 1 FROM resources t WHERE t.store = r.store "
        "AND t.kind = r.to_kind AND t.id = r.to_id) ORDER BY r.field LIMIT ?",
        (store, kind, rid, MAX_NAMED),
    ).fetchall()
    return [Dangling(address(kind, rid), f, address(tk, tid)) for f, tk, tid in rows]


def dangling_to(conn: Connection, store: str, kind: str, rid: str) -> list[Dangling]:
    """References to `kind.rid` (which is about to be, or was just, deleted)."""
    rows = conn.execute(
        "SELECT from_kind, from_id, field FROM refs WHERE store = ? AND to_kind = ? AND to_id = ? "
        "ORDER BY from_kind, from_id, field LIMIT ?",
        (store, kind, rid, MAX_NAMED),
    ).fetchall()
    return [Dangling(address(fk, fid), f, address(kind, rid)) for fk, fid, f in rows]


def exists(conn: Connection, store: str, kind: str, rid: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM resources WHERE store = ? AND kind = ? AND id = ?", (store, kind, rid)
    ).fetchone()
    return row is not None


def refusal(found: list[Dangling]) -> DanglingReference:
    """The 409 for these dangling references: message and details name both ends."""
    shown = found[:MAX_NAMED]
    parts = [f"{d.referring} ({d.field}) refers to {d.missing}" for d in shown]
    missing = sorted({d.missing for d in shown})
    referring = sorted({d.referring for d in shown})
    message = (
        "the write would leave a reference dangling: "
        + "; ".join(parts)
        + f", which would not exist. Write {', '.join(missing)} first, or change "
        f"{', '.join(referring)} so it no longer refers to it"
    )
    return DanglingReference(
        message,
        409,
        details={
            "references": [d.to_json() for d in shown],
            "referring": referring,
            "missing": missing,
        },
    )


def check_written(conn: Connection, store: str, addresses: Iterable[str]) -> list[Dangling]:
    """Dangling references left around these addresses (each just written or deleted)."""
    addresses = list(addresses)
    if len(addresses) > 2 and not _any_dangling(conn, store, addresses):
        return []  # the usual answer, in a few statements rather than two per address
    found: list[Dangling] = []
    for addr in addresses:
        kind, rid = split_address(addr)
        if exists(conn, store, kind, rid):
            found.extend(dangling_from(conn, store, kind, rid))
        else:
            found.extend(dangling_to(conn, store, kind, rid))
        if len(found) >= MAX_NAMED:
            break
    return found


#: addresses per statement of `_any_dangling` (two parameters each)
_CHUNK = 400


def _any_dangling(conn: Connection, store: str, addresses: list[str]) -> bool:
    """Whether any of these addresses has a dangling reference around it: what
    `check_written` looks for, asked for many addresses at once. The statements are
    what a database on the other side of a network wants: few, whatever the batch."""
    for start in range(0, len(addresses), _CHUNK):
        pairs = [split_address(a) for a in addresses[start : start + _CHUNK]]
        head, params = with_pairs(pairs)
        present = {
            (k, i)
            for k, i in conn.execute(
                head + "SELECT r.kind, r.id FROM w JOIN resources r "
                "ON r.store = ? AND r.kind = w.k AND r.id = w.i",
                (*params, store),
            ).fetchall()
        }
        written = [p for p in pairs if p in present]
        deleted = [p for p in pairs if p not in present]
        if written:
            head, params = with_pairs(written)
            if conn.execute(
                head + "SELECT 1 FROM w JOIN refs r ON r.store = ? AND r.from_kind = w.k "
                "AND r.from_id = w.i WHERE NOT EXISTS (SELECT 1 FROM resources t WHERE "
                "t.store = r.store AND t.kind = r.to_kind AND t.id = r.to_id) LIMIT 1",
                (*params, store),
            ).fetchone():
                return True
        if deleted:
            head, params = with_pairs(deleted)
            if conn.execute(
                head + "SELECT 1 FROM w JOIN refs r "
                "ON r.store = ? AND r.to_kind = w.k AND r.to_id = w.i LIMIT 1",
                (*params, store),
            ).fetchone():
                return True
    return False


def ensure_index(conn: Connection) -> None:
    """Build the reference index again when the reference fields changed (or it never
    was: a database from before referential integrity)."""
    current = fingerprint()
    row = conn.execute("SELECT value FROM meta WHERE key = 'refs_fingerprint'").fetchone()
    if row is not None and row[0] == current:
        return
    conn.execute("DELETE FROM refs")
    for store, kind, rid, text in conn.execute(
        "SELECT store, kind, id, spec FROM resources"
    ).fetchall():
        try:
            spec = json.loads(text)
        except ValueError:
            continue
        index(conn, store, kind, rid, spec)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('refs_fingerprint', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (current,),
    )
