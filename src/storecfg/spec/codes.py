"""The stable diagnostic codes: one per kind of problem, documented in docs/reference.md."""

from __future__ import annotations

from typing import NamedTuple

from ..errors import ERROR, WARNING


class Code(NamedTuple):
    code: str
    title: str
    severity: str = ERROR


_ALL = [
    # Semantic rules (SPEC 1.1)
    Code("SC001", "reference does not resolve"),
    Code("SC002", "purchase scenario screen order"),
    Code("SC003", "screen shows a sales category of the wrong type"),
    Code("SC004", "billing period does not divide the subscription period"),
    Code("SC005", "add-on amounts out of order (min <= included <= max)"),
    Code("SC006", "upgrade path forms a cycle"),
    Code("SC007", "overlapping tax rules"),
    Code("SC008", "ACH outside the US"),
    Code("SC009", "default purchase scenario"),
    Code("SC010", "published plan in no sales category", WARNING),
    Code("SC011", "sales category hierarchy"),
    Code("SC012", "duplicate resource ID"),
    Code("SC013", "duplicate add-on ID in a plan"),
    Code("SC014", "screen fields do not fit its type"),
    Code("SC015", "more than one customization"),
    Code("SC016", "unknown region"),
    Code("SC017", "too many decimal places for the currency"),
    Code("SC018", "unknown currency"),
    Code("SC019", "ignore_changes names an unknown field"),
    Code("SC020", "purchase scenario that no sales category leads to", WARNING),
    Code("SC021", "purchase scenario applies_to names a category it cannot take"),
    Code("SC022", "terms with applies_to that no buyer sees", WARNING),
    Code("SC023", "empty services category"),
    Code("SC024", "order field pattern is invalid or does not fit the field"),
    Code("SC025", "duplicate order field ID in a plan"),
    Code("SC026", "early termination fee and amount disagree"),
    Code("SC027", "stacks on a country-wide tax rule"),
    Code("SC028", "ACH offered to prepaid accounts"),
    # Reading files
    Code("SC101", "YAML syntax error"),
    Code("SC102", "duplicate key"),
    Code("SC103", "tab used for indentation"),
    Code("SC104", "alias expansion over the limit"),
    Code("SC105", "file over the size limit"),
    Code("SC106", "nesting over the depth limit"),
    Code("SC107", "include outside the store directory"),
    Code("SC108", "include pattern matches no file", WARNING),
    Code("SC109", "file cannot be read"),
    Code("SC110", "unsupported YAML construct"),
    Code("SC111", "included file does not exist"),
    Code("SC112", "include cannot be searched"),
    Code("SC113", "too many files where the includes look"),
    Code("SC114", "target var file missing or outside the store directory"),
    # Templates
    Code("SC201", "undefined template variable"),
    Code("SC202", "template not allowed by the sandbox"),
    Code("SC203", "template syntax error"),
    Code("SC204", "template output over the size limit"),
    Code("SC205", "bad variable file"),
    Code("SC206", "template over the size limit"),
    # Schema
    Code("SC301", "unknown field"),
    Code("SC302", "missing required field"),
    Code("SC303", "wrong type"),
    Code("SC304", "invalid value"),
    Code("SC305", "invalid amount"),
    Code("SC306", "invalid ID"),
    # The policy block of store.yaml
    Code("SC401", "resource matches a policy.unmanaged pattern"),
    Code("SC402", "policy.unmanaged pattern can never match"),
]

CODES: dict[str, Code] = {c.code: c for c in _ALL}


def severity(code: str) -> str:
    return CODES[code].severity
