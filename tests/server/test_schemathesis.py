"""Property-based checks of the store API against its own OpenAPI document.

schemathesis generates requests (valid and invalid) for every operation in
schema/openapi.yaml, sends them to the in-process app with a valid token for the
store in the path, and checks that the server never fails (no 5xx), answers only
with documented status codes, content types and headers, that every response
body matches the document, and that requests the document forbids are refused.
The coverage phase (boundary and invalid values of every parameter) runs in full;
random generation is bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from store.samples import plan, sku, terms
from storecfg.server.app import create_app
from storecfg.store.storage import Storage

STORE = "fuzz"

_dir = tempfile.TemporaryDirectory(prefix="storecfg-schemathesis-")
_storage = Storage(Path(_dir.name) / "server.db")
TOKEN = _storage.create_token(STORE)
# something to find: GETs of these answer 200 with real bodies to check (the SKU the
# plan names first: the store refuses dangling references)
_storage.put(STORE, "skus", "o365-e1", sku(), if_none_match="*")
for _kind, _spec in (("skus", sku("0")), ("service_plans", plan("0")), ("terms", terms("0"))):
    _storage.put(STORE, _kind, "0", _spec, if_none_match="*")
# and history to list: an apply (ID "0", as generated path parameters often are) with its
# snapshot, so list answers hold items whose shape is checked
_storage.start_apply(STORE, {"id": "0", "plan_id": "p", "source": {"user": "fuzz"}})
_storage.create_snapshot(STORE, reason="apply", apply_id="0")

_app = create_app(_storage, access_log=False)
_config = SchemathesisConfig.from_dict(
    # every operation runs against the store the token is for, so handlers do real work
    {
        "parameters": {"path.store": STORE},
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "generation": {"mode": "all"},
        # a PUT without its precondition header is 428 Precondition Required (SPEC section 3)
        "checks": {
            "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]}
        },
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app, config=_config)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    # a method the document does not list is 405 with Allow; a required header left out is 4xx
    unsupported_method,
    allow_header_conformance,
    missing_required_header,
]


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _storage.close()
    _dir.cleanup()


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI failures reproduce locally
    database=None,  # and no .hypothesis/ directory left behind
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)


def test_the_run_covers_every_operation() -> None:
    operations = {
        f"{op.method.upper()} {op.path}"
        for op in (result.ok() for result in schema.get_all_operations())
    }
    # healthz, stores, one store, settings (2), lock (3), batch, 4 per kind, and history:
    # snapshots (3), applies (4), drift (2)
    assert len(operations) == 1 + 1 + 1 + 2 + 3 + 1 + 10 * 4 + 3 + 4 + 2
    assert "PUT /v1/stores/{store}/service_plans/{id}" in operations
    assert "DELETE /v1/stores/{store}/lock" in operations
