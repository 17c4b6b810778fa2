"""Diagnostics for CI: GitHub workflow commands and SARIF 2.1.0 for code scanning.

Rendered from diagnostics as `validate --json` prints them (with `file` already
relative to the repository root): nothing here reads files or the environment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ..escape import escape

#: GitHub shows at most this many annotations of each type (error, warning) per step
GITHUB_ANNOTATIONS_PER_TYPE = 10

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
#: the name of storecfg's own fingerprint in `partialFingerprints`
FINGERPRINT_KEY = "storecfgDiagnostic/v1"


def _visible(value: str) -> str:
    """Control characters as visible escapes (they could rewrite a log line)."""
    return escape(value)


def escape_data(value: str) -> str:
    """The message of a workflow command, escaped as GitHub's runner unescapes it; other
    control characters are shown as escapes."""
    return escape(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(value: str) -> str:
    """A property value (file=, title=) of a workflow command."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _message(d: dict[str, Any]) -> str:
    address = d.get("address")
    prefix = f"{address}: " if address and address != "-" else ""
    return f"{prefix}{d.get('message', '')}"


def github_commands(diagnostics: Sequence[dict[str, Any]]) -> list[str]:
    """One `::error` or `::warning` command per diagnostic, then a summary line."""
    lines = []
    for d in diagnostics:
        kind = "warning" if d.get("severity") == "warning" else "error"
        props = []
        if d.get("file"):
            props.append(f"file={escape_property(str(d['file']))}")
        if d.get("line"):
            props.append(f"line={int(d['line'])}")
            if d.get("column"):
                props.append(f"col={int(d['column'])}")
        props.append(f"title={escape_property(str(d.get('code', 'storecfg')))}")
        lines.append(f"::{kind} {','.join(props)}::{escape_data(_message(d))}")
    lines.append(github_summary(diagnostics))
    return lines


def github_summary(diagnostics: Sequence[dict[str, Any]]) -> str:
    errors = sum(1 for d in diagnostics if d.get("severity") != "warning")
    warnings = len(diagnostics) - errors
    if not diagnostics:
        return "storecfg validate: no errors, no warnings."
    counts = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
    line = f"storecfg validate: {counts}."
    if max(errors, warnings) > GITHUB_ANNOTATIONS_PER_TYPE:
        line += (
            f" GitHub shows only the first {GITHUB_ANNOTATIONS_PER_TYPE} annotations of each type "
            "in a step; `storecfg validate` (or `--format sarif` for code scanning) lists them all."
        )
    return line


# ------------------------------------------------------------------ SARIF


def _rule_name(title: str) -> str:
    """ "reference does not resolve" -> "ReferenceDoesNotResolve" (SARIF rule names are
    identifiers)."""
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", title))


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/")


def fingerprint(d: dict[str, Any], ordinal: int) -> str:
    """Stable across runs and line moves: the code, the file, the resource address and
    the field (not the line or the wording); `ordinal` tells apart repeats of the same."""
    key = "\0".join(str(d.get(k, "")) for k in ("code", "file", "address", "path")) + f"\0{ordinal}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif_log(
    diagnostics: Sequence[dict[str, Any]],
    rules: Sequence[tuple[str, str, str, str]],
    *,
    version: str,
    root_uri: str | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run. `rules` are (code, title, severity, help text) for
    every code storecfg has, so a code scanning alert always finds its help."""
    index = {code: i for i, (code, _, _, _) in enumerate(rules)}
    sarif_rules = [
        {
            "id": code,
            "name": _rule_name(title),
            "shortDescription": {"text": title},
            "fullDescription": {"text": help_text},
            "help": {
                "text": help_text,
                "markdown": f"**{code}: {title}**\n\n{help_text}\n\n"
                "See the diagnostic codes in storecfg's docs/reference.md.",
            },
            "defaultConfiguration": {"level": "warning" if severity == "warning" else "error"},
            "properties": {"tags": ["storecfg", "store-definition"]},
        }
        for code, title, severity, help_text in rules
    ]
    results = []
    seen: dict[tuple[str, ...], int] = {}
    for d in diagnostics:
        key = tuple(str(d.get(k, "")) for k in ("code", "file", "address", "path"))
        ordinal = seen.get(key, 0)
        seen[key] = ordinal + 1
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(str(d.get("file", ""))), "uriBaseId": "%SRCROOT%"}
            }
        }
        if d.get("line"):
            region = {"startLine": int(d["line"])}
            if d.get("column"):
                region["startColumn"] = int(d["column"])
            location["physicalLocation"]["region"] = region
        if d.get("address") and d["address"] != "-":
            location["logicalLocations"] = [
                {"fullyQualifiedName": str(d["address"]), "kind": "resource"}
            ]
        result: dict[str, Any] = {
            "ruleId": d.get("code"),
            "level": "warning" if d.get("severity") == "warning" else "error",
            "message": {"text": _visible(_message(d))},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(d, ordinal)},
        }
        if d.get("code") in index:
            result["ruleIndex"] = index[d["code"]]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "storecfg",
                "version": version,
                "semanticVersion": version,
                "rules": sarif_rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if root_uri:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": root_uri}}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
