"""`storecfg migrate`: a whole store database moved from SQLite to PostgreSQL, checked.

The copy must be complete (every store, resource, token, key and lock, with their
revisions and hashes), usable at once (tokens keep working, plans show no changes),
checked before it commits, and never written over data the target already holds.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from storecfg.errors import StoreError
from storecfg.store.copy import copy_database, data_tables
from storecfg.store.storage import Storage
from support.server import running_server, storecfg

from .samples import plan, sku

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stores" / "o365-reseller"
EXAMPLE_STORE = "contoso-cloud-us"


def _filled(db: Path) -> dict[str, Any]:
    """A SQLite store database with two stores and something in every table."""
    s = Storage(db)
    tokens = {
        "ci": s.create_token("shop", "ci"),
        "pr": s.create_token("shop", "pull requests", read_only=True),
        "other": s.create_token("other"),
    }
    s.put("shop", "skus", "o365-e1", sku(), if_none_match="*", idempotency_key="k-sku")
    s.put("shop", "service_plans", "e1", plan(), if_none_match="*")
    s.put("other", "skus", "x", {"spec": sku("x"), "source": "catalog/x.yaml"}, if_none_match="*")
    info = s.store_info("shop")
    s.put_settings("shop", {**info.settings, "name": "Shop"}, if_match="*")
    s.acquire_lock("other", {"user": "alice"}, 600)
    s.close()
    return tokens


def _state(s: Storage, store: str) -> Any:
    live = s.read_all(store)
    return (
        live.revision,
        live.settings,
        live.settings_revision,
        {
            k: {i: (r.spec, r.revision, r.hash, r.source) for i, r in v.items()}
            for k, v in live.resources.items()
        },
    )


def test_migrate_copies_everything_and_the_copy_works(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "server.db"
    tokens = _filled(db)
    result = storecfg("migrate", "--from", f"sqlite:///{db}", "--to", pg_url)
    assert result.returncode == 0, result.stderr
    assert "Checked: every table's row count and content hash match" in result.stdout
    assert "Stores: other, shop." in result.stdout
    for token in tokens.values():
        assert token not in result.stdout + result.stderr

    source, target = Storage(db), Storage(pg_url)
    try:
        for store in ("shop", "other"):
            assert _state(target, store) == _state(source, store)
        assert [t.to_json() for t in target.list_tokens()] == [
            t.to_json() for t in source.list_tokens()
        ]
        pr = target.token_info(tokens["pr"])
        assert pr is not None and pr.read_only and pr.store == "shop"
        assert target.token_store(tokens["other"]) == "other"
        held = target.get_lock("other")
        assert held is not None and held.owner == {"user": "alice"}
        # an idempotency key recorded on SQLite is honoured on PostgreSQL
        status, item = target.put(
            "shop", "skus", "o365-e1", sku(), if_none_match="*", idempotency_key="k-sku"
        )
        assert (status, item.revision) == (201, 1)
        # the reference index came along: the plan still refers to the SKU
        with pytest.raises(StoreError) as err:
            target.delete("shop", "skus", "o365-e1")
        assert err.value.status == 409
        assert target.store_info("shop").revision == source.store_info("shop").revision
    finally:
        source.close()
        target.close()


def test_a_migrated_server_database_plans_no_changes(tmp_path: Path, pg_url: str) -> None:
    """Apply into SQLite, move the database, serve it from PostgreSQL: the same token
    reads the same store, and planning the same definition shows nothing to do."""
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work / "store")
    db = tmp_path / "server.db"
    applied = storecfg(
        "apply", "store", "--auto-approve", cwd=work, env={"STORECFG_STORE": f"sqlite:///{db}"}
    )
    assert applied.returncode == 0, applied.stderr
    token = storecfg("token", "create", "--db", str(db), "--store", EXAMPLE_STORE)
    assert token.returncode == 0, token.stderr

    moved = storecfg("migrate", "--from", str(db), "--to", pg_url, "--json")
    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert report["stores"] == [EXAMPLE_STORE]
    assert report["tables"]["resources"]["rows"] > 30
    assert set(report["tables"]) == set(data_tables())

    with running_server(tmp_path, db=pg_url) as server:
        env = {"STORECFG_STORE": server.url, "STORECFG_TOKEN": token.stdout.strip()}
        planned = storecfg("plan", "store", "--detailed-exitcode", cwd=work, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout


def test_a_target_that_holds_data_is_refused_unless_forced(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "a.db"
    _filled(db)
    first = storecfg("migrate", "--from", f"sqlite:///{db}", "--to", pg_url)
    assert first.returncode == 0, first.stderr

    again = storecfg("migrate", "--from", f"sqlite:///{db}", "--to", pg_url)
    assert again.returncode == 1
    assert "is not empty" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr

    clash = storecfg("migrate", "--from", f"sqlite:///{db}", "--to", pg_url, "--force")
    assert clash.returncode == 1
    assert "already holds the store(s) other, shop" in clash.stderr

    other = tmp_path / "b.db"
    s = Storage(other)
    s.create_token("third")
    s.put("third", "skus", "t", sku("t"), if_none_match="*")
    s.close()
    added = storecfg("migrate", "--from", f"sqlite:///{other}", "--to", pg_url, "--force")
    assert added.returncode == 0, added.stderr
    target = Storage(pg_url)
    try:
        assert target.list_stores() == ["other", "shop", "third"]
        assert len(target.list_tokens()) == 4
    finally:
        target.close()


def test_bad_sources_and_targets_are_clear_errors(tmp_path: Path, pg_url: str) -> None:
    missing = storecfg("migrate", "--from", f"sqlite:///{tmp_path / 'nope.db'}", "--to", pg_url)
    assert missing.returncode == 1
    assert "--from" in missing.stderr and "no such database file" in missing.stderr
    assert not (tmp_path / "nope.db").exists()

    db = tmp_path / "a.db"
    _filled(db)
    same = storecfg("migrate", "--from", str(db), "--to", f"sqlite:///{db}")
    assert same.returncode == 1
    assert "the same database" in same.stderr
    bad = storecfg("migrate", "--from", str(db), "--to", "mysql://db/x")
    assert bad.returncode == 1
    assert "postgresql://" in bad.stderr


def test_a_copy_that_does_not_match_is_rolled_back(tmp_path: Path, pg_url: str) -> None:
    """A value PostgreSQL stores differently (SQLite kept 0.5 in an INTEGER column,
    PostgreSQL rounds it) is caught by the check, and the target keeps nothing."""
    db = tmp_path / "a.db"
    _filled(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tokens SET read_only = 0.5 WHERE name = 'ci'")
    source, target = Storage(db), Storage(pg_url)
    try:
        with pytest.raises(StoreError) as err:
            copy_database(source, target)
        assert "the copy of table tokens does not match its source" in err.value.message
        assert "nothing was copied" in err.value.message
    finally:
        source.close()
        target.close()
    with psycopg.connect(pg_url) as conn:
        for table in data_tables():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_sqlite_to_sqlite_works_too(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _filled(db)
    result = storecfg("migrate", "--from", str(db), "--to", str(tmp_path / "b.db"))
    assert result.returncode == 0, result.stderr
    a, b = Storage(db), Storage(tmp_path / "b.db")
    try:
        assert _state(a, "shop") == _state(b, "shop")
    finally:
        a.close()
        b.close()
