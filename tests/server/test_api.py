"""The store API of SPEC section 3, in-process: every endpoint and status code."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from store.asgi import asgi_client
from store.samples import DIAGNOSTIC_FIELDS, plan, sku, terms
from storecfg.model import KINDS
from storecfg.server.app import MAX_BODY, create_app
from storecfg.store.storage import Storage

STORE = "shop"
OTHER = "rival"


class Api:
    def __init__(self, tmp_path: Path, **app_options: Any) -> None:
        self.storage = Storage(tmp_path / "server.db")
        self.token = self.storage.create_token(STORE)
        self.other_token = self.storage.create_token(OTHER)
        self.app = create_app(self.storage, **app_options)
        self.anon = asgi_client(self.app)
        self.client = asgi_client(self.app, headers={"Authorization": f"Bearer {self.token}"})
        self.rival = asgi_client(self.app, headers={"Authorization": f"Bearer {self.other_token}"})

    def url(self, *parts: str) -> str:
        return "/v1/stores/" + "/".join((STORE, *parts))

    def create(self, kind: str, rid: str, spec: dict[str, Any], **headers: str) -> httpx.Response:
        return self.client.put(
            self.url(kind, rid), json={"spec": spec}, headers={"If-None-Match": "*", **headers}
        )

    def revision(self) -> int:
        return int(self.client.get(self.url()).json()["revision"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    a = Api(tmp_path)
    yield a
    a.storage.close()


def assert_error(
    response: httpx.Response, status: int, error: str, fragment: str = ""
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert fragment in body["message"]
    return body


# ---------------------------------------------------------------- health and the API document


def test_healthz_needs_no_token(api: Api) -> None:
    response = api.anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_openapi_json_is_one_self_contained_openapi_3_1_document(api: Api) -> None:
    response = api.anon.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    refs = set(_refs(doc))
    assert refs, "the document should use references"
    external = sorted(r for r in refs if not r.startswith("#/"))
    assert external == []
    for ref in refs:
        _resolve(doc, ref)  # every reference points at something in the document
    assert not {"$schema", "$id"} & set(_keys(doc))  # no file identities left behind
    for kind in KINDS:
        assert f"/v1/stores/{{store}}/{kind}" in doc["paths"]
        assert set(doc["paths"][f"/v1/stores/{{store}}/{kind}/{{id}}"]) >= {"get", "put", "delete"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_bundled_schemas_describe_what_the_api_returns(api: Api) -> None:
    doc = api.anon.get("/openapi.json").json()
    api.create("skus", "o365-e1", sku())
    api.create("service_plans", "p", plan())

    def check(instance: Any, name: str) -> None:
        schema = {**doc, "$ref": f"#/components/schemas/{name}"}
        jsonschema.Draft202012Validator(schema).validate(instance)

    check(api.client.get(api.url("service_plans", "p")).json(), "service_plans_item")
    for item in api.client.get(api.url("skus")).json()["items"]:
        check(item, "skus_item")
    check(api.client.get(api.url()).json(), "Store")
    with pytest.raises(jsonschema.ValidationError):
        check({"id": "p", "spec": {"name": "no sku"}, "revision": 1}, "service_plans_item")


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Bearer sct_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "sct_no-scheme"},
    ],
    ids=["none", "empty", "blank", "unknown", "basic", "no scheme"],
)
def test_401_without_a_valid_token(api: Api, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/v1/stores"),
        ("GET", api.url()),
        ("GET", api.url("skus")),
        ("PUT", api.url("skus", "a")),
        ("POST", api.url("lock")),
    ]:
        response = api.anon.request(method, path, headers=headers, json={"spec": sku("a")})
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.storage.store_info(STORE).revision == 0
    assert api.storage.get_lock(STORE) is None


def test_403_with_another_stores_token_and_nothing_written(api: Api) -> None:
    api.create("skus", "a", sku("a"))
    api.client.post(api.url("lock"), json={"owner": {"user": "alice"}})
    before = api.client.get(api.url()).json()
    lock_before = api.client.get(api.url("lock")).json()

    attempts = [
        ("GET", api.url(), {}, None),
        ("GET", api.url("settings"), {}, None),
        ("GET", api.url("skus"), {}, None),
        ("GET", api.url("skus", "a"), {}, None),
        ("PUT", api.url("skus", "a"), {"If-Match": "1"}, {"spec": sku("a", name="Hijacked")}),
        ("PUT", api.url("skus", "b"), {"If-None-Match": "*"}, {"spec": sku("b")}),
        ("PUT", api.url("skus", "c"), {}, {"spec": sku("c")}),
        ("DELETE", api.url("skus", "a"), {}, None),
        ("PUT", api.url("settings"), {"If-Match": "*"}, {"spec": {"name": "Hijacked"}}),
        ("POST", api.url("lock"), {}, {"owner": {"user": "mallory"}}),
        ("DELETE", api.url("lock"), {}, None),
        ("GET", api.url("lock"), {}, None),
    ]
    for method, path, headers, body in attempts:
        response = api.rival.request(method, path, headers=headers, json=body)
        assert_error(response, 403, "forbidden", f"not valid for store {STORE}")

    assert api.client.get(api.url()).json() == before
    assert api.client.get(api.url("skus", "a")).json()["spec"]["name"] == "SKU a"
    assert api.client.get(api.url("skus")).json()["items"][0]["id"] == "a"
    assert len(api.client.get(api.url("skus")).json()["items"]) == 1
    assert api.client.get(api.url("lock")).json() == lock_before
    assert api.storage.store_info(OTHER).revision == 0  # nor in the rival's own store


def test_list_stores_shows_the_tokens_store(api: Api) -> None:
    api.create("skus", "a", sku("a"))
    assert api.client.get("/v1/stores").json() == {"items": [{"id": STORE, "revision": 1}]}
    assert api.rival.get("/v1/stores").json() == {"items": [{"id": OTHER, "revision": 0}]}


# ---------------------------------------------------------------- resources


def test_create_read_update_delete_with_etags(api: Api) -> None:
    created = api.create("skus", "a", sku("a"))
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.json() == {
        "id": "a",
        "spec": {
            "id": "a",
            "name": "SKU a",
            "vendor": "Microsoft",
            "source": "distributor",
            "enabled": True,
        },
        "revision": 1,
    }

    got = api.client.get(api.url("skus", "a"))
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    assert got.json() == created.json()

    updated = api.client.put(
        api.url("skus", "a"),
        json={"spec": sku("a", name="A2")},
        headers={"If-Match": got.headers["ETag"]},
    )
    assert updated.status_code == 200
    assert updated.headers["ETag"] == '"2"'
    assert updated.json()["spec"]["name"] == "A2"

    weak = api.client.put(
        api.url("skus", "a"), json=sku("a", name="A3"), headers={"If-Match": 'W/"2"'}
    )
    assert (weak.status_code, weak.headers["ETag"]) == (200, '"3"')

    assert api.client.get(api.url()).json()["revision"] == 3
    deleted = api.client.delete(api.url("skus", "a"), headers={"If-Match": '"3"'})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(api.client.get(api.url("skus", "a")), 404, "not_found", "does not exist")
    assert_error(api.client.delete(api.url("skus", "a")), 404, "not_found")
    assert api.revision() == 4


def test_put_body_may_be_the_bare_spec(api: Api) -> None:
    bare = api.client.put(api.url("terms", "t1"), json=terms(), headers={"If-None-Match": "*"})
    wrapped = api.create("terms", "t2", terms())
    assert (bare.status_code, wrapped.status_code) == (201, 201)
    assert {**bare.json()["spec"], "id": "t2"} == wrapped.json()["spec"]


def test_412_on_precondition_mismatch(api: Api) -> None:
    api.create("skus", "a", sku("a"))
    body = assert_error(
        api.create("skus", "a", sku("a")), 412, "precondition_failed", "already exists"
    )
    assert body["current_revision"] == 1
    for etag in ('"9"', "9", 'W/"9"'):
        response = api.client.put(
            api.url("skus", "a"), json=sku("a", name="X"), headers={"If-Match": etag}
        )
        assert assert_error(response, 412, "precondition_failed")["current_revision"] == 1
    response = api.client.put(api.url("skus", "zz"), json=sku("zz"), headers={"If-Match": '"1"'})
    assert assert_error(response, 412, "precondition_failed")["current_revision"] is None
    response = api.client.delete(api.url("skus", "a"), headers={"If-Match": '"2"'})
    assert assert_error(response, 412, "precondition_failed")["current_revision"] == 1
    assert api.client.get(api.url("skus", "a")).json()["spec"]["name"] == "SKU a"
    assert api.revision() == 1


def test_428_without_a_precondition(api: Api) -> None:
    response = api.client.put(api.url("skus", "a"), json={"spec": sku("a")})
    assert_error(response, 428, "precondition_required", "If-None-Match: *")
    assert api.revision() == 0


def test_idempotent_writes(api: Api) -> None:
    key = {"Idempotency-Key": "apply-1/skus.a/create"}
    first = api.create("skus", "a", sku("a"), **key)
    again = api.create("skus", "a", sku("a"), **key)
    assert (again.status_code, again.json(), again.headers["ETag"]) == (
        first.status_code,
        first.json(),
        first.headers["ETag"],
    )
    assert api.revision() == 1
    other = api.create("skus", "a", sku("a", name="Different"), **key)
    assert_error(other, 422, "unprocessable", "Idempotency-Key")
    delete_key = {"Idempotency-Key": "apply-1/skus.a/delete"}
    assert api.client.delete(api.url("skus", "a"), headers=delete_key).status_code == 204
    assert api.client.delete(api.url("skus", "a"), headers=delete_key).status_code == 204
    assert api.revision() == 2
    # the rival may use the same key for its own store
    theirs = api.rival.put(
        f"/v1/stores/{OTHER}/skus/a", json=sku("a"), headers={"If-None-Match": "*", **key}
    )
    assert theirs.status_code == 201


def test_422_with_the_diagnostics_validate_prints(api: Api) -> None:
    response = api.create(
        "skus", "o365-e1", {"name": "x", "vendr": "Microsoft", "source": "distributor"}
    )
    body = assert_error(response, 422, "unprocessable", "skus.o365-e1 is invalid (2 problems)")
    assert all(set(d) == DIAGNOSTIC_FIELDS for d in body["diagnostics"])
    assert {(d["code"], d["address"], d["path"], d["message"]) for d in body["diagnostics"]} == {
        ("SC302", "skus.o365-e1", "$", "missing required field 'vendor'"),
        ("SC301", "skus.o365-e1.vendr", "$.vendr", "unknown field 'vendr'; did you mean 'vendor'?"),
    }
    assert {d["file"] for d in body["diagnostics"]} == {"<request>"}
    assert api.revision() == 0


def test_stored_specs_are_normalized(api: Api) -> None:
    api.create("skus", "o365-e1", sku())
    response = api.create("service_plans", "p", plan(recurring="8"))
    spec = response.json()["spec"]
    assert spec["price"] == {"setup": "0.00", "recurring": "8.00", "effective": "immediately"}
    assert (spec["published"], spec["auto_renew"]) == (True, True)
    assert api.client.get(api.url("service_plans", "p")).json()["spec"] == spec


def test_new_domain_fields_are_stored_normalized(api: Api) -> None:
    api.create("skus", "o365-e1", sku())
    fields = [{"id": "tenant", "label": "Tenant", "type": "domain", "pattern": "[a-z]+"}]
    rules = {"max_quantity_per_order": 1, "early_termination": {"fee": "fixed", "amount": "50"}}
    created = api.create(
        "service_plans",
        "p",
        plan(
            order_fields=fields, rules=rules, price={"recurring": "8", "effective": "next_renewal"}
        ),
    )
    assert created.status_code == 201, created.text
    spec = created.json()["spec"]
    assert spec["order_fields"] == [{**fields[0], "required": False}]
    assert spec["rules"]["early_termination"] == {"fee": "fixed", "amount": "50.00"}
    assert spec["price"]["effective"] == "next_renewal"
    method = {
        "type": "ach",
        "regions": ["US"],
        "eligibility": {"payment_terms": ["net30"], "customer_types": ["business"]},
    }
    assert api.create("payment_methods", "ach", method).status_code == 201
    rule = api.create("tax_rules", "ca-qc", {"region": "CA-QC", "rate": "9.975", "stacks": True})
    assert rule.json()["spec"]["stacks"] is True
    # everything referred to exists, as a store that checks references needs
    api.create("screens", "pay", {"type": "payment", "title": "Pay"})
    api.create("screens", "done", {"type": "checkout", "title": "Done"})
    category = {"name": "Storage", "type": "services", "plans": ["p"]}
    assert api.create("sales_categories", "storage", category).status_code == 201
    scenario = {"screens": ["pay", "done"], "applies_to": {"sales_categories": ["storage"]}}
    assert api.create("purchase_scenarios", "storage", scenario).status_code == 201
    scoped = terms(applies_to={"plans": ["p"]})
    assert api.create("terms", "storage-terms", scoped).json()["spec"]["applies_to"] == {
        "plans": ["p"]
    }


@pytest.mark.parametrize(
    ("kind", "spec", "code", "path"),
    [
        (
            "service_plans",
            plan(order_fields=[{"id": "t", "label": "T", "type": "text", "pattern": "[a-"}]),
            "SC024",
            "$.order_fields[0].pattern",
        ),
        (
            "service_plans",
            plan(rules={"early_termination": {"fee": "fixed"}}),
            "SC026",
            "$.rules.early_termination",
        ),
        ("tax_rules", {"region": "CA", "rate": "5", "stacks": True}, "SC027", "$.stacks"),
        (
            "payment_methods",
            {"type": "ach", "regions": ["US"], "eligibility": {"payment_terms": ["prepaid"]}},
            "SC028",
            "$.eligibility.payment_terms[0]",
        ),
        (
            "purchase_scenarios",
            {"screens": ["done"], "default": True, "applies_to": {"sales_categories": ["x"]}},
            "SC009",
            "$.applies_to",
        ),
        ("terms", terms(applies_to={}), "SC304", "$.applies_to"),
        (
            "payment_methods",
            {"type": "ach", "regions": ["US"], "eligibility": {"payment_terms": ["net-30"]}},
            "SC304",
            "$.eligibility.payment_terms[0]",
        ),
    ],
)
def test_the_rules_of_one_resource_are_checked_on_write(
    api: Api, kind: str, spec: dict[str, Any], code: str, path: str
) -> None:
    response = api.create(kind, "x", spec)
    body = assert_error(response, 422, "unprocessable")
    assert [(d["code"], d["path"]) for d in body["diagnostics"]] == [(code, path)]
    assert api.revision() == 0


@pytest.mark.parametrize(
    ("content", "status", "error"),
    [
        (b"{not json", 400, "bad_request"),
        (b'{"spec": NaN}', 400, "bad_request"),
        (b"\xff\xfe", 400, "bad_request"),
        (b"", 422, "unprocessable"),
        (b"[1, 2]", 422, "unprocessable"),
        (b'"just a string"', 422, "unprocessable"),
    ],
)
def test_bad_bodies(api: Api, content: bytes, status: int, error: str) -> None:
    response = api.client.put(
        api.url("skus", "a"),
        content=content,
        headers={"If-None-Match": "*", "Content-Type": "application/json"},
    )
    assert_error(response, status, error)
    assert api.revision() == 0


def test_413_for_a_body_over_1_mib(api: Api) -> None:
    big = {"spec": sku("a", description="x" * (MAX_BODY + 10))}
    response = api.client.put(api.url("skus", "a"), json=big, headers={"If-None-Match": "*"})
    assert_error(response, 413, "too_large")
    response = api.client.put(api.url("settings"), json=big, headers={"If-Match": "0"})
    assert_error(response, 413, "too_large")
    assert api.revision() == 0


def _raw_asgi(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, bytes]:
    """One request straight into the ASGI app, the body in chunks (no Content-Length)."""

    async def run() -> tuple[int, bytes]:
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], body

    return asyncio.run(run())


def test_413_for_a_streamed_body_without_content_length(api: Api) -> None:
    chunk = b" " * (256 * 1024)
    status, body = _raw_asgi(
        api.app,
        "PUT",
        api.url("skus", "a"),
        [(b"authorization", f"Bearer {api.token}".encode()), (b"if-none-match", b"*")],
        [b'{"spec": ', *([chunk] * 5), b"}"],
    )
    assert status == 413
    assert json.loads(body)["error"] == "too_large"
    assert api.revision() == 0


def test_a_streamed_body_under_the_limit_is_read_whole(api: Api) -> None:
    payload = json.dumps({"spec": sku("a")}).encode()
    status, body = _raw_asgi(
        api.app,
        "PUT",
        api.url("skus", "a"),
        [(b"authorization", f"Bearer {api.token}".encode()), (b"if-none-match", b"*")],
        [payload[:10], payload[10:20], payload[20:]],
    )
    assert status == 201, body
    assert json.loads(body)["spec"]["name"] == "SKU a"


def test_unknown_kind_is_404_with_a_suggestion(api: Api) -> None:
    for response in (
        api.client.get(api.url("sku")),
        api.client.get(api.url("service_plan", "p")),
        api.client.put(api.url("sku", "a"), json=sku("a"), headers={"If-None-Match": "*"}),
        api.client.delete(api.url("term", "t")),
    ):
        body = assert_error(response, 404, "not_found", "unknown resource kind")
        assert "did you mean '" in body["message"]
    assert "did you mean 'skus'?" in api.client.get(api.url("sku")).json()["message"]
    assert api.revision() == 0


def test_unknown_paths_and_methods_answer_json(api: Api) -> None:
    assert_error(api.client.get("/v2/nothing"), 404, "not_found")
    response = api.client.post(api.url("skus", "a"), json={})
    assert_error(response, 405, "method_not_allowed")
    assert "PUT" in response.headers["Allow"]


# ---------------------------------------------------------------- lists and pages


def test_listing_pages_returns_every_item_once(api: Api) -> None:
    ids = [f"t{i:02d}" for i in range(11)]
    for rid in reversed(ids):
        assert api.create("terms", rid, terms()).status_code == 201
    for limit in (1, 4, 1000):
        seen: list[str] = []
        token = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if token:
                params["page_token"] = token
            body = api.client.get(api.url("terms"), params=params).json()
            assert set(body) == {"items", "next_page_token"}
            assert all(set(i) == {"id", "spec", "revision", "hash"} for i in body["items"])
            seen += [i["id"] for i in body["items"]]
            token = body["next_page_token"]
            if token is None:
                break
        assert seen == ids
    default = api.client.get(api.url("terms")).json()
    assert len(default["items"]) == 11 and default["next_page_token"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"page_token": "bogus"},
        {"limit": "abc"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "1.5"},
    ],
)
def test_bad_list_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    assert_error(api.client.get(api.url("terms"), params=params), 400, "bad_request")


def test_a_page_token_of_another_kind_is_400(api: Api) -> None:
    for rid in ("a", "b"):
        api.create("terms", rid, terms())
    token = api.client.get(api.url("terms"), params={"limit": 1}).json()["next_page_token"]
    assert token
    assert_error(
        api.client.get(api.url("skus"), params={"page_token": token}),
        400,
        "bad_request",
        "page_token",
    )


# ---------------------------------------------------------------- store and settings


def test_store_revision_and_settings(api: Api) -> None:
    assert api.client.get(api.url()).json() == {
        "id": STORE,
        "revision": 0,
        "settings": {
            "id": STORE,
            "name": STORE,
            "currency": "USD",
            "locales": ["en-US"],
            "prices_include_tax": False,
        },
        "settings_revision": 0,
    }
    got = api.client.get(api.url("settings"))
    assert (got.status_code, got.headers["ETag"], got.json()["id"]) == (200, '"0"', "settings")

    new = {"name": "Shop", "currency": "EUR", "locales": ["de-DE"]}
    assert_error(
        api.client.put(api.url("settings"), json={"spec": new}), 428, "precondition_required"
    )
    put = api.client.put(
        api.url("settings"), json={"spec": new}, headers={"If-Match": got.headers["ETag"]}
    )
    assert (put.status_code, put.headers["ETag"]) == (200, '"1"')
    assert put.json()["spec"] == {**new, "id": STORE, "prices_include_tax": False}
    stale = api.client.put(api.url("settings"), json={"spec": new}, headers={"If-Match": '"0"'})
    assert assert_error(stale, 412, "precondition_failed")["current_revision"] == 1
    bad = api.client.put(
        api.url("settings"), json={"spec": {**new, "currency": "XYZ"}}, headers={"If-Match": "1"}
    )
    assert assert_error(bad, 422, "unprocessable")["diagnostics"][0]["code"] == "SC018"
    assert api.client.get(api.url()).json()["revision"] == 1


# ---------------------------------------------------------------- the lock


def test_the_apply_lock(api: Api) -> None:
    assert_error(api.client.get(api.url("lock")), 404, "not_found", "not locked")
    owner = {"user": "alice", "host": "ci", "pid": 7}
    taken = api.client.post(api.url("lock"), json={"owner": owner, "ttl_seconds": 60})
    assert taken.status_code == 201
    lock = taken.json()
    assert set(lock) == {"lock_id", "owner", "acquired_at", "expires_at"}
    assert lock["owner"] == owner
    assert api.client.get(api.url("lock")).json() == lock

    held = api.client.post(api.url("lock"), json={"owner": {"user": "bob"}})
    body = assert_error(held, 423, "locked", "alice@ci (pid 7)")
    assert body["lock"]["lock_id"] == lock["lock_id"]
    assert body["lock"]["owner"] == owner

    renewed = api.client.post(
        api.url("lock"), json={"lock_id": lock["lock_id"], "ttl_seconds": 600}
    )
    assert renewed.status_code == 200
    assert renewed.json()["lock_id"] == lock["lock_id"]
    assert renewed.json()["expires_at"] > lock["expires_at"]

    wrong = api.client.delete(api.url("lock"), params={"lock_id": "nope"})
    assert assert_error(wrong, 423, "locked")["lock"]["lock_id"] == lock["lock_id"]
    assert (
        api.client.delete(api.url("lock"), params={"lock_id": lock["lock_id"]}).status_code == 204
    )
    assert_error(api.client.get(api.url("lock")), 404, "not_found")
    assert_error(api.client.delete(api.url("lock"), params={"force": "true"}), 404, "not_found")
    gone = api.client.post(api.url("lock"), json={"lock_id": lock["lock_id"]})
    assert_error(gone, 409, "conflict", "no longer held")

    # no body at all takes the lock with the default TTL
    assert api.client.post(api.url("lock")).status_code == 201
    assert api.client.delete(api.url("lock"), params={"force": "true"}).status_code == 204
    blank = api.client.post(
        api.url("lock"), content=b" \n", headers={"Content-Type": "application/json"}
    )
    assert blank.status_code == 201
    assert api.client.delete(api.url("lock"), params={"force": "true"}).status_code == 204
    null_id = api.client.post(api.url("lock"), json={"owner": owner, "lock_id": None})
    assert null_id.status_code == 201  # null lock_id: take a new lock
    released = api.client.delete(api.url("lock"), params={"lock_id": null_id.json()["lock_id"]})
    assert released.status_code == 204
    assert api.revision() == 0  # locks are not writes to the store


@pytest.mark.parametrize(
    "body",
    [
        None,  # a JSON null is not "no body"
        [1, 2],
        {"ttl_seconds": "60"},
        {"ttl_seconds": True},
        {"ttl_seconds": 0.5},
        {"ttl_seconds": 3601},
        {"owner": "alice"},
        {"lock_id": 5},
        {"lock_id": ""},
    ],
)
def test_bad_lock_requests_are_400(api: Api, body: Any) -> None:
    response = api.client.post(
        api.url("lock"),
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "bad_request")
    assert api.storage.get_lock(STORE) is None


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({}, {"lock_id": ""}),
        ({"force": "true"}, {"lock_id": ""}),
        ({"lock_id": ""}, None),
        ({"lock_id": "", "force": "true"}, None),
        ({"lock_id": ""}, {"lock_id": "x"}),
        ({"lock_id": "x", "force": "true"}, {"lock_id": ""}),
    ],
    ids=["body", "body-force", "query", "query-force", "query-and-body", "body-and-query"],
)
def test_an_empty_lock_id_releases_nothing_and_is_400(
    api: Api, params: dict[str, str], body: Any
) -> None:
    """An empty lock_id names no lock: a malformed request, never a release of
    whichever lock is held, and not a 423 about another lock."""
    lock = api.client.post(api.url("lock"), json={"owner": {"user": "alice"}}).json()
    content = json.dumps(body).encode() if body is not None else b""
    response = api.client.request(
        "DELETE",
        api.url("lock"),
        params=params,
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "bad_request", "non-empty")
    held = api.storage.get_lock(STORE)
    assert held is not None and held.lock_id == lock["lock_id"]


# ---------------------------------------------------------------- rate limits, logs, internal errors


def test_429_with_retry_after_over_the_rate_limit(tmp_path: Path) -> None:
    api = Api(tmp_path, rate_limit=2)
    statuses = [api.client.get(api.url()).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    assert statuses[2] == 429
    response = api.client.get(api.url())
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    # a write over the limit changes nothing
    assert api.create("skus", "a", sku("a")).status_code == 429
    assert api.storage.store_info(STORE).revision == 0
    # every token has its own budget
    assert api.rival.get(f"/v1/stores/{OTHER}").status_code == 200


def test_no_rate_limit_by_default(api: Api) -> None:
    assert {api.client.get(api.url()).status_code for _ in range(50)} == {200}


def test_the_access_log_names_requests_but_never_the_token(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storecfg.server")
    api.create("skus", "a", sku("a"))
    api.client.get(api.url("skus"), params={"limit": 5})
    api.anon.get(api.url(), headers={"Authorization": f"Bearer {api.token}x"})
    lines = [r.getMessage() for r in caplog.records if r.name == "storecfg.server"]
    assert any(line.startswith(f"PUT /v1/stores/{STORE}/skus/a 201 ") for line in lines), lines
    assert any(line.startswith(f"GET /v1/stores/{STORE}/skus 200 ") for line in lines), lines
    assert any(line.startswith(f"GET /v1/stores/{STORE} 401 ") for line in lines), lines
    assert all(api.token not in line and api.token[4:] not in line for line in lines)


def test_an_internal_error_is_a_plain_500(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*a: Any, **kw: Any) -> Any:
        raise RuntimeError("secret internals /var/lib/thing")

    monkeypatch.setattr(api.storage, "get", boom)
    caplog.set_level(logging.INFO, logger="storecfg.server")
    response = api.client.get(api.url("skus", "a"))
    assert response.status_code == 500
    assert response.json() == {"error": "error", "message": "internal server error"}
    assert "secret internals" not in response.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "internal error on GET" in logged
    assert api.token not in logged


def test_head_is_safe_everywhere(api: Api) -> None:
    api.create("skus", "a", sku("a"))
    for path in (
        api.url(),
        api.url("settings"),
        api.url("lock"),
        api.url("skus"),
        api.url("skus", "a"),
    ):
        response = api.client.head(path, headers={"If-Match": "*", "If-None-Match": "*"})
        assert response.status_code in (200, 404), path
        assert response.content == b""
    head = api.client.head(api.url("skus", "a"))
    assert (head.status_code, head.headers["ETag"]) == (200, '"1"')
    assert api.storage.get_lock(STORE) is None  # HEAD /lock took no lock
    assert api.revision() == 1


def test_a_path_cannot_forge_access_log_lines(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="storecfg.server")
    forged = "/v1/stores/shop/skus/a%0A2026-01-01 INFO GET /v1/stores/shop 200 1.0ms"
    api.client.get(forged)
    lines = [r.getMessage() for r in caplog.records if r.name == "storecfg.server"]
    assert len(lines) == 1
    assert "\n" not in lines[0]
    assert lines[0].startswith("GET /v1/stores/shop/skus/a%0A2026-01-01%20INFO%20GET")
    assert lines[0].endswith("ms") and " 404 " in lines[0]
