"""Batches: many writes in order, in one transaction on the store (part of `Storage`).

Each write is done exactly as `put` or `delete` does it (writes.py). The batch stops at
the first write that fails; writes that share a `group` are all or nothing (a
savepoint per group); references are checked once, on the batch as a whole. What a
batch body may hold and how each result reads is the wire format's (wire.py).
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreError
from ..model import address
from .base import WriteState, check_kind, chunks
from .engine import Connection, retried, with_pairs
from .history import check_marker
from .integrity import Dangling, check_written, refusal
from .wire import (
    check_batch,
    dangling_result,
    failed_result,
    group_rolled_back_result,
    not_attempted_result,
    parse_etag,
    put_preconditions,
    revision_text,
    undone_result,
    written_result,
)
from .writes import Writes


class Batches(Writes):
    """`batch`: the writes of `Writes`, many in one transaction."""

    @retried
    def batch(
        self, store_id: str, operations: Any, *, apply_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Several writes in order, in one transaction, each exactly as `put` or `delete`
        would do it (preconditions, validation, idempotency key).

        Processing stops at the first write that fails: the writes before it are kept,
        the failed one changed nothing, the rest are reported as not attempted. Writes
        that share a `group` (consecutive ones) are all or nothing: when one of them
        fails, those of its group before it are rolled back (status 424) — so a
        replace, a delete and a create of one resource, never stops half done. Each
        result is {"status": ..., "item": {...}} or {"status": ..., "error": {...}}.

        References are checked once the writes are done, on the batch as a whole (a
        batch may update a category and delete the plan it no longer lists, in either
        order). If the writes kept would leave a reference dangling, none is kept: the
        write to blame answers 409 and the others status 0 (rolled back).
        """
        ops = check_batch(operations)
        try:
            return self._batch(store_id, ops, apply_id)
        except _RolledBack as rolled_back:
            return rolled_back.results

    def _batch(
        self, store_id: str, ops: list[dict[str, Any]], apply_id: str | None
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        with self._tx(write=True, store=store_id) as conn:
            check_marker(conn, store_id, apply_id)
            state = self._write_state(conn, store_id)
            self._prefetch(conn, state, ops)
            failed = False
            group: str | None = None  # the group whose savepoint is open
            group_saved: tuple[Any, Any] = (None, None)
            group_first = group_revision = 0
            for i, op in enumerate(ops):
                if failed:
                    results.append(not_attempted_result())
                    continue
                if group is not None and op.get("group") != group:
                    conn.execute("RELEASE storecfg_group")
                    group = None
                if group is None and op.get("group") is not None:
                    conn.execute("SAVEPOINT storecfg_group")
                    group, group_first, group_revision = op["group"], i, state.revision
                    group_saved = state.saved()
                try:
                    results.append(self._batch_op(conn, state, op, apply_id))
                except StoreError as exc:
                    failed = True
                    results.append(failed_result(exc))
                    if group is not None:
                        conn.execute("ROLLBACK TO storecfg_group")
                        conn.execute("RELEASE storecfg_group")
                        state.revision = group_revision
                        state.known, state.replays = group_saved
                        for j in range(group_first, i):
                            results[j] = group_rolled_back_result(i, group)
                        group = None
            if group is not None:
                conn.execute("RELEASE storecfg_group")
            written = [
                (i, address(op["kind"], op["id"]))
                for i, (op, result) in enumerate(zip(ops, results, strict=True))
                if 200 <= result["status"] < 300
            ]
            found = check_written(conn, store_id, dict.fromkeys(a for _, a in written))
            if found:
                raise _RolledBack(_rolled_back(results, written, found))
            self._finish(conn, state, apply_id)
        return results

    def _batch_op(
        self,
        conn: Connection,
        state: WriteState,
        op: dict[str, Any],
        apply_id: str | None = None,
    ) -> dict[str, Any]:
        if op["op"] == "put":
            check_kind(op["kind"])
            if_match, if_none_match = put_preconditions(
                revision_text(op.get("if_match")), op.get("if_none_match")
            )
            status, item = self._put_in(
                conn,
                state,
                op["kind"],
                op["id"],
                {"spec": op.get("spec")},
                if_match,
                if_none_match,
                op.get("idempotency_key"),
                apply_id,
                source=op.get("source"),
            )
            return written_result(status, item)
        check_kind(op["kind"])
        status = self._delete_in(
            conn,
            state,
            op["kind"],
            op["id"],
            parse_etag(revision_text(op.get("if_match"))),
            op.get("idempotency_key"),
            apply_id,
        )
        return {"status": status}

    def _prefetch(self, conn: Connection, state: WriteState, ops: list[dict[str, Any]]) -> None:
        """Read what a batch's writes will look up (revisions, idempotency keys) in a few
        statements rather than one per write: a database across a network answers each
        statement in a round trip. The store is locked, so what is read stays true."""
        store = state.store_id
        pairs = list(dict.fromkeys((op["kind"], op["id"]) for op in ops))
        known: dict[tuple[str, str], tuple[int, str | None] | None] = dict.fromkeys(pairs)
        for chunk in chunks(pairs, 400):
            head, params = with_pairs(chunk)
            for kind, rid, rev, source in conn.execute(
                head + "SELECT r.kind, r.id, r.revision, r.source FROM w JOIN resources r "
                "ON r.store = ? AND r.kind = w.k AND r.id = w.i",
                (*params, store),
            ).fetchall():
                known[(kind, rid)] = (int(rev), source)
        keys = list(dict.fromkeys(k for op in ops if (k := op.get("idempotency_key"))))
        replays: dict[str, tuple[Any, ...] | None] = dict.fromkeys(keys)
        for chunk in chunks(keys, 800):
            for row in conn.execute(
                "SELECT key, fingerprint, status, body, created_at FROM idempotency "
                f"WHERE store = ? AND key IN ({', '.join('?' for _ in chunk)})",
                (store, *chunk),
            ).fetchall():
                replays[row[0]] = tuple(row[1:])
        state.known, state.replays = known, replays


class _RolledBack(Exception):
    """A batch undone as a whole; `results` say why, per operation."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("batch rolled back")
        self.results = results


def _rolled_back(
    results: list[dict[str, Any]], written: list[tuple[int, str]], found: list[Dangling]
) -> list[dict[str, Any]]:
    """Batch results after a rollback for dangling references: the last write of each
    address to blame (the delete of what is missing, else the write that names it)
    answers 409; the other writes that had succeeded are undone (status 0)."""
    last = {addr: i for i, addr in written}
    blamed: dict[int, list[Dangling]] = {}
    for d in found:
        i = last.get(d.missing, last.get(d.referring))
        if i is not None:
            blamed.setdefault(i, []).append(d)
    out = list(results)
    for i, _ in written:
        if i in blamed:
            out[i] = dangling_result(refusal(blamed[i]))
        else:
            out[i] = undone_result()
    return out
