"""The store API's wire format (SPEC section 3), in one place for the server, the HTTP
driver and the storage engine that both sit on.

- ETags: a revision, quoted (`"42"`); `W/"42"` and `42` are read the same.
- Page tokens: opaque, URL-safe, bound to what they page (a kind, `snapshots` …).
- Request bodies of a PUT: the spec itself, or `{"spec", "id"?, "revision"?, "source"?}`.
- Batches: what a body of operations may hold, and each operation's result.
- Errors: `{"error": SLUG, "message", ...}`, with one table of slugs by status, and
  the errors of the API that have their own class (428, 422 with diagnostics, 409 for
  a dangling reference).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ..errors import ConflictError, StoreError
from ..model import ID_PATTERN, KINDS, LiveResource
from .records import WriteResult
from .values import INT64_MAX, INT64_MIN, INT64_RANGE, SOURCE_RULE, valid_source

MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_BATCH = 1000

#: the `error` of an error body, by HTTP status
SLUGS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    422: "unprocessable",
    423: "locked",
    428: "precondition_required",
    429: "rate_limited",
    503: "unavailable",
}
#: what an error body may carry beside error and message (from StoreError.details)
ERROR_DETAILS = ("lock", "current_revision", "references", "referring", "missing")

_ID = re.compile(ID_PATTERN)
_ENVELOPE = frozenset({"id", "spec", "revision", "source"})
_OP_KEYS = frozenset(
    {"op", "kind", "id", "spec", "if_match", "if_none_match", "idempotency_key", "group", "source"}
)


class PreconditionRequired(StoreError):
    """A write without the precondition it needs (428)."""


class InvalidSpec(StoreError):
    """A spec the store refuses (422), with the same diagnostics as `validate`."""


class DanglingReference(StoreError):
    """A write would leave a reference dangling (409)."""


# ---------------------------------------------------------------- errors


def slug(status: int) -> str:
    return SLUGS.get(status, "error")


def error_json(exc: StoreError) -> dict[str, Any]:
    """The error body for a StoreError."""
    body: dict[str, Any] = {
        "error": "dangling_reference" if isinstance(exc, DanglingReference) else slug(exc.status),
        "message": exc.message,
    }
    if exc.diagnostics:
        body["diagnostics"] = exc.diagnostics
    for key in ERROR_DETAILS:
        if key in exc.details:
            body[key] = exc.details[key]
    return body


# ---------------------------------------------------------------- ETags, resources


def etag(revision: int) -> str:
    return f'"{revision}"'


def parse_etag(value: str | None, header: str = "If-Match") -> str | None:
    """`"42"`, `W/"42"`, `42` -> `42`; `*` stays `*`; an empty value is a 400."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value:
        raise StoreError(f"{header} is empty: send a revision (the ETag) or *", 400)
    return value


def put_preconditions(
    if_match: str | None, if_none_match: str | None
) -> tuple[str | None, str | None]:
    """A PUT's If-Match and If-None-Match, read; 428 when it has neither."""
    if_match = parse_etag(if_match)
    if_none_match = parse_etag(if_none_match, "If-None-Match")
    if if_match is None and if_none_match is None:
        raise PreconditionRequired(
            "PUT needs If-None-Match: * to create or If-Match: REVISION to update", 428
        )
    if if_none_match is not None and if_none_match != "*":
        raise StoreError("If-None-Match accepts only *", 400)
    return if_match, if_none_match


def revision_text(value: Any) -> str | None:
    """A batch operation's if_match (a string or an integer) as a header would carry it."""
    return None if value is None else str(value)


def resource_json(res: LiveResource) -> dict[str, Any]:
    """A resource as GET and PUT answer it: id, spec, revision (and its source file)."""
    out: dict[str, Any] = {"id": res.id, "spec": res.spec, "revision": res.revision}
    if res.source is not None:
        out["source"] = res.source
    return out


def unwrap(body: Any) -> Any:
    """A PUT body is the spec itself or {"spec": SPEC} (optionally with id, revision
    and source).

    No resource has a field called `spec`, so a body with one is the wrapper, and
    anything else beside it is refused by name rather than read as a bare spec."""
    if isinstance(body, dict) and "spec" in body:
        unknown = sorted(str(k) for k in body if k not in _ENVELOPE)
        if unknown:
            names = ", ".join(json.dumps(k) for k in unknown)
            raise StoreError(
                f"unknown field{'s' if len(unknown) > 1 else ''} {names} in the request body; "
                'it is {"spec": SPEC}, optionally with "id", "revision" and "source"',
                400,
            )
        if not isinstance(body.get("id", ""), str):
            raise StoreError('"id" beside the spec must be a string', 400)
        revision = body.get("revision", 0)
        if isinstance(revision, bool) or not isinstance(revision, int):
            raise StoreError('"revision" beside the spec must be an integer', 400)
        if not INT64_MIN <= revision <= INT64_MAX:
            raise StoreError(f'"revision" beside the spec is outside {INT64_RANGE}', 400)
        return body["spec"]
    return body


def source_of(body: Any, given: Any) -> str | None:
    """The definition file a write names ({"spec", "source"} or a batch operation's
    "source"); None keeps what the store recorded before. A `source` that is there is a
    path (null is refused, as in a batch)."""
    if isinstance(body, dict) and "spec" in body and set(body) <= _ENVELOPE and "source" in body:
        given = body["source"]
        if given is None:
            raise StoreError(SOURCE_RULE.format(where="source"), 400)
    if given is None:
        return None
    if not valid_source(given):
        raise StoreError(SOURCE_RULE.format(where="source"), 400)
    assert isinstance(given, str)
    return given


# ---------------------------------------------------------------- page tokens


def apply_update_body(status: str | None, writes_done: int | None) -> dict[str, Any]:
    """The body of `PATCH .../applies/{id}`: only the fields that change."""
    body: dict[str, Any] = {}
    if status is not None:
        body["status"] = status
    if writes_done is not None:
        body["writes_done"] = writes_done
    return body


def encode_page_token(what: str, after: str) -> str:
    raw = json.dumps({"k": what, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(what: str, token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data["k"] != what or not isinstance(data["a"], str):
            raise ValueError
        return str(data["a"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise StoreError("invalid page_token", 400) from None


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise StoreError(f"limit must be between 1 and {MAX_PAGE}, not {limit}", 400)


# ---------------------------------------------------------------- batches


def _revision_tag(tag: Any) -> bool:
    """A batch's if_match: a revision as a non-empty string or a 64-bit integer."""
    if type(tag) is int:
        return INT64_MIN <= tag <= INT64_MAX
    return type(tag) is str and bool(tag.strip())


def check_batch(operations: Any) -> list[dict[str, Any]]:
    """The operations of a batch body, each checked for its shape (400 naming the first
    one that is wrong); what they write is checked as each is done."""
    if not isinstance(operations, list) or not operations:
        raise StoreError("operations must be a non-empty list", 400)
    if len(operations) > MAX_BATCH:
        raise StoreError(
            f"a batch holds at most {MAX_BATCH} operations, got {len(operations)}", 400
        )
    closed: set[str] = set()  # groups that ended: a group's writes are consecutive
    last_group: str | None = None
    for i, op in enumerate(operations):
        where = f"operations[{i}]"
        if not isinstance(op, dict):
            raise StoreError(f"{where} must be an object", 400)
        unknown = set(op) - _OP_KEYS
        if unknown:
            raise StoreError(f"{where} has unknown fields: {', '.join(sorted(unknown))}", 400)
        if op.get("op") not in ("put", "delete"):
            raise StoreError(f"{where}.op must be put or delete", 400)
        if op.get("kind") not in KINDS:
            raise StoreError(f"{where}.kind must be one of {', '.join(KINDS)}", 400)
        if not isinstance(op.get("id"), str) or not _ID.fullmatch(op["id"]):
            raise StoreError(f"{where}.id must be a resource ID", 400)
        if op["op"] == "put" and "spec" not in op:
            raise StoreError(f"{where}.spec is required for put", 400)
        if "spec" in op and not isinstance(op["spec"], dict):
            raise StoreError(f"{where}.spec must be an object", 400)
        if "if_match" in op and not _revision_tag(op["if_match"]):
            raise StoreError(f"{where}.if_match must be a revision", 400)
        if "if_none_match" in op and op["if_none_match"] != "*":
            raise StoreError(f"{where}.if_none_match accepts only *", 400)
        if "source" in op and not valid_source(op["source"]):
            raise StoreError(SOURCE_RULE.format(where=f"{where}.source"), 400)
        if "idempotency_key" in op:
            key = op["idempotency_key"]
            if not isinstance(key, str) or not key.strip() or len(key) > 255:
                raise StoreError(f"{where}.idempotency_key must be 1 to 255 characters", 400)
        if "group" in op:
            group = op["group"]
            if not isinstance(group, str) or not group or len(group) > 255:
                raise StoreError(f"{where}.group must be 1 to 255 characters", 400)
            if group in closed:
                raise StoreError(
                    f"{where}.group {group!r} was used by earlier operations that are not "
                    "next to this one: the writes of a group are consecutive",
                    400,
                )
        previous = op.get("group")
        if last_group is not None and previous != last_group:
            closed.add(last_group)
        last_group = previous
    return operations


def written_result(status: int, res: LiveResource) -> dict[str, Any]:
    """A put's result: no spec echoed back (the caller sent it; big batches stay small)."""
    return {"status": status, "item": {"id": res.id, "revision": res.revision, "hash": res.hash}}


def failed_result(exc: StoreError) -> dict[str, Any]:
    """The result of the write that failed (the batch stops there)."""
    error: dict[str, Any] = {"error": slug(exc.status), "message": exc.message}
    if exc.diagnostics:
        error["diagnostics"] = exc.diagnostics
    if "current_revision" in exc.details:
        error["current_revision"] = exc.details["current_revision"]
    return {"status": exc.status or 500, "error": error}


def not_attempted_result() -> dict[str, Any]:
    return {
        "status": 0,
        "error": {"error": "not_attempted", "message": "not attempted: an earlier write failed"},
    }


def group_rolled_back_result(failed: int, group: str) -> dict[str, Any]:
    """A write undone because a later write of its group (`operations[failed]`) failed."""
    return {
        "status": 424,
        "error": {
            "error": "rolled_back",
            "message": f"rolled back: operations[{failed}] of the same group ({group}) failed",
        },
    }


def dangling_result(exc: DanglingReference) -> dict[str, Any]:
    """The write to blame when the batch as a whole would leave a reference dangling."""
    return {
        "status": 409,
        "error": {"error": "dangling_reference", "message": exc.message, **exc.details},
    }


def undone_result() -> dict[str, Any]:
    """A write undone with the whole batch, for another write's dangling reference."""
    return {
        "status": 0,
        "error": {
            "error": "rolled_back",
            "message": "rolled back: the batch as a whole would leave a reference dangling",
        },
    }


def results_from_json(raw: list[dict[str, Any]], where: str) -> list[WriteResult]:
    """Batch results as the store API answers them -> WriteResults with typed errors."""
    out: list[WriteResult] = []
    for result in raw:
        status = int(result.get("status", 0))
        if "error" in result or status == 0 or status >= 300:
            # a failure, even one a store reports without an "error" object
            raw_error = result.get("error")
            error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
            default = "not attempted" if status == 0 else f"write failed (status {status})"
            message = str(error.get("message") or default)
            cls = ConflictError if status == 412 else StoreError
            out.append(
                WriteResult(
                    status,
                    error=cls(
                        message,
                        status,
                        diagnostics=list(error.get("diagnostics") or []),
                        details=error,
                    ),
                )
            )
        elif "item" in result:
            data = result["item"]
            out.append(
                WriteResult(
                    status,
                    item=LiveResource(
                        dict(data.get("spec") or {}),
                        int(data["revision"]),
                        str(data.get("hash") or ""),
                        id=str(data["id"]),
                    ),
                )
            )
        else:
            out.append(WriteResult(status))
    if not out:
        raise StoreError(f"{where}: the store answered a batch with no results", 502)
    return out
