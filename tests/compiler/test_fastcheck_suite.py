"""fastcheck answers as JSON Schema 2020-12 does, case by case of the JSON-Schema-Test-Suite.

Every case whose schema fastcheck compiles must get the suite's answer, valid or invalid
(fastcheck is exact for what it claims, not only "never valid when jsonschema says
invalid"). A case is skipped only when its schema uses something fastcheck explicitly
delegates to jsonschema; that list is pinned here, so it cannot grow unnoticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from storecfg.spec import fastcheck
from storecfg.spec.validation import _validator_class

SUITE = Path(__file__).resolve().parents[1] / "data" / "json-schema-test-suite" / "draft2020-12"

#: what fastcheck may leave to jsonschema (keywords, and two kinds of $ref)
EXPECTED_DELEGATED = {
    "allOf",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "prefixItems",
    "contains",
    "minContains",
    "maxContains",
    "patternProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minProperties",
    "maxProperties",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "$id",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$vocabulary",
    "$ref to another document",
    "$ref cycle",
    "pattern that Python's re cannot compile",
}

#: the keywords fastcheck claims: each has its case file here
CLAIMED_FILES = {
    "type",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "oneOf",
    "anyOf",
    "not",
    "ref",
    "defs",
}


# Suite groups no validator built on Python's `re` can answer: Unicode property escapes
# (`\p{Letter}`) do not compile there. None of storecfg's schemas uses one.
BEYOND_PYTHON_RE = {"pattern with Unicode property escape requires unicode mode"}


def _groups() -> list[Any]:
    out = []
    for path in sorted(SUITE.glob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            marks = []
            if group["description"] in BEYOND_PYTHON_RE:
                marks.append(
                    pytest.mark.xfail(raises=re.error, strict=True, reason="needs \\p{...} in re")
                )
            out.append(pytest.param(group, id=f"{path.stem}: {group['description']}", marks=marks))
    return out


def test_the_delegated_list_is_the_expected_one() -> None:
    assert set(fastcheck.DELEGATED) == EXPECTED_DELEGATED
    assert not fastcheck.DELEGATED & fastcheck.CHECKED


def test_every_claimed_keyword_has_its_case_file() -> None:
    present = {p.stem for p in SUITE.glob("*.json")}
    assert present >= CLAIMED_FILES
    assert {k for k in fastcheck.CHECKED if k != "$defs"} <= {
        "$ref" if f == "ref" else f for f in CLAIMED_FILES
    }


@pytest.mark.parametrize("group", _groups())
def test_fastcheck_answers_as_the_suite(group: dict[str, Any]) -> None:
    try:
        check = fastcheck.compile_schema(group["schema"])
    except fastcheck.Unsupported as exc:
        assert exc.keyword in fastcheck.DELEGATED, (
            f"{exc.keyword!r} is neither checked nor delegated"
        )
        # what the compiler does with a schema fastcheck leaves alone: jsonschema decides
        check = _validator_class()(group["schema"]).is_valid
    for case in group["tests"]:
        assert check(case["data"]) is case["valid"], case["description"]


@pytest.mark.parametrize("group", _groups())
def test_the_suite_agrees_with_our_jsonschema_validator(group: dict[str, Any]) -> None:
    """The oracle of the other fastcheck tests (our pattern semantics included) gives the
    suite's answers too."""
    validator = _validator_class()(group["schema"])
    for case in group["tests"]:
        assert validator.is_valid(case["data"]) is case["valid"], case["description"]
