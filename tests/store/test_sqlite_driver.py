"""The embedded driver (`sqlite:///PATH`) and the HTTP driver against the reference server
(on SQLite and on PostgreSQL) must behave exactly alike: every test here runs on all
three and compares their answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storecfg.errors import ConflictError, LockedError, StoreError, UsageError
from storecfg.store import driver as driver_module
from storecfg.store.driver import StoreDriver, open_store, read_all_paged
from storecfg.store.http import HttpDriver
from storecfg.store.records import StoreInfo
from storecfg.store.sqlite import SqliteDriver

from .conftest import DRIVERS, STORE, ServedDriver
from .samples import DIAGNOSTIC_FIELDS, plan, sku, terms

OWNER = {"user": "alice", "host": "ci-7", "pid": 4242}


def outcome(call: Callable[[], Any]) -> Any:
    """What a driver call did, in terms both drivers must agree on."""
    try:
        result = call()
    except StoreError as exc:
        details = {k: exc.details[k] for k in ("current_revision",) if k in exc.details}
        if "lock" in exc.details:
            details["lock_owner"] = exc.details["lock"]["owner"]
        return (
            "error",
            type(exc).__name__,
            exc.status,
            details,
            [(d["code"], d["address"], d["path"], d["message"]) for d in exc.diagnostics],
        )
    if result is None:
        return None
    if isinstance(result, tuple):  # a page
        items, token = result
        return [(i.id, i.spec, i.revision, i.hash) for i in items], token is not None
    if isinstance(result, StoreInfo):
        return ("info", result.id, result.revision, result.settings, result.settings_revision)
    if hasattr(result, "lock_id"):
        return ("lock", result.owner)
    return ("item", result.id, result.spec, result.revision, result.hash)


def scenario(d: StoreDriver) -> dict[str, Any]:
    """A walk through the store API; the transcript is compared between drivers."""
    eur = {"name": "Shop", "currency": "EUR", "locales": ["de-DE"]}
    released: list[str] = []

    def release_held() -> None:
        held = d.get_lock(STORE)
        assert held is not None
        released.append(held.lock_id)
        d.release_lock(STORE, held.lock_id)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("info0", lambda: d.store_info(STORE)),
        (
            "create",
            lambda: d.put(STORE, "skus", "o365-e1", sku(), create=True, idempotency_key="c1"),
        ),
        (
            "replay",
            lambda: d.put(STORE, "skus", "o365-e1", sku(), create=True, idempotency_key="c1"),
        ),
        (
            "key reused",
            lambda: d.put(
                STORE, "skus", "o365-e1", sku(name="X"), create=True, idempotency_key="c1"
            ),
        ),
        ("exists", lambda: d.put(STORE, "skus", "o365-e1", sku(), create=True)),
        ("plan", lambda: d.put(STORE, "service_plans", "p", plan(), create=True)),
        ("update", lambda: d.put(STORE, "service_plans", "p", plan(recurring="9.5"), if_match=2)),
        ("stale", lambda: d.put(STORE, "service_plans", "p", plan(recurring="10"), if_match=2)),
        ("no precondition", lambda: d.put(STORE, "service_plans", "p", plan(recurring="10"))),
        ("update missing", lambda: d.put(STORE, "service_plans", "q", plan(), if_match=1)),
        ("invalid", lambda: d.put(STORE, "skus", "bad", {"name": "x", "vendr": "y"}, create=True)),
        (
            "rule",
            lambda: d.put(
                STORE,
                "service_plans",
                "bad",
                plan(billing_period={"length": 1, "unit": "year"}),
                create=True,
            ),
        ),
        ("unknown kind", lambda: d.put(STORE, "sku", "a", sku(), create=True)),
        ("get", lambda: d.get(STORE, "service_plans", "p")),
        ("get missing", lambda: d.get(STORE, "service_plans", "missing")),
        ("terms", lambda: d.put(STORE, "terms", "mca", terms(), create=True)),
        ("list skus", lambda: d.list_page(STORE, "skus")),
        ("list plans", lambda: d.list_page(STORE, "service_plans", limit=1)),
        ("bad page token", lambda: d.list_page(STORE, "terms", page_token="garbage!")),
        ("bad limit", lambda: d.list_page(STORE, "terms", limit=0)),
        ("delete stale", lambda: d.delete(STORE, "terms", "mca", if_match=99)),
        ("delete", lambda: d.delete(STORE, "terms", "mca", if_match=4, idempotency_key="d1")),
        (
            "delete replay",
            lambda: d.delete(STORE, "terms", "mca", if_match=4, idempotency_key="d1"),
        ),
        ("delete missing", lambda: d.delete(STORE, "terms", "mca")),
        ("delete missing if-match", lambda: d.delete(STORE, "terms", "mca", if_match=4)),
        ("settings", lambda: d.put_settings(STORE, eur, if_match=0, idempotency_key="s1")),
        ("settings replay", lambda: d.put_settings(STORE, eur, if_match=0, idempotency_key="s1")),
        ("settings stale", lambda: d.put_settings(STORE, eur, if_match=0)),
        ("settings invalid", lambda: d.put_settings(STORE, {**eur, "currency": "XYZ"}, if_match=6)),
        (
            "euro plan",
            lambda: d.put(STORE, "service_plans", "eur", plan(recurring="7.5"), create=True),
        ),
        ("info1", lambda: d.store_info(STORE)),
        ("no lock", lambda: d.get_lock(STORE)),
        ("lock", lambda: d.acquire_lock(STORE, OWNER, 60)),
        ("locked", lambda: d.acquire_lock(STORE, {"user": "bob"}, 60)),
        ("release wrong", lambda: d.release_lock(STORE, "wrong-id")),
        ("renew wrong", lambda: d.renew_lock(STORE, "wrong-id", 60)),
        ("held", lambda: d.get_lock(STORE)),
        ("bad ttl", lambda: d.acquire_lock(STORE, OWNER, 0.5)),
        ("release", release_held),
        ("release again", lambda: d.release_lock(STORE, released[0])),
        ("free", lambda: d.get_lock(STORE)),
        ("info2", lambda: d.store_info(STORE)),
    ]
    return {label: outcome(step) for label, step in steps}


@pytest.fixture(scope="module")
def transcripts(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, dict[str, Any]]:
    out = {}
    for name, make in DRIVERS.items():
        with make(tmp_path_factory.mktemp(name), request) as d:
            out[name] = scenario(d)
    return out


def test_both_drivers_give_the_same_answers(transcripts: dict[str, dict[str, Any]]) -> None:
    sqlite = transcripts["sqlite"]
    for name in ("http", "http-postgresql"):
        other = transcripts[name]
        assert list(sqlite) == list(other), name
        for label in sqlite:
            assert sqlite[label] == other[label], (name, label)


def test_the_answers_are_what_the_contract_says(transcripts: dict[str, dict[str, Any]]) -> None:
    t = transcripts["sqlite"]
    assert t["info0"][:3] == ("info", STORE, 0)
    created = t["create"]
    assert (created[0], created[3]) == ("item", 1)
    assert t["replay"] == created
    assert t["key reused"][:3] == ("error", "StoreError", 422)
    assert t["exists"][:4] == ("error", "ConflictError", 412, {"current_revision": 1})
    assert t["update"][2]["price"] == {
        "setup": "0.00",
        "recurring": "9.50",
        "effective": "immediately",
    }
    assert t["update"][3] == 3
    assert t["stale"][:4] == ("error", "ConflictError", 412, {"current_revision": 3})
    assert t["no precondition"][:3] == ("error", "PreconditionRequired", 428)
    assert t["update missing"][:4] == ("error", "ConflictError", 412, {"current_revision": None})
    assert t["invalid"][:3] == ("error", "InvalidSpec", 422)
    assert (
        "SC301",
        "skus.bad.vendr",
        "$.vendr",
        "unknown field 'vendr'; did you mean 'vendor'?",
    ) in t["invalid"][4]
    assert [d[0] for d in t["rule"][4]] == ["SC004"]
    assert t["unknown kind"][:3] == ("error", "StoreError", 404)
    assert t["get"][3] == 3
    assert t["get missing"] is None
    assert t["list skus"] == ([("o365-e1", created[2], 1, created[4])], False)
    assert [i[0] for i in t["list plans"][0]] == ["p"]
    assert t["list plans"][1] is False  # one plan: no next page
    assert t["bad page token"][:3] == ("error", "StoreError", 400)
    assert t["bad limit"][:3] == ("error", "StoreError", 400)
    assert t["delete stale"][:4] == ("error", "ConflictError", 412, {"current_revision": 4})
    assert t["delete"] is None and t["delete replay"] is None
    assert t["delete missing"][:3] == ("error", "StoreError", 404)
    assert t["delete missing if-match"][:4] == (
        "error",
        "ConflictError",
        412,
        {"current_revision": None},
    )
    assert t["settings"][:4] == ("item", "settings", t["settings"][2], 6)
    assert t["settings"][2]["currency"] == "EUR"
    assert t["settings replay"] == t["settings"]
    assert t["settings stale"][:4] == ("error", "ConflictError", 412, {"current_revision": 6})
    assert t["settings invalid"][:3] == ("error", "InvalidSpec", 422)
    assert t["euro plan"][2]["price"] == {
        "setup": "0.00",
        "recurring": "7.50",
        "effective": "immediately",
    }
    assert t["info1"][2:] == (7, t["settings"][2], 6)
    assert t["no lock"] is None
    assert t["lock"] == ("lock", OWNER)
    assert t["locked"] == ("error", "LockedError", 423, {"lock_owner": OWNER}, [])
    assert t["release wrong"] == ("error", "LockedError", 423, {"lock_owner": OWNER}, [])
    assert t["renew wrong"] == ("error", "LockedError", 423, {"lock_owner": OWNER}, [])
    assert t["held"] == ("lock", OWNER)
    assert t["bad ttl"][:3] == ("error", "StoreError", 400)
    assert t["release"] is None
    assert t["release again"][:3] == ("error", "StoreError", 404)
    assert t["free"] is None
    assert t["info2"] == t["info1"]  # locks are not writes


def test_lock_renewal_keeps_the_lock(driver: StoreDriver) -> None:
    lock = driver.acquire_lock(STORE, OWNER, 60)
    renewed = driver.renew_lock(STORE, lock.lock_id, 120)
    assert renewed.lock_id == lock.lock_id
    assert renewed.owner == OWNER
    assert renewed.expires_at >= lock.expires_at + 59
    driver.release_lock(STORE, lock.lock_id)
    with pytest.raises(StoreError) as err:
        driver.renew_lock(STORE, lock.lock_id, 60)
    assert err.value.status == 409


def test_paging_through_a_driver_returns_every_item_once(driver: StoreDriver) -> None:
    ids = [f"t{i:02d}" for i in range(9)]
    for rid in reversed(ids):
        driver.put(STORE, "terms", rid, terms(), create=True)
    seen: list[str] = []
    token: str | None = None
    while True:
        items, token = driver.list_page(STORE, "terms", limit=2, page_token=token)
        seen += [i.id for i in items]
        if not token:
            break
    assert seen == ids


@pytest.mark.parametrize("page_size", [500, 2, 1])
def test_read_all_matches_the_paged_read(
    driver: StoreDriver, page_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver_module, "PAGE_SIZE", page_size)
    driver.put(STORE, "skus", "o365-e1", sku(), create=True)
    driver.put(STORE, "service_plans", "p", plan(), create=True)
    for i in range(3):
        driver.put(STORE, "terms", f"t{i}", terms(), create=True)
    whole = driver.read_all(STORE)
    paged = read_all_paged(driver, STORE)
    assert whole.to_json() == paged.to_json()
    assert whole.revision == 5
    assert whole.revisions() == {
        "skus.o365-e1": 1,
        "service_plans.p": 2,
        "terms.t0": 3,
        "terms.t1": 4,
        "terms.t2": 5,
    }
    assert {r.hash for k in whole.resources.values() for r in k.values()} == {
        r.hash for k in paged.resources.values() for r in k.values()
    }


class _MovingStore:
    """A driver whose store revision moves between any two calls."""

    def __init__(self, inner: StoreDriver) -> None:
        self.inner = inner
        self.calls = 0

    def store_info(self, store_id: str) -> StoreInfo:
        self.calls += 1
        info = self.inner.store_info(store_id)
        return StoreInfo(info.id, self.calls, info.settings, info.settings_revision)

    def list_page(self, *a: Any, **kw: Any) -> Any:
        return self.inner.list_page(*a, **kw)


def test_a_paged_read_is_repeated_while_the_store_moves(tmp_path: Path) -> None:
    moving = _MovingStore(open_store(f"sqlite:///{tmp_path / 'store.db'}"))
    with pytest.raises(StoreError) as err:
        read_all_paged(moving, STORE, attempts=3)  # type: ignore[arg-type]
    assert err.value.status == 409
    assert "kept changing" in err.value.message
    assert moving.calls == 6  # before and after, three times


def test_store_urls_pick_the_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedded = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(embedded, SqliteDriver)
    assert embedded.default_parallelism == 1
    embedded.close()
    remote = open_store("http://127.0.0.1:9/prefix/", token="sct_x")
    assert isinstance(remote, HttpDriver)
    assert remote.url == "http://127.0.0.1:9/prefix"
    assert remote.default_parallelism > 1
    remote.close()
    with pytest.raises(UsageError) as creds:
        open_store("http://user:secret@127.0.0.1:9/", token="sct_x")
    assert "secret" not in creds.value.message
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STORECFG_STORE", raising=False)
    default = open_store()
    assert isinstance(default, SqliteDriver)
    # reading creates nothing; the first write creates .storecfg/store.db
    assert default.read_all(STORE).count() == 0 and default.list_stores() == []
    assert not (tmp_path / ".storecfg" / "store.db").exists()
    default.put(STORE, "skus", "o365-e1", sku(), create=True)
    default.close()
    assert (tmp_path / ".storecfg" / "store.db").is_file()
    for bad in ("ftp://host/x", "sqlite://relative.db", "sqlite:///", "just-words"):
        with pytest.raises(UsageError):
            open_store(bad)


def test_invalid_spec_diagnostics_have_the_validate_shape(driver: StoreDriver) -> None:
    with pytest.raises(StoreError) as err:
        driver.put(STORE, "skus", "bad", {"name": "x", "vendr": "y"}, create=True)
    assert err.value.status == 422
    assert err.value.diagnostics
    assert all(set(d) == DIAGNOSTIC_FIELDS for d in err.value.diagnostics)


def test_errors_keep_their_types(driver: StoreDriver) -> None:
    driver.put(STORE, "skus", "a", sku("a"), create=True)
    with pytest.raises(ConflictError):
        driver.put(STORE, "skus", "a", sku("a"), create=True)
    driver.acquire_lock(STORE, OWNER, 60)
    with pytest.raises(LockedError) as err:
        driver.acquire_lock(STORE, {}, 60)
    assert err.value.details["lock"]["owner"] == OWNER


def test_a_driver_is_a_context_manager_that_closes_on_every_way_out(tmp_path: Path) -> None:
    with ServedDriver(tmp_path / "server.db") as served:
        assert served.store_info(STORE).revision == 0
    assert served.client.is_closed
    with pytest.raises(RuntimeError), ServedDriver(tmp_path / "other.db") as failed:
        raise RuntimeError("the block failed")
    assert failed.client.is_closed
    closed: list[str] = []
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as embedded:
        assert isinstance(embedded, SqliteDriver)
        embedded.put(STORE, "skus", "a", sku(), create=True)
        embedded.storage.close = lambda: closed.append("storage")  # type: ignore[method-assign]
    assert closed == ["storage"]


def test_the_embedded_store_checks_only_specs_it_was_not_vouched_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`apply DIR` vouches for the very spec objects its compile checked; the embedded
    store skips its own check for those objects and for nothing else."""
    from storecfg.store import validation
    from storecfg.store.records import WriteOp

    checked: list[str] = []
    real = validation.check_resource

    def counting(kind: str, rid: str, *args: Any) -> Any:
        checked.append(rid)
        return real(kind, rid, *args)

    monkeypatch.setattr(validation, "check_resource", counting)
    vouched = {"id": "a", **sku("a")}
    with SqliteDriver(f"sqlite:///{tmp_path / 'store.db'}") as driver:
        driver.vouch({"skus": {"a": vouched}})
        ops = [
            WriteOp("put", "skus", "a", vouched, create=True),
            WriteOp("put", "skus", "b", {"id": "b", **sku("b")}, create=True),
            WriteOp("put", "skus", "c", {"id": "c", **sku("c", vendor="")}, create=True),
        ]
        results = driver.write_batch(STORE, ops)
        assert checked == ["b", "c"]
        assert [r.status for r in results][:2] == [201, 201]
        assert results[2].status == 422  # an empty vendor: checked, and refused
        driver.vouch({"skus": {"a": dict(vouched)}})  # an equal object, not the same one
        driver.put(STORE, "skus", "a", vouched, if_match="1")
        assert checked == ["b", "c", "a"]
