"""What only the PostgreSQL engine has to get right: its schema, its errors, its retries.

The store semantics themselves are tested on both engines by test_storage.py (and the
driver tests); this file covers the seams: migrations under concurrency, byte-order IDs,
tokens kept as hashes, passwords kept out of messages, transactions run again after a
serialization failure, and the CLI's `--db postgresql://...`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from storecfg.errors import StoreError
from storecfg.store import engine as engine_module
from storecfg.store.migrations import SCHEMA_VERSION
from storecfg.store.postgres import redact, translate_ddl
from storecfg.store.storage import Storage
from support.server import storecfg

from .samples import sku

STORE = "shop"


@pytest.fixture
def storage(pg_url: str) -> Iterator[Storage]:
    s = Storage(pg_url)
    yield s
    s.close()


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def test_a_new_database_gets_the_schema_and_its_version(pg_url: str) -> None:
    Storage(pg_url).close()
    assert _rows(pg_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    tables = {
        r[0] for r in _rows(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert {"stores", "resources", "idempotency", "locks", "tokens", "schema_version"} <= tables
    Storage(pg_url).close()  # opening again migrates nothing
    assert _rows(pg_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_servers_starting_together_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_one() -> None:
        barrier.wait()
        try:
            Storage(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert _rows(pg_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_a_database_from_a_newer_storecfg_is_refused(pg_url: str) -> None:
    Storage(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(StoreError) as err:
        Storage(pg_url)
    assert f"schema version {SCHEMA_VERSION + 1}" in err.value.message
    assert "Upgrade storecfg" in err.value.message


def test_ids_sort_and_page_byte_by_byte_as_on_sqlite(storage: Storage, tmp_path: Any) -> None:
    """A linguistic collation would sort `a-b` after `ab`; SQLite compares bytes."""
    ids = ["ab", "a-b", "a.b", "a_b", "a0", "b", "a-c", "aa"]
    sqlite = Storage(tmp_path / "s.db")
    for s in (storage, sqlite):
        for rid in ids:
            s.put(STORE, "skus", rid, sku(), if_none_match="*")
    expected = sorted(ids)
    for s in (storage, sqlite):
        paged: list[str] = []
        token = None
        while True:
            items, token = s.list(STORE, "skus", limit=3, page_token=token)
            paged += [i.id for i in items]
            if token is None:
                break
        assert paged == expected
        assert list(s.read_all(STORE).resources["skus"]) == expected
    sqlite.close()


def test_tokens_are_stored_only_as_sha256_hashes(storage: Storage, pg_url: str) -> None:
    tokens = [storage.create_token(STORE, "ci"), storage.create_token("other")]
    assert storage.token_store(tokens[0]) == STORE
    assert storage.token_store(tokens[1]) == "other"
    assert storage.token_store(tokens[0] + "x") is None
    rows = _rows(pg_url, "SELECT * FROM tokens")
    text = repr(rows)
    for token in tokens:
        assert token not in text and token[4:] not in text
    assert hashlib.sha256(tokens[0].encode()).hexdigest() in text


def test_the_password_never_appears_in_messages() -> None:
    assert redact("postgresql://app:s3cret@db.example:5432/stores") == (
        "postgresql://app@db.example:5432/stores"
    )
    assert "s3cret" not in redact("postgresql://db/stores?password=s3cret&sslmode=require")
    assert "sslmode=require" in redact("postgresql://db/stores?password=s3cret&sslmode=require")


def test_an_unreachable_database_is_a_clear_error_without_the_password(
    pg_cluster: Any,
) -> None:
    url = f"postgresql://storecfg:s3cret@127.0.0.1:{pg_cluster.port}/no_such_database"
    with pytest.raises(StoreError) as err:
        Storage(url)
    assert "postgresql://storecfg@127.0.0.1" in err.value.message
    assert "no_such_database" in err.value.message
    assert "s3cret" not in err.value.message


def test_ddl_is_translated_to_postgresql_types() -> None:
    ddl = translate_ddl(
        "CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER NOT NULL, c REAL, d BLOB) WITHOUT ROWID"
    )
    assert ddl == (
        'CREATE TABLE t (a TEXT COLLATE "C" PRIMARY KEY, b BIGINT NOT NULL, '
        "c DOUBLE PRECISION, d BYTEA)"
    )


class _FailingFirst:
    """Makes the first `times` write transactions fail as PostgreSQL would under a race."""

    def __init__(self, storage: Storage, error: type[Exception], times: int) -> None:
        self.left = times
        self.error = error
        self.calls = 0
        self.real = storage._write_state
        storage._write_state = self  # type: ignore[method-assign]

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            raise self.error("could not serialize access due to concurrent update")
        return self.real(*args)


@pytest.mark.parametrize(
    "error", [psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected]
)
def test_a_transaction_that_loses_a_race_runs_again(
    storage: Storage, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module.time, "sleep", lambda _: None)
    failing = _FailingFirst(storage, error, 2)
    status, item = storage.put(STORE, "skus", "a", sku(), if_none_match="*", idempotency_key="k")
    assert (status, item.revision) == (201, 1)
    assert failing.calls == 3
    assert storage.store_info(STORE).revision == 1  # the failed attempts left nothing


def test_retries_are_bounded_and_end_in_a_503(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module.time, "sleep", lambda _: None)
    failing = _FailingFirst(storage, psycopg.errors.SerializationFailure, 1000)
    with pytest.raises(StoreError) as err:
        storage.put(STORE, "skus", "a", sku(), if_none_match="*")
    assert err.value.status == 503
    assert "try again" in err.value.message
    assert failing.calls == engine_module.MAX_ATTEMPTS
    failing.left = 0
    assert storage.store_info(STORE).revision == 0


def test_token_create_and_serve_take_a_postgresql_url(pg_url: str) -> None:
    created = storecfg("token", "create", "--db", pg_url, "--store", STORE, "--name", "ci")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("sct_")
    rows = _rows(pg_url, "SELECT hash, store, name FROM tokens")
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), STORE, "ci")]


def test_token_list_and_revoke_take_a_postgresql_url(pg_url: str) -> None:
    created = storecfg("token", "create", "--db", pg_url, "--store", STORE, "--read-only")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    listed = storecfg("token", "list", "--db", pg_url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert token not in listed.stdout
    (entry,) = json.loads(listed.stdout)
    assert (entry["store"], entry["read_only"]) == (STORE, True)
    revoked = storecfg("token", "revoke", "--db", pg_url, entry["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert _rows(pg_url, "SELECT count(*) FROM tokens") == [(0,)]
    again = storecfg("token", "revoke", "--db", pg_url, entry["id"])
    assert again.returncode == 1
    assert "no token" in again.stderr


def test_a_bad_database_url_is_a_clear_error(pg_cluster: Any) -> None:
    url = f"postgresql://storecfg:s3cret@127.0.0.1:{pg_cluster.port}/missing"
    for args in (("token", "create", "--db", url, "--store", STORE), ("serve", "--db", url)):
        result = storecfg(*args, "--port", "0") if args[0] == "serve" else storecfg(*args)
        assert result.returncode == 1
        assert "cannot connect to the store database postgresql://storecfg@" in result.stderr
        assert "s3cret" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
    other = storecfg("serve", "--db", "mysql://db/stores")
    assert other.returncode != 0
    assert "postgresql://" in other.stderr


def test_connections_lost_between_requests_are_replaced_without_an_error(
    storage: Storage, pg_url: str
) -> None:
    """A database restart or a proxy dropping idle connections leaves dead ones in the
    pool: the next reads and writes get fresh ones instead of failing."""
    storage.put(STORE, "skus", "a", sku("a"), if_none_match="*")
    storage.create_token(STORE)
    for step in range(3):
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        if step == 0:
            assert storage.get(STORE, "skus", "a").revision == 1
        elif step == 1:
            assert storage.read_all(STORE).revision == 1
        else:
            status, _ = storage.put(STORE, "skus", "b", sku("b"), if_none_match="*")
            assert status == 201
    assert storage.store_info(STORE).revision == 2
