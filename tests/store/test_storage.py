"""The storage engine behind both the embedded store and the server (SPEC section 3),
on SQLite and on PostgreSQL: the same semantics on both."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from storecfg.compiler.compile import compile_store
from storecfg.errors import ConflictError, LockedError, StoreError
from storecfg.model import canonical_json
from storecfg.store.migrations import SCHEMA_VERSION
from storecfg.store.storage import Storage
from storecfg.store.wire import InvalidSpec, PreconditionRequired, encode_page_token
from storecfg.store.writes import IDEMPOTENCY_TTL

from .conftest import STORE
from .samples import DIAGNOSTIC_FIELDS, plan, sku, terms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Moves the storage engine's wall clock forward without sleeping."""

    class Clock:
        offset = 0.0

        def advance(self, seconds: float) -> None:
            self.offset += seconds

    clock = Clock()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + clock.offset)
    return clock


def create(storage: Storage, kind: str, rid: str, spec: dict[str, Any], **kw: Any) -> Any:
    return storage.put(STORE, kind, rid, spec, if_none_match="*", **kw)


def revision(storage: Storage) -> int:
    return storage.store_info(STORE).revision


# ---------------------------------------------------------------- revisions


def test_a_new_store_is_at_revision_zero_with_default_settings(storage: Storage) -> None:
    info = storage.store_info(STORE)
    assert (info.revision, info.settings_revision) == (0, 0)
    assert info.settings == {
        "id": STORE,
        "name": STORE,
        "currency": "USD",
        "locales": ["en-US"],
        "prices_include_tax": False,
    }


def test_resource_revision_is_the_store_revision_of_its_last_write(storage: Storage) -> None:
    assert create(storage, "skus", "a", sku("a"))[0] == 201
    assert create(storage, "skus", "b", sku("b"))[0] == 201
    assert revision(storage) == 2
    assert storage.get(STORE, "skus", "a").revision == 1
    assert storage.get(STORE, "skus", "b").revision == 2

    status, item = storage.put(STORE, "skus", "a", sku("a", name="A2"), if_match="1")
    assert (status, item.revision) == (200, 3)
    assert revision(storage) == 3
    assert storage.get(STORE, "skus", "b").revision == 2  # untouched

    assert storage.delete(STORE, "skus", "b") == 204
    assert revision(storage) == 4
    assert storage.get(STORE, "skus", "a").revision == 3
    with pytest.raises(StoreError) as err:
        storage.get(STORE, "skus", "b")
    assert err.value.status == 404


def test_every_write_moves_the_store_revision_by_one(storage: Storage) -> None:
    seen = [revision(storage)]
    create(storage, "skus", "a", sku("a"))
    seen.append(revision(storage))
    storage.put(STORE, "skus", "a", sku("a", name="B"), if_match="1")
    seen.append(revision(storage))
    storage.put_settings(
        STORE, {"name": "Shop", "currency": "EUR", "locales": ["de-DE"]}, if_match="0"
    )
    seen.append(revision(storage))
    storage.delete(STORE, "skus", "a")
    seen.append(revision(storage))
    assert seen == [0, 1, 2, 3, 4]


def test_stores_in_one_database_are_independent(storage: Storage) -> None:
    create(storage, "skus", "a", sku("a"))
    storage.put("other", "skus", "a", sku("a", name="Other"), if_none_match="*")
    storage.put("other", "skus", "b", sku("b"), if_none_match="*")
    assert revision(storage) == 1
    assert storage.store_info("other").revision == 2
    assert storage.get(STORE, "skus", "a").spec["name"] == "SKU a"
    assert storage.get("other", "skus", "a").spec["name"] == "Other"
    assert storage.list_stores() == ["other", STORE]


# ---------------------------------------------------------------- preconditions


def test_if_none_match_star_creates_and_is_412_when_the_resource_exists(storage: Storage) -> None:
    create(storage, "skus", "a", sku("a"))
    with pytest.raises(ConflictError) as err:
        create(storage, "skus", "a", sku("a", name="Changed"))
    assert err.value.status == 412
    assert err.value.details == {"current_revision": 1}
    assert "already exists" in err.value.message
    assert storage.get(STORE, "skus", "a").spec["name"] == "SKU a"
    assert revision(storage) == 1


@pytest.mark.parametrize("etag", ["1", '"1"', 'W/"1"', ' "1" '])
def test_if_match_accepts_plain_quoted_and_weak_etags(storage: Storage, etag: str) -> None:
    create(storage, "skus", "a", sku("a"))
    status, item = storage.put(STORE, "skus", "a", sku("a", name="New"), if_match=etag)
    assert (status, item.revision, item.spec["name"]) == (200, 2, "New")


@pytest.mark.parametrize("etag", ["7", '"7"', 'W/"7"', '"2"'])
def test_if_match_mismatch_is_412_and_changes_nothing(storage: Storage, etag: str) -> None:
    create(storage, "skus", "a", sku("a"))
    with pytest.raises(ConflictError) as err:
        storage.put(STORE, "skus", "a", sku("a", name="New"), if_match=etag)
    assert err.value.status == 412
    assert err.value.details["current_revision"] == 1
    assert storage.get(STORE, "skus", "a").spec["name"] == "SKU a"
    assert revision(storage) == 1


def test_if_match_on_a_missing_resource_is_412(storage: Storage) -> None:
    with pytest.raises(ConflictError) as err:
        storage.put(STORE, "skus", "a", sku("a"), if_match="1")
    assert err.value.status == 412
    assert err.value.details == {"current_revision": None}
    assert revision(storage) == 0


def test_put_without_precondition_is_428_and_writes_nothing(storage: Storage) -> None:
    with pytest.raises(PreconditionRequired) as err:
        storage.put(STORE, "skus", "a", sku("a"))
    assert err.value.status == 428
    assert "If-None-Match" in err.value.message and "If-Match" in err.value.message
    assert revision(storage) == 0
    assert storage.list(STORE, "skus") == ([], None)


@pytest.mark.parametrize(
    ("if_match", "if_none_match"), [("", None), ('""', None), ('W/""', None), (None, "1")]
)
def test_malformed_preconditions_are_400(
    storage: Storage, if_match: str | None, if_none_match: str | None
) -> None:
    with pytest.raises(StoreError) as err:
        storage.put(STORE, "skus", "a", sku("a"), if_match=if_match, if_none_match=if_none_match)
    assert err.value.status == 400
    assert revision(storage) == 0


def test_delete_without_if_match(storage: Storage) -> None:
    create(storage, "skus", "a", sku("a"))
    assert storage.delete(STORE, "skus", "a") == 204
    with pytest.raises(StoreError) as err:
        storage.delete(STORE, "skus", "a")
    assert err.value.status == 404
    assert revision(storage) == 2  # the failed delete wrote nothing


def test_deleting_an_impossible_id_is_404_whatever_the_precondition(storage: Storage) -> None:
    for if_match in (None, "1", "*"):
        with pytest.raises(StoreError) as err:
            storage.delete(STORE, "skus", "Not An ID\n", if_match=if_match)
        assert err.value.status == 404


def test_delete_with_if_match(storage: Storage) -> None:
    create(storage, "skus", "a", sku("a"))
    with pytest.raises(ConflictError) as err:
        storage.delete(STORE, "skus", "a", if_match='"5"')
    assert (err.value.status, err.value.details["current_revision"]) == (412, 1)
    assert storage.get(STORE, "skus", "a").revision == 1
    assert storage.delete(STORE, "skus", "a", if_match='W/"1"') == 204
    with pytest.raises(ConflictError) as gone:
        storage.delete(STORE, "skus", "a", if_match="1")
    assert gone.value.status == 412
    assert revision(storage) == 2


# ---------------------------------------------------------------- idempotency


def test_same_key_and_same_request_returns_the_first_result_and_changes_nothing(
    storage: Storage,
) -> None:
    first = create(storage, "skus", "a", sku("a"), idempotency_key="k-1")
    assert first[0] == 201
    again = create(storage, "skus", "a", sku("a"), idempotency_key="k-1")
    assert again == first  # 201 again, not 412
    assert revision(storage) == 1

    # even after somebody else changed the resource the replay returns the first
    # result and leaves their change alone
    storage.put(STORE, "skus", "a", sku("a", name="Theirs"), if_match="1")
    replay = create(storage, "skus", "a", sku("a"), idempotency_key="k-1")
    assert replay == first
    assert storage.get(STORE, "skus", "a").spec["name"] == "Theirs"
    assert revision(storage) == 2


def test_a_replay_of_a_spec_stored_as_sent_returns_that_spec(storage: Storage) -> None:
    # storecfg sends normalized specs; the store keeps the result to replay without
    # a second copy of the spec, and must still answer with the spec first stored
    normalized = create(storage, "skus", "n", sku("n"))[1].spec
    sent = {**normalized, "name": "As sent"}
    first = storage.put(STORE, "skus", "n", sent, if_match="1", idempotency_key="k-sent")
    assert first[1].spec == sent
    storage.put(STORE, "skus", "n", sku("n", name="Theirs"), if_match="2")
    replay = storage.put(STORE, "skus", "n", dict(sent), if_match="1", idempotency_key="k-sent")
    assert replay == first
    assert replay[1].spec["name"] == "As sent"
    assert storage.get(STORE, "skus", "n").spec["name"] == "Theirs"


def test_replayed_update_and_delete(storage: Storage) -> None:
    create(storage, "skus", "a", sku("a"))
    update = storage.put(STORE, "skus", "a", sku("a", name="B"), if_match="1", idempotency_key="u")
    assert update[0] == 200
    assert (
        storage.put(STORE, "skus", "a", sku("a", name="B"), if_match="1", idempotency_key="u")
        == update
    )
    assert revision(storage) == 2

    assert storage.delete(STORE, "skus", "a", if_match="2", idempotency_key="d") == 204
    create(storage, "skus", "a", sku("a"))
    assert storage.delete(STORE, "skus", "a", if_match="2", idempotency_key="d") == 204
    assert storage.get(STORE, "skus", "a").revision == 4  # the replay deleted nothing
    assert revision(storage) == 4


@pytest.mark.parametrize(
    "other",
    [
        lambda s: create(s, "skus", "a", sku("a", name="Different"), idempotency_key="k"),
        lambda s: create(s, "skus", "b", sku("b"), idempotency_key="k"),
        lambda s: s.put(STORE, "skus", "a", sku("a"), if_match="1", idempotency_key="k"),
        lambda s: s.delete(STORE, "skus", "a", idempotency_key="k"),
    ],
    ids=["other body", "other resource", "other precondition", "other method"],
)
def test_same_key_with_a_different_request_is_422(storage: Storage, other: Any) -> None:
    create(storage, "skus", "a", sku("a"), idempotency_key="k")
    with pytest.raises(StoreError) as err:
        other(storage)
    assert err.value.status == 422
    assert "Idempotency-Key" in err.value.message
    assert revision(storage) == 1
    assert storage.get(STORE, "skus", "a").spec["name"] == "SKU a"


def test_idempotency_keys_are_per_store(storage: Storage) -> None:
    create(storage, "skus", "a", sku("a"), idempotency_key="k")
    status, item = storage.put(
        "other", "skus", "z", sku("z"), if_none_match="*", idempotency_key="k"
    )
    assert (status, item.id, item.revision) == (201, "z", 1)
    assert storage.get("other", "skus", "z").spec["name"] == "SKU z"


def test_idempotency_keys_are_kept_24_hours(storage: Storage, clock: Any) -> None:
    first = create(storage, "skus", "a", sku("a"), idempotency_key="k")
    clock.advance(IDEMPOTENCY_TTL - 60)
    assert create(storage, "skus", "a", sku("a"), idempotency_key="k") == first
    with pytest.raises(StoreError) as err:
        create(storage, "skus", "a", sku("a", name="X"), idempotency_key="k")
    assert err.value.status == 422

    clock.advance(120)  # now past 24 hours: the key is forgotten
    with pytest.raises(ConflictError) as gone:
        create(storage, "skus", "a", sku("a"), idempotency_key="k")
    assert gone.value.status == 412  # executed again, not replayed
    status, item = storage.put(
        STORE, "skus", "a", sku("a", name="Y"), if_match="1", idempotency_key="k"
    )
    assert (status, item.spec["name"]) == (200, "Y")


@pytest.mark.parametrize("key", ["", "   ", "x" * 256])
def test_bad_idempotency_keys_are_400(storage: Storage, key: str) -> None:
    with pytest.raises(StoreError) as err:
        create(storage, "skus", "a", sku("a"), idempotency_key=key)
    assert err.value.status == 400
    assert revision(storage) == 0


def test_an_idempotency_key_of_255_characters_is_fine(storage: Storage) -> None:
    key = "k" * 255
    first = create(storage, "skus", "a", sku("a"), idempotency_key=key)
    assert create(storage, "skus", "a", sku("a"), idempotency_key=key) == first


# ---------------------------------------------------------------- pages


def _ids(n: int) -> list[str]:
    return [f"sku-{i:02d}" for i in range(n)]


def test_listing_page_by_page_returns_every_item_once(storage: Storage) -> None:
    for rid in reversed(_ids(7)):
        create(storage, "skus", rid, sku(rid))
    for limit in (1, 2, 3, 7, 1000):
        seen: list[str] = []
        token: str | None = None
        pages = 0
        while True:
            items, token = storage.list(STORE, "skus", limit=limit, page_token=token)
            assert len(items) <= limit
            seen += [i.id for i in items]
            pages += 1
            if token is None:
                break
            assert isinstance(token, str) and token
            assert not any(rid in token for rid in _ids(7))  # opaque, not the ID itself
        assert seen == _ids(7)
        assert pages == -(-7 // limit)


def test_paging_survives_writes_between_pages(storage: Storage) -> None:
    for rid in _ids(6):
        create(storage, "skus", rid, sku(rid))
    items, token = storage.list(STORE, "skus", limit=2)
    assert [i.id for i in items] == ["sku-00", "sku-01"]
    storage.delete(STORE, "skus", "sku-01")  # the item the token points after
    create(storage, "skus", "sku-00a", sku("sku-00a"))  # before the cursor: not seen
    seen = [i.id for i in items]
    while token:
        items, token = storage.list(STORE, "skus", limit=2, page_token=token)
        seen += [i.id for i in items]
    assert seen == _ids(6)
    assert len(set(seen)) == len(seen)


def test_list_items_carry_revision_and_spec_hash(storage: Storage) -> None:
    _, item = create(storage, "skus", "a", sku("a"))
    (listed,), _ = storage.list(STORE, "skus")
    assert (listed.id, listed.spec, listed.revision) == ("a", item.spec, 1)
    assert listed.hash == hashlib.sha256(canonical_json(item.spec).encode()).hexdigest()


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token!",
        "eyJrIjoic2t1cyJ9",  # {"k":"skus"}: no cursor
        encode_page_token("terms", "a"),  # another kind's token
        "",
    ],
)
def test_a_bad_page_token_is_400(storage: Storage, token: str) -> None:
    create(storage, "skus", "a", sku("a"))
    if token == "":
        # an empty token is the same as none
        assert [i.id for i in storage.list(STORE, "skus", page_token=token)[0]] == ["a"]
        return
    with pytest.raises(StoreError) as err:
        storage.list(STORE, "skus", page_token=token)
    assert err.value.status == 400
    assert "page_token" in err.value.message


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_a_limit_outside_1_to_1000_is_400(storage: Storage, limit: int) -> None:
    with pytest.raises(StoreError) as err:
        storage.list(STORE, "skus", limit=limit)
    assert err.value.status == 400


def test_an_unknown_kind_is_404_with_a_suggestion(storage: Storage) -> None:
    for call in (
        lambda: storage.list(STORE, "sku"),
        lambda: storage.get(STORE, "sku", "a"),
        lambda: storage.put(STORE, "sku", "a", sku("a"), if_none_match="*"),
        lambda: storage.delete(STORE, "sku", "a"),
    ):
        with pytest.raises(StoreError) as err:
            call()
        assert err.value.status == 404
        assert "unknown resource kind 'sku'" in err.value.message
        assert "did you mean 'skus'?" in err.value.message
    assert revision(storage) == 0


# ---------------------------------------------------------------- the apply lock

OWNER = {"user": "alice", "host": "ci-7", "pid": 4242, "command": "apply"}


def test_lock_acquire_held_renew_release(storage: Storage, clock: Any) -> None:
    status, lock = storage.acquire_lock(STORE, OWNER, ttl=60)
    assert status == 201
    assert lock.owner == OWNER
    assert lock.expires_at == pytest.approx(lock.acquired_at + 60)
    assert storage.get_lock(STORE) == lock

    with pytest.raises(LockedError) as err:
        storage.acquire_lock(STORE, {"user": "bob", "host": "laptop"}, ttl=60)
    assert err.value.status == 423
    held = err.value.details["lock"]
    assert held["lock_id"] == lock.lock_id
    assert held["owner"] == OWNER
    assert {"acquired_at", "expires_at"} <= set(held)
    assert "alice@ci-7 (pid 4242)" in err.value.message

    clock.advance(30)
    status, renewed = storage.acquire_lock(STORE, {}, ttl=60, lock_id=lock.lock_id)
    assert status == 200
    assert renewed.lock_id == lock.lock_id
    assert renewed.owner == OWNER  # renewing keeps the owner
    assert renewed.expires_at == pytest.approx(lock.expires_at + 30, abs=1)

    with pytest.raises(StoreError) as wrong:
        storage.release_lock(STORE, "not-the-lock")
    assert wrong.value.status == 423  # another's lock is held: locked
    assert wrong.value.details["lock"]["lock_id"] == lock.lock_id
    assert storage.get_lock(STORE) is not None

    storage.release_lock(STORE, lock.lock_id)
    assert storage.get_lock(STORE) is None
    with pytest.raises(StoreError) as free:
        storage.release_lock(STORE, lock.lock_id)
    assert free.value.status == 404


def test_an_expired_lock_can_be_taken_by_another(storage: Storage, clock: Any) -> None:
    _, old = storage.acquire_lock(STORE, OWNER, ttl=10)
    clock.advance(11)
    assert storage.get_lock(STORE) is None
    with pytest.raises(StoreError) as late:  # the old holder's renewal is too late
        storage.acquire_lock(STORE, {}, ttl=10, lock_id=old.lock_id)
    assert late.value.status == 409
    assert "expired" in late.value.message
    assert storage.get_lock(STORE) is None  # and takes no new lock

    status, new = storage.acquire_lock(STORE, {"user": "bob"}, ttl=10)
    assert status == 201
    assert new.lock_id != old.lock_id
    with pytest.raises(LockedError):  # renewing the old ID now meets bob's lock
        storage.acquire_lock(STORE, {}, ttl=10, lock_id=old.lock_id)
    with pytest.raises(StoreError) as err:
        storage.release_lock(STORE, old.lock_id)
    assert err.value.status == 423
    assert storage.get_lock(STORE) == new


def test_release_by_force_releases_whatever_is_held(storage: Storage) -> None:
    storage.acquire_lock(STORE, OWNER, ttl=60)
    with pytest.raises(StoreError) as unnamed:  # naming no lock releases none
        storage.release_lock(STORE, None)
    assert unnamed.value.status == 400
    assert storage.get_lock(STORE) is not None
    storage.release_lock(STORE, force=True)
    assert storage.get_lock(STORE) is None


def test_locks_are_per_store(storage: Storage) -> None:
    storage.acquire_lock(STORE, OWNER, ttl=60)
    assert storage.acquire_lock("other", OWNER, ttl=60)[0] == 201


@pytest.mark.parametrize("ttl", [0, 0.5, 3601, float("nan")])
def test_a_lock_ttl_outside_1_to_3600_seconds_is_400(storage: Storage, ttl: float) -> None:
    with pytest.raises(StoreError) as err:
        storage.acquire_lock(STORE, OWNER, ttl=ttl)
    assert err.value.status == 400
    assert storage.get_lock(STORE) is None


# ---------------------------------------------------------------- tokens


def _database_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_tokens_are_stored_only_as_sha256_hashes(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    storage = Storage(db)
    tokens = [storage.create_token(STORE, "ci"), storage.create_token("other")]
    assert all(t.startswith("sct_") and len(t) > 40 for t in tokens)
    assert len(set(tokens)) == 2
    assert storage.token_store(tokens[0]) == STORE
    assert storage.token_store(tokens[1]) == "other"
    assert storage.token_store(tokens[0] + "x") is None
    assert storage.token_store("") is None

    files = [p.name for p in tmp_path.iterdir()]
    assert "server.db-wal" in files  # the WAL is where a fresh write lives
    for stage in ("open", "closed"):
        raw = _database_bytes(db)
        for token in tokens:
            assert token.encode() not in raw, stage
            assert token[4:].encode() not in raw, stage
        assert hashlib.sha256(tokens[0].encode()).hexdigest().encode() in raw, stage
        storage.close()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT hash, store, name FROM tokens ORDER BY store").fetchall()
    assert rows == [
        (hashlib.sha256(tokens[1].encode()).hexdigest(), "other", None),
        (hashlib.sha256(tokens[0].encode()).hexdigest(), STORE, "ci"),
    ]


# ---------------------------------------------------------------- schema migrations


def _user_version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_database_gets_the_current_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "dir" / "store.db"
    Storage(db).close()
    assert _user_version(db) == SCHEMA_VERSION >= 1
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"stores", "resources", "idempotency", "locks", "tokens"} <= tables


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    first = Storage(db)
    first.put(STORE, "skus", "a", sku("a"), if_none_match="*")
    first.close()
    again = Storage(db)
    assert again.get(STORE, "skus", "a").revision == 1
    assert _user_version(db) == SCHEMA_VERSION


def test_a_database_from_a_newer_storecfg_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    Storage(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError) as err:
        Storage(db)
    message = err.value.message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert f"knows {SCHEMA_VERSION}" in message
    assert "Upgrade storecfg" in message
    assert str(db) in message
    assert _user_version(db) == SCHEMA_VERSION + 1  # left alone


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    db.write_bytes(b"this is not sqlite, just text " * 200)
    with pytest.raises(StoreError) as err:
        Storage(db)
    assert "not a database" in err.value.message
    assert str(db) in err.value.message


# ---------------------------------------------------------------- settings


def test_settings_put_and_get(storage: Storage) -> None:
    with pytest.raises(PreconditionRequired) as required:
        storage.put_settings(STORE, {"name": "Shop", "currency": "EUR", "locales": ["de-DE"]})
    assert required.value.status == 428

    create(storage, "skus", "a", sku("a"))
    status, item = storage.put_settings(
        STORE, {"spec": {"name": "Shop", "currency": "EUR", "locales": ["de-DE"]}}, if_match='"0"'
    )
    assert (status, item.id, item.revision) == (200, "settings", 2)
    assert item.spec == {
        "id": STORE,
        "name": "Shop",
        "currency": "EUR",
        "locales": ["de-DE"],
        "prices_include_tax": False,  # default filled
    }
    info = storage.store_info(STORE)
    assert (info.settings, info.settings_revision, info.revision) == (item.spec, 2, 2)

    with pytest.raises(ConflictError) as stale:
        storage.put_settings(
            STORE, {"name": "X", "currency": "EUR", "locales": ["de-DE"]}, if_match="0"
        )
    assert (stale.value.status, stale.value.details["current_revision"]) == (412, 2)
    assert storage.store_info(STORE).settings["name"] == "Shop"


def test_settings_idempotency(storage: Storage) -> None:
    body = {"name": "Shop", "currency": "EUR", "locales": ["de-DE"]}
    first = storage.put_settings(STORE, body, if_match="0", idempotency_key="s")
    assert storage.put_settings(STORE, body, if_match="0", idempotency_key="s") == first
    assert revision(storage) == 1
    with pytest.raises(StoreError) as err:
        storage.put_settings(STORE, {**body, "name": "Other"}, if_match="0", idempotency_key="s")
    assert err.value.status == 422


@pytest.mark.parametrize(
    ("settings", "code", "address"),
    [
        ({"name": "S", "currency": "XYZ", "locales": ["en-US"]}, "SC018", "store.currency"),
        (
            {"id": "elsewhere", "name": "S", "currency": "USD", "locales": ["en-US"]},
            "SC304",
            "store.id",
        ),
        (
            {"name": "S", "currency": "USD", "locales": ["en-US"], "colour": "red"},
            "SC301",
            "store.colour",
        ),
    ],
)
def test_invalid_settings_are_422_with_diagnostics(
    storage: Storage, settings: dict[str, Any], code: str, address: str
) -> None:
    with pytest.raises(InvalidSpec) as err:
        storage.put_settings(STORE, settings, if_match="0")
    assert err.value.status == 422
    diags = err.value.diagnostics
    assert [(d["code"], d["address"]) for d in diags] == [(code, address)]
    assert set(diags[0]) == DIAGNOSTIC_FIELDS
    assert revision(storage) == 0


# ---------------------------------------------------------------- validation and normalization


def test_an_invalid_spec_is_422_with_the_diagnostics_validate_prints(
    storage: Storage, tmp_path: Path
) -> None:
    bad = {"name": "SKU o365-e1", "vendr": "Microsoft", "source": "distributor"}
    with pytest.raises(InvalidSpec) as err:
        create(storage, "skus", "o365-e1", bad)
    assert err.value.status == 422
    assert err.value.message.startswith("skus.o365-e1 is invalid (2 problems)")
    got = err.value.diagnostics
    assert all(set(d) == DIAGNOSTIC_FIELDS for d in got)
    assert all((d["file"], d["line"], d["column"]) == ("<request>", 0, 0) for d in got)
    assert revision(storage) == 0

    # the same resource in a definition: `validate --json` reports the same problems
    (tmp_path / "def").mkdir()
    (tmp_path / "def" / "store.yaml").write_text(
        "apiVersion: storecfg/v1\n"
        "store: {id: shop, name: Shop, currency: USD, locales: [en-US]}\n"
        "include: [catalog.yaml]\n"
    )
    (tmp_path / "def" / "catalog.yaml").write_text(
        "skus:\n  - id: o365-e1\n    name: SKU o365-e1\n    vendr: Microsoft\n    source: distributor\n"
    )
    validate = [d.to_json() for d in compile_store(tmp_path / "def").errors]
    same = ("code", "severity", "address", "path", "message")
    assert sorted(tuple(d[k] for k in same) for d in got) == sorted(
        tuple(d[k] for k in same) for d in validate
    )
    assert (
        "SC301",
        "error",
        "skus.o365-e1.vendr",
        "$.vendr",
        "unknown field 'vendr'; did you mean 'vendor'?",
    ) in {tuple(d[k] for k in same) for d in got}


def test_single_resource_rules_are_checked(storage: Storage) -> None:
    bad = plan(billing_period={"length": 1, "unit": "year"})  # 1 month billed yearly
    with pytest.raises(InvalidSpec) as err:
        create(storage, "service_plans", "p", bad)
    assert err.value.status == 422
    assert [d["code"] for d in err.value.diagnostics] == ["SC004"]
    assert revision(storage) == 0


@pytest.mark.parametrize(
    ("rid", "body", "fragment"),
    [
        ("a", ["not", "an", "object"], "must be a JSON object"),
        ("a", None, "must be a JSON object"),
        ("a", {**sku("a"), "id": "b"}, "does not match the URL"),
        ("Not_An_ID", sku("x"), "Not_An_ID"),
    ],
)
def test_malformed_specs_are_422(storage: Storage, rid: str, body: Any, fragment: str) -> None:
    with pytest.raises(StoreError) as err:
        create(storage, "skus", rid, body)
    assert err.value.status == 422
    assert fragment in err.value.message + str(err.value.diagnostics)
    assert revision(storage) == 0


def test_specs_are_stored_normalized(storage: Storage) -> None:
    create(storage, "skus", "o365-e1", sku("o365-e1"))
    _, item = create(storage, "service_plans", "p", plan(recurring="8"))
    spec = storage.get(STORE, "service_plans", "p").spec
    assert spec == item.spec
    assert spec["price"] == {"setup": "0.00", "recurring": "8.00", "effective": "immediately"}
    assert spec["published"] is True
    assert spec["auto_renew"] is True
    assert spec["billing_model"] == "charge_before_billing_period"
    assert spec["id"] == "p"
    assert storage.get(STORE, "skus", "o365-e1").spec["enabled"] is True


def test_amounts_follow_the_store_currency(storage: Storage) -> None:
    storage.put_settings(
        STORE, {"name": "Shop", "currency": "JPY", "locales": ["ja-JP"]}, if_match="0"
    )
    create(storage, "skus", "o365-e1", sku("o365-e1"))
    _, item = create(storage, "service_plans", "p", plan(recurring="800"))
    assert item.spec["price"] == {"setup": "0", "recurring": "800", "effective": "immediately"}


def test_the_body_may_be_the_spec_or_wrap_it(storage: Storage) -> None:
    _, bare = create(storage, "terms", "a", terms())
    _, wrapped = create(storage, "terms", "b", {"spec": terms()})
    _, full = create(storage, "terms", "c", {"id": "c", "spec": terms(), "revision": 9})
    assert bare.spec | {"id": "b"} == wrapped.spec
    assert bare.spec | {"id": "c"} == full.spec
    assert full.revision == 3  # the body's revision is ignored


def test_read_all_is_a_consistent_snapshot(storage: Storage) -> None:
    create(storage, "skus", "o365-e1", sku("o365-e1"))
    create(storage, "service_plans", "p", plan())
    create(storage, "terms", "mca", terms())
    live = storage.read_all(STORE)
    assert live.revision == 3
    assert live.revisions() == {"skus.o365-e1": 1, "service_plans.p": 2, "terms.mca": 3}
    assert live.resources["terms"]["mca"].spec == storage.get(STORE, "terms", "mca").spec
    slim = storage.read_all(STORE, specs=False)
    assert slim.revisions() == live.revisions()
    assert slim.resources["terms"]["mca"].hash == live.resources["terms"]["mca"].hash


def test_a_batch_sees_its_own_earlier_writes(storage: Storage) -> None:
    """Later writes of a batch check their preconditions and keys against the earlier
    ones (the engine reads a batch's revisions and keys ahead, and must keep them true)."""
    put = {"op": "put", "kind": "skus", "id": "a"}
    results = storage.batch(
        STORE,
        [
            {**put, "spec": sku("a"), "if_none_match": "*", "idempotency_key": "k1"},
            {**put, "spec": sku("a", name="Two"), "if_match": 1},
            {**put, "spec": sku("a"), "if_none_match": "*", "idempotency_key": "k1"},
            {"op": "delete", "kind": "skus", "id": "a", "if_match": 2},
            {**put, "spec": sku("a", name="Again"), "if_none_match": "*"},
            {**put, "spec": sku("a"), "if_match": 2},
        ],
    )
    assert [r["status"] for r in results] == [201, 200, 201, 204, 201, 412]
    assert results[2]["item"]["revision"] == 1  # the replay answers the first result
    assert results[5]["error"]["current_revision"] == 4
    assert storage.get(STORE, "skus", "a").spec["name"] == "Again"
    assert revision(storage) == 4
