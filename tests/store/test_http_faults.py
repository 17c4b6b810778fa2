"""The HTTP driver under faults: rate limits, unavailable servers, dropped connections,
responses lost after the server committed. httpx.MockTransport injects the faults; where
a real answer is needed the transport forwards to the reference app in-process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storecfg.errors import StorecfgError, StoreError, UsageError
from storecfg.server.app import create_app
from storecfg.store.http import HttpDriver
from storecfg.store.http_transport import RetryPolicy
from storecfg.store.storage import Storage

from .asgi import SyncASGITransport
from .samples import sku

STORE = "shop"
TOKEN = "sct_" + "T0kenT0kenT0ken-secret-value_42"
OWNER = {"user": "alice", "host": "ci-7", "pid": 4242}


class Recorder:
    """A RetryPolicy sleep that records the delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


Handler = Callable[[httpx.Request], httpx.Response]


def make_driver(
    handler: Handler, *, attempts: int = 4, max_retry_after: float = 60.0
) -> tuple[HttpDriver, Recorder, list[httpx.Request]]:
    sleep = Recorder()
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record), base_url="http://store.test/v1/")
    driver = HttpDriver(
        "http://store.test",
        token=TOKEN,
        client=client,
        retry=RetryPolicy(attempts=attempts, max_retry_after=max_retry_after, sleep=sleep),
    )
    return driver, sleep, seen


def scripted(*answers: httpx.Response | Exception) -> Handler:
    """Answers (or raises) in order; the last answer repeats."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


def ok_store() -> httpx.Response:
    return httpx.Response(200, json={"id": STORE, "revision": 3})


def item(rev: int = 1) -> httpx.Response:
    return httpx.Response(201, json={"id": "a", "spec": sku("a"), "revision": rev})


# ---------------------------------------------------------------- retries


def test_429_honours_retry_after(request: pytest.FixtureRequest) -> None:
    driver, sleep, seen = make_driver(
        scripted(
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "rate_limited"}),
            httpx.Response(429, headers={"Retry-After": "2.5"}, json={"error": "rate_limited"}),
            ok_store(),
        )
    )
    assert driver.store_info(STORE).revision == 3
    assert sleep.delays == [7.0, 2.5]
    assert len(seen) == 3


def test_retry_after_is_capped() -> None:
    driver, sleep, _ = make_driver(
        scripted(httpx.Response(429, headers={"Retry-After": "86400"}), ok_store()),
        max_retry_after=30,
    )
    driver.store_info(STORE)
    assert sleep.delays == [30.0]


def test_retry_after_as_an_http_date() -> None:
    driver, sleep, _ = make_driver(
        scripted(
            httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            ok_store(),
        )
    )
    driver.store_info(STORE)
    assert sleep.delays == [0.0]  # a date in the past: no wait


def test_503_then_success() -> None:
    driver, sleep, seen = make_driver(
        scripted(httpx.Response(503), httpx.Response(502), httpx.Response(504), ok_store())
    )
    assert driver.store_info(STORE).revision == 3
    assert len(seen) == 4
    # exponential backoff with full jitter: each delay within [0, base * 2**attempt]
    assert len(sleep.delays) == 3
    assert all(0 <= d <= 0.2 * 2**i for i, d in enumerate(sleep.delays))


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_reads_are_retried_after_connection_faults(fault: Exception) -> None:
    driver, sleep, seen = make_driver(scripted(fault, fault, ok_store()))
    assert driver.store_info(STORE).revision == 3
    assert len(seen) == 3
    assert len(sleep.delays) == 2


def test_keyed_writes_are_retried_after_a_reset() -> None:
    driver, _, seen = make_driver(scripted(httpx.ReadError("reset"), item()))
    got = driver.put(STORE, "skus", "a", sku("a"), create=True, idempotency_key="k1")
    assert got.revision == 1
    assert [r.method for r in seen] == ["PUT", "PUT"]
    assert {r.headers["Idempotency-Key"] for r in seen} == {"k1"}
    assert seen[0].content == seen[1].content  # the very same request


@pytest.mark.parametrize(
    "write",
    [
        lambda d: d.put(STORE, "skus", "a", sku("a"), create=True),
        lambda d: d.put(STORE, "skus", "a", sku("a"), if_match=3),
        lambda d: d.delete(STORE, "skus", "a"),
        lambda d: d.put_settings(STORE, {"name": "x"}, if_match=1),
    ],
    ids=["create", "update", "delete", "settings"],
)
def test_writes_without_a_key_are_never_retried(write: Callable[[HttpDriver], Any]) -> None:
    driver, sleep, seen = make_driver(scripted(httpx.ReadError("reset"), item()))
    with pytest.raises(StoreError) as err:
        write(driver)
    assert err.value.status == 0
    assert "cannot reach the store at http://store.test" in err.value.message
    assert len(seen) == 1
    assert sleep.delays == []


def test_writes_without_a_key_are_not_retried_on_503_either() -> None:
    driver, sleep, seen = make_driver(
        scripted(httpx.Response(503, json={"error": "unavailable", "message": "busy"}), item())
    )
    with pytest.raises(StoreError) as err:
        driver.put(STORE, "skus", "a", sku("a"), create=True)
    assert err.value.status == 503
    assert len(seen) == 1 and sleep.delays == []


def test_attempts_are_bounded_with_a_clear_error() -> None:
    driver, sleep, seen = make_driver(scripted(httpx.ReadError("reset")), attempts=4)
    with pytest.raises(StoreError) as err:
        driver.store_info(STORE)
    assert len(seen) == 4
    assert len(sleep.delays) == 3
    assert err.value.status == 0
    assert err.value.message == ("cannot reach the store at http://store.test (ReadError: reset)")


def test_a_store_that_keeps_answering_503_gives_up() -> None:
    driver, sleep, seen = make_driver(
        scripted(httpx.Response(503, json={"error": "unavailable", "message": "maintenance"})),
        attempts=3,
    )
    with pytest.raises(StoreError) as err:
        driver.list_page(STORE, "skus")
    assert len(seen) == 3 and len(sleep.delays) == 2
    assert err.value.status == 503
    assert err.value.message == "list skus: maintenance (HTTP 503)"


def test_a_store_that_keeps_answering_429_says_so() -> None:
    driver, _, seen = make_driver(
        scripted(httpx.Response(429, headers={"Retry-After": "1"})), attempts=2
    )
    with pytest.raises(StoreError) as err:
        driver.get(STORE, "skus", "a")
    assert len(seen) == 2
    assert err.value.status == 429
    assert err.value.retry_after == 1.0
    assert "rate limited" in err.value.message


def test_client_errors_are_not_retried() -> None:
    driver, sleep, seen = make_driver(
        scripted(httpx.Response(400, json={"error": "bad_request", "message": "nope"}))
    )
    with pytest.raises(StoreError) as err:
        driver.list_page(STORE, "skus", page_token="x")
    assert err.value.status == 400
    assert len(seen) == 1 and sleep.delays == []


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>proxy login</html>"),
        httpx.Response(200, json={"unexpected": True}),
        httpx.Response(200, json=["a", "list"]),
    ],
    ids=["html", "other object", "list"],
)
def test_an_answer_that_is_not_the_api_is_a_store_error(answer: httpx.Response) -> None:
    driver, _, _ = make_driver(scripted(answer))
    for call in (
        lambda: driver.store_info(STORE),
        lambda: driver.get(STORE, "skus", "a"),
        lambda: driver.list_page(STORE, "skus"),
        lambda: driver.acquire_lock(STORE, OWNER, 60),
    ):
        with pytest.raises(StoreError) as err:
            call()
        assert err.value.status == 502
        assert "sent an answer storecfg cannot read (HTTP 200" in err.value.message


def test_a_non_json_error_body_still_gives_a_clear_error() -> None:
    driver, _, _ = make_driver(
        scripted(httpx.Response(500, text="<html>Internal Server Error</html>"))
    )
    with pytest.raises(StoreError) as err:
        driver.get(STORE, "skus", "a")
    assert err.value.status == 500
    assert err.value.message == "skus.a: Internal Server Error (HTTP 500)"


# ---------------------------------------------------------------- lost responses


class LosingTransport(httpx.BaseTransport):
    """Forwards to the real app; the first `lose` answers are dropped after the server
    has acted on the request, as if the connection broke on the way back."""

    def __init__(self, app: Any, lose: int = 1) -> None:
        self.inner = SyncASGITransport(app)
        self.lose = lose
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        response = self.inner.handle_request(request)
        if self.lose > 0:
            self.lose -= 1
            raise httpx.ReadError("connection reset by peer")
        return response


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Storage, LosingTransport, HttpDriver, Recorder]]:
    storage = Storage(tmp_path / "server.db")
    token = storage.create_token(STORE)
    transport = LosingTransport(create_app(storage, access_log=False), lose=0)
    sleep = Recorder()
    client = httpx.Client(transport=transport, base_url="http://store.test/v1/")
    driver = HttpDriver(
        "http://store.test", token=token, client=client, retry=RetryPolicy(sleep=sleep)
    )
    yield storage, transport, driver, sleep
    storage.close()


def test_a_lost_create_is_not_duplicated(server: Any) -> None:
    storage, transport, driver, _ = server
    transport.lose = 1
    got = driver.put(STORE, "skus", "a", sku("a"), create=True, idempotency_key="plan-1/skus.a")
    assert len(transport.requests) == 2
    # the retry got the first result (201, revision 1), not 412 "already exists"
    assert (got.id, got.revision) == ("a", 1)
    assert storage.store_info(STORE).revision == 1
    assert [i.id for i in storage.list(STORE, "skus")[0]] == ["a"]


def test_a_lost_update_returns_the_original_result(server: Any) -> None:
    storage, transport, driver, _ = server
    storage.put(STORE, "skus", "a", sku("a"), if_none_match="*")
    transport.lose = 1
    got = driver.put(STORE, "skus", "a", sku("a", name="New"), if_match=1, idempotency_key="u")
    # without the key the retry would be a 412: the revision moved with the lost write
    assert (got.revision, got.spec["name"]) == (2, "New")
    assert storage.store_info(STORE).revision == 2


def test_a_lost_delete_is_not_an_error(server: Any) -> None:
    storage, transport, driver, _ = server
    storage.put(STORE, "skus", "a", sku("a"), if_none_match="*")
    transport.lose = 1
    driver.delete(STORE, "skus", "a", if_match=1, idempotency_key="d")
    assert len(transport.requests) == 2
    assert storage.list(STORE, "skus") == ([], None)
    assert storage.store_info(STORE).revision == 2


def test_a_lost_unkeyed_write_is_reported_not_repeated(server: Any) -> None:
    storage, transport, driver, _ = server
    transport.lose = 1
    with pytest.raises(StoreError) as err:
        driver.put(STORE, "skus", "a", sku("a"), create=True)
    assert err.value.status == 0
    assert len(transport.requests) == 1
    assert storage.store_info(STORE).revision == 1  # it did commit; a fresh plan will see it


def test_a_lost_lock_answer_still_gives_us_the_lock(server: Any) -> None:
    storage, transport, driver, _ = server
    transport.lose = 1
    lock = driver.acquire_lock(STORE, OWNER, 60)
    assert len(transport.requests) == 2
    held = storage.get_lock(STORE)
    assert held is not None
    assert (lock.lock_id, lock.owner) == (held.lock_id, OWNER)

    # somebody else's lock is still a 423, lost answer or not
    storage.release_lock(STORE, lock.lock_id)
    storage.acquire_lock(STORE, {"user": "bob"}, 60)
    transport.lose = 1
    with pytest.raises(StoreError) as err:
        driver.acquire_lock(STORE, OWNER, 60)
    assert err.value.status == 423


def test_a_lost_release_answer_is_not_an_error(server: Any) -> None:
    storage, transport, driver, _ = server
    lock = driver.acquire_lock(STORE, OWNER, 60)
    transport.lose = 1
    driver.release_lock(STORE, lock.lock_id)
    assert storage.get_lock(STORE) is None
    with pytest.raises(StoreError) as err:  # without a lost answer, 404 is still an error
        driver.release_lock(STORE, lock.lock_id)
    assert err.value.status == 404


# ---------------------------------------------------------------- the token stays secret


def _all_text(exc: BaseException) -> str:
    parts = [str(exc), repr(exc)]
    if isinstance(exc, StoreError):
        parts.append(json.dumps(exc.details, default=str))
        parts.append(json.dumps(exc.diagnostics, default=str))
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not exc.__suppress_context__:
        parts.append(_all_text(cause))
    return "\n".join(parts)


FAULTS: list[tuple[str, Handler]] = [
    (
        "401",
        scripted(httpx.Response(401, json={"error": "unauthorized", "message": "invalid token"})),
    ),
    ("403", scripted(httpx.Response(403, json={"error": "forbidden", "message": "other store"}))),
    (
        "422",
        scripted(
            httpx.Response(
                422, json={"error": "unprocessable", "message": "bad", "diagnostics": []}
            )
        ),
    ),
    ("429", scripted(httpx.Response(429, headers={"Retry-After": "1"}))),
    ("503", scripted(httpx.Response(503))),
    ("reset", scripted(httpx.ReadError("connection reset"))),
    ("timeout", scripted(httpx.ReadTimeout("timed out"))),
    ("not json", scripted(httpx.Response(200, text="{{{"))),
    (
        "echoed header",  # a server (or library) that quotes the request back
        lambda r: httpx.Response(
            400,
            json={"error": "bad_request", "message": f"bad header {r.headers['authorization']}"},
        ),
    ),
    (
        "library quoting headers",
        lambda r: (_ for _ in ()).throw(
            httpx.RemoteProtocolError(f"illegal header {r.headers['authorization']!r}")
        ),
    ),
    (
        "local protocol error",
        lambda r: (_ for _ in ()).throw(
            httpx.LocalProtocolError(f"Illegal header value {r.headers['authorization']!r}")
        ),
    ),
]


@pytest.mark.parametrize(("name", "handler"), FAULTS, ids=[f[0] for f in FAULTS])
def test_no_error_message_contains_the_token(name: str, handler: Handler) -> None:
    driver, _, seen = make_driver(handler, attempts=2)
    calls: list[Callable[[], Any]] = [
        lambda: driver.store_info(STORE),
        lambda: driver.put(STORE, "skus", "a", sku("a"), create=True, idempotency_key="k"),
        lambda: driver.delete(STORE, "skus", "a"),
        lambda: driver.acquire_lock(STORE, OWNER, 60),
    ]
    errors: list[BaseException] = []
    for call in calls:
        try:
            call()
        except Exception as exc:
            errors.append(exc)
    assert len(errors) >= 3
    for exc in errors:
        assert isinstance(exc, StorecfgError), repr(exc)
        text = _all_text(exc)
        assert TOKEN not in text
        assert TOKEN[4:] not in text
    assert seen and all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in seen)


@pytest.mark.parametrize(
    "token", [TOKEN + "\n", f"  {TOKEN}\r\n"], ids=["newline", "surrounding whitespace"]
)
def test_a_token_read_with_a_newline_is_trimmed(token: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return ok_store()

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://s/v1/")
    HttpDriver("http://s", token=token, client=client).store_info(STORE)
    assert seen == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("token", ["sct_two words", "sct_bad\nline", "sct_ünïcode", "sct_\x00nul"])
def test_a_token_that_cannot_be_sent_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(UsageError) as err:
        HttpDriver("http://127.0.0.1:9", token=token)
    assert "STORECFG_TOKEN" in err.value.message
    assert token.strip() not in err.value.message
    assert "sct_" not in err.value.message


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORECFG_TOKEN", TOKEN)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return ok_store()

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://s/v1/")
    driver = HttpDriver("http://s", client=client)
    driver.store_info(STORE)
    assert seen == [f"Bearer {TOKEN}"]
    assert TOKEN not in driver.url and TOKEN not in repr(vars(driver.retry))


def test_a_store_url_with_a_prefix_and_a_transport() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"items": [], "next_page_token": None})

    driver = HttpDriver(
        "https://stores.example.com/api/",
        token=TOKEN,
        transport=httpx.MockTransport(handler),
    )
    assert driver.url == "https://stores.example.com/api"
    assert driver.list_page("my store", "skus", limit=7) == ([], None)
    assert seen == ["https://stores.example.com/api/v1/stores/my%20store/skus?limit=7"]


def test_credentials_in_the_store_url_are_refused_without_showing_them() -> None:
    with pytest.raises(UsageError) as err:
        HttpDriver("https://ci:hunter2@stores.example.com/api", token=TOKEN)
    assert "STORECFG_TOKEN" in err.value.message
    assert "https://stores.example.com/api" in err.value.message
    assert "hunter2" not in err.value.message
