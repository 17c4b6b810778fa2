"""Compile a store directory into a normalized DesiredState, or precise diagnostics.

store.yaml -> vars (+ --var-file, --var) -> render store.yaml -> includes (globs
confined to the store directory) -> load + render each file -> schema per resource ->
normalize -> semantic rules. Every problem becomes a Diagnostic with file:line:col and
address; all of them are collected before the run fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ERROR, Diagnostic, SourceLocation, UsageError, display_path
from ..model import ID_PATTERN, KINDS, DesiredState
from . import rules
from .codes import severity
from .iso import CURRENCY_DIGITS
from .load import (
    Loaded,
    PosDict,
    TemplateSite,
    find_templates,
    load_file,
    position_of,
    resolve_plain,
)
from .render import _Renderer, json_path, make_renderer, render_templates
from .schema import did_you_mean, normalize, validate_resource, validate_store_file

STORE_FILE = "store.yaml"
_ID = re.compile(ID_PATTERN)


@dataclass
class CompileResult:
    desired: DesiredState | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: absolute paths of every file read (for the compile cache)
    inputs: list[str] = field(default_factory=list)
    #: (rendered include pattern, absolute paths it matched)
    globs: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


def format_address(kind: str, rid: str | None, path: Iterable[Any] = ()) -> str:
    out = f"{kind}.{rid}" if rid is not None else kind
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def parse_var_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`--var KEY=VALUE` values; VALUE reads like a plain YAML scalar (10 is a number)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise UsageError(f"--var needs KEY=VALUE with KEY a variable name, got {pair!r}")
        try:
            out[key] = resolve_plain(value)
        except ValueError as exc:
            raise UsageError(f"--var {key}: {exc}") from None
    return out


def find_store_file(target: Path) -> Path:
    if target.is_dir():
        candidate = target / STORE_FILE
        if not candidate.is_file():
            raise UsageError(f"{display_path(str(target))}: no {STORE_FILE} in this directory")
        return candidate
    if target.is_file():
        return target
    raise UsageError(f"{display_path(str(target))}: no such directory")


class _Compiler:
    def __init__(
        self, store_file: Path, var_files: Sequence[Path], var_overrides: dict[str, Any]
    ) -> None:
        self.store_file = store_file.resolve()
        self.root_dir = self.store_file.parent
        self.var_files = var_files
        self.var_overrides = var_overrides
        self.diags: list[Diagnostic] = []
        self.variables: dict[str, Any] = {}
        self.digits = 2
        self.files: list[str] = []
        self._renderer: _Renderer | None = None
        #: (file, path) of values whose template failed: no second error for them
        self.failed: set[tuple[str, tuple[Any, ...]]] = set()
        self.inputs: list[str] = []
        self.globs: list[tuple[str, list[str]]] = []

    def diag(
        self,
        code: str,
        file: str,
        pos: tuple[int, int] | None,
        message: str,
        address: str = "-",
        path: tuple[Any, ...] = (),
    ) -> None:
        line, col = pos or (0, 0)
        self.diags.append(
            Diagnostic(
                code,
                message,
                SourceLocation(file, line, col),
                address,
                json_path(path),
                severity(code),
            )
        )

    # -------------------------------------------------------------- stages

    def run(self) -> CompileResult:
        root_display = display_path(str(self.store_file))
        self.files.append(root_display)
        root, root_sites = self._load(self.store_file, root_display)
        if root is None:
            if not self.diags:  # read fine but holds nothing
                self.diag(
                    "SC303",
                    root_display,
                    (1, 1),
                    "store.yaml is empty; it must be a mapping with apiVersion and store",
                )
            return self._result(None)
        if not isinstance(root, dict):
            self.diag(
                "SC303",
                root_display,
                (1, 1),
                "store.yaml must be a mapping with apiVersion and store",
            )
            return self._result(None)
        self._collect_vars(root, root_display)
        # the store settings first: the currency decides how `money` rounds elsewhere
        root_sites = [s for s in root_sites if not (s.path and s.path[0] == "vars")]
        self._render([s for s in root_sites if s.path[0] == "store"], root_display, root)
        settings = root.get("store") if isinstance(root.get("store"), dict) else None
        currency = settings.get("currency") if settings else None
        if isinstance(currency, str) and re.fullmatch("[A-Z]{3}", currency):
            if currency in CURRENCY_DIGITS:
                self.digits = CURRENCY_DIGITS[currency]
            else:
                self.diag(
                    "SC018",
                    root_display,
                    position_of(root, ("store", "currency")),
                    f"{currency} is not an ISO 4217 currency code",
                    "store.currency",
                    ("store", "currency"),
                )
        if self._renderer is not None:
            self._renderer.digits = self.digits
        self._render([s for s in root_sites if s.path[0] != "store"], root_display, root)
        store_issues = validate_store_file(root)
        for issue in store_issues:
            if (root_display, issue.path) in self.failed:
                continue
            address = format_address(issue.path[0], None, issue.path[1:]) if issue.path else "-"
            self.diag(
                issue.code,
                root_display,
                position_of(root, issue.path, key=issue.at_key),
                issue.message,
                address,
                issue.path,
            )
        documents: list[tuple[str, Any]] = [(root_display, root)]
        for path in self._includes(root, root_display):
            shown = display_path(str(path))
            self.files.append(shown)
            data, sites = self._load(path, shown)
            if data is not None:
                self._render(sites, shown, data)
                documents.append((shown, data))
        specs, known, raws = self._resources(documents)
        normalized_settings = (
            normalize("store", settings, self.digits) if settings and not store_issues else None
        )
        self._rules(specs, known, raws, normalized_settings)
        if self._has_errors() or normalized_settings is None:
            return self._result(None)
        sources = {f"{kind}.{rid}": raws[(kind, rid)][1] for kind in specs for rid in specs[kind]}
        desired = DesiredState(
            normalized_settings, {k: specs[k] for k in KINDS if specs.get(k)}, sources
        )
        return self._result(desired)

    def _result(self, desired: DesiredState | None) -> CompileResult:
        return CompileResult(desired, self.diags, self.files, self.inputs, self.globs)

    def _has_errors(self) -> bool:
        return any(d.severity == ERROR for d in self.diags)

    def _load(self, path: Path, shown: str) -> tuple[Any, list[TemplateSite]]:
        """A file's data and its template strings (None when it could not be read)."""
        loaded: Loaded = load_file(path, shown)
        self.inputs.append(str(path.resolve()))
        self.diags.extend(loaded.diagnostics)
        if loaded.data is None:
            return None, []
        return loaded.data, find_templates(loaded.data) if loaded.copied else loaded.templates

    def _collect_vars(self, root: dict[str, Any], shown: str) -> None:
        variables = root.get("vars")
        if isinstance(variables, dict):
            self.variables.update(variables)
        for var_file in self.var_files:
            vf_shown = display_path(str(var_file))
            self.files.append(vf_shown)
            loaded = load_file(var_file, vf_shown)
            self.inputs.append(str(var_file.resolve()))
            self.diags.extend(loaded.diagnostics)
            if loaded.data is None:
                if not loaded.diagnostics:
                    self.diag(
                        "SC205",
                        vf_shown,
                        (1, 1),
                        "var file is empty; it must be a mapping of variables",
                    )
                continue
            if not isinstance(loaded.data, dict):
                self.diag(
                    "SC205",
                    vf_shown,
                    (1, 1),
                    "var file must be a mapping of variable names to values",
                )
                continue
            data = loaded.data.get("vars") if set(loaded.data) == {"vars"} else loaded.data
            if isinstance(data, dict):
                self.variables.update(data)
        self.variables.update(self.var_overrides)

    def _render(self, sites: list[TemplateSite], shown: str, data: Any) -> None:
        if sites:
            failed = render_templates(
                sites,
                shown,
                self._get_renderer,
                lambda path: self._site_address(data, path),
                self.diags,
            )
            self.failed.update((shown, path) for path in failed)

    def _get_renderer(self) -> _Renderer:
        """One sandbox for the whole run, so its limits count every template."""
        if self._renderer is None:
            self._renderer = make_renderer(self.variables, self.digits)
        return self._renderer

    @staticmethod
    def _site_address(data: Any, path: tuple[Any, ...]) -> str:
        if len(path) >= 2 and path[0] in KINDS and isinstance(path[1], int):
            kind, index = path[0], path[1]
            items = data.get(kind) if isinstance(data, dict) else None
            item = items[index] if isinstance(items, list) and index < len(items) else None
            rid = item.get("id") if isinstance(item, dict) else None
            if isinstance(rid, str) and _ID.match(rid) and path[2:] != ("id",):
                return format_address(kind, rid, path[2:])
            return format_address(kind, f"[{index}]", path[2:]).replace(".[", "[")
        return format_address(str(path[0]), None, path[1:]) if path else "-"

    def _includes(self, root: dict[str, Any], shown: str) -> list[Path]:
        patterns = root.get("include")
        if not isinstance(patterns, list):
            return []
        base = os.path.realpath(self.root_dir)
        seen: set[str] = {os.path.realpath(self.store_file)}
        out: list[Path] = []
        for i, pattern in enumerate(patterns):
            pos = position_of(root, ("include", i))
            if (
                not isinstance(pattern, str)
                or not pattern
                or (shown, ("include", i)) in self.failed
            ):
                continue  # the schema or the template error reports it
            parts = Path(pattern).parts
            if (
                Path(pattern).is_absolute()
                or pattern.startswith(("/", "\\"))
                or ".." in parts
                or "~" in pattern[:1]
            ):
                self.diag(
                    "SC107",
                    shown,
                    pos,
                    f"include {pattern!r} leaves the store directory; "
                    "patterns are relative to store.yaml and may not use '..'",
                    f"include[{i}]",
                    ("include", i),
                )
                continue
            try:
                matches = sorted(self.root_dir.glob(pattern))
            except (ValueError, OSError) as exc:
                self.diag(
                    "SC107",
                    shown,
                    pos,
                    f"include {pattern!r} is not a valid pattern: {exc}",
                    f"include[{i}]",
                    ("include", i),
                )
                continue
            found = 0
            self.globs.append((pattern, [str(m.resolve()) for m in matches]))
            for match in matches:
                real = os.path.realpath(match)
                if not match.is_file():
                    continue
                found += 1
                if os.path.commonpath([base, real]) != base:
                    self.diag(
                        "SC107",
                        shown,
                        pos,
                        f"include {pattern!r} matches {display_path(str(match))}, "
                        "which links outside the store directory",
                        f"include[{i}]",
                        ("include", i),
                    )
                    continue
                if real not in seen:
                    seen.add(real)
                    out.append(match)
            if not found:
                self.diag(
                    "SC108",
                    shown,
                    pos,
                    f"include {pattern!r} matches no file",
                    f"include[{i}]",
                    ("include", i),
                )
        return out

    def _resources(
        self, documents: list[tuple[str, Any]]
    ) -> tuple[
        dict[str, dict[str, dict[str, Any]]],
        dict[str, set[str]],
        dict[tuple[str, str], tuple[Any, SourceLocation]],
    ]:
        specs: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        known: dict[str, set[str]] = {k: set() for k in KINDS}
        raws: dict[tuple[str, str], tuple[Any, SourceLocation]] = {}
        digits = self.digits
        for shown, data in documents:
            if data is None:
                continue
            is_root = shown == self.files[0]
            if not isinstance(data, dict):
                self.diag(
                    "SC303",
                    shown,
                    (1, 1),
                    "an included file must be a mapping of resource kinds "
                    "(service_plans, skus, ...) to lists",
                )
                continue
            for kind, items in data.items():
                if kind not in KINDS:
                    if not is_root:
                        self.diag(
                            "SC301",
                            shown,
                            position_of(data, (kind,), key=True),
                            f"unknown resource kind {kind!r}{did_you_mean(kind, KINDS)}",
                            kind,
                            (kind,),
                        )
                    continue
                if items is None:
                    continue
                if not isinstance(items, list):
                    self.diag(
                        "SC303",
                        shown,
                        position_of(data, (kind,)),
                        f"{kind} must be a list of resources",
                        kind,
                        (kind,),
                    )
                    continue
                for index, raw in enumerate(items):
                    pos = position_of(data, (kind, index))
                    if not isinstance(raw, dict):
                        self.diag(
                            "SC303",
                            shown,
                            pos,
                            f"each item of {kind} must be a mapping",
                            f"{kind}[{index}]",
                            (kind, index),
                        )
                        continue
                    rid = raw.get("id")
                    valid_id = isinstance(rid, str) and _ID.match(rid) is not None
                    label = f"{kind}.{rid}" if valid_id else f"{kind}[{index}]"
                    location = SourceLocation(shown, *(pos or (0, 0)))
                    duplicate = False
                    if valid_id:
                        assert isinstance(rid, str)
                        if (kind, rid) in raws:
                            first = raws[(kind, rid)][1]
                            self.diag(
                                "SC012",
                                shown,
                                position_of(raw, ("id",)),
                                f"{kind}.{rid} is already defined at {first.file}:{first.line}",
                                label,
                                ("id",),
                            )
                            duplicate = True  # still checked, but only the first one counts
                        else:
                            known[kind].add(rid)
                            raws[(kind, rid)] = (raw, location)
                    issues = validate_resource(kind, raw)
                    for issue in issues:
                        if (shown, (kind, index, *issue.path)) in self.failed:
                            continue
                        self.diag(
                            issue.code,
                            shown,
                            position_of(raw, issue.path, key=issue.at_key) or pos,
                            issue.message,
                            format_address(kind, rid if valid_id else None, issue.path)
                            if valid_id
                            else label + _suffix(issue.path),
                            issue.path,
                        )
                    if valid_id and not issues and not duplicate:
                        assert isinstance(rid, str)
                        specs[kind][rid] = normalize(kind, raw, digits)
        return specs, known, raws

    def _rules(
        self,
        specs: dict[str, dict[str, dict[str, Any]]],
        known: dict[str, set[str]],
        raws: dict[tuple[str, str], tuple[Any, SourceLocation]],
        settings: dict[str, Any] | None,
    ) -> None:
        for finding in rules.check(specs, known, settings):
            raw, location = raws[(finding.kind, finding.id)]
            pos = position_of(raw, finding.path) or (location.line, location.column)
            self.diag(
                finding.code,
                location.file,
                pos,
                finding.message,
                format_address(finding.kind, finding.id, finding.path),
                finding.path,
            )


def _suffix(path: Iterable[Any]) -> str:
    return format_address("", None, path)


def compile_store(
    target: Path,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
) -> CompileResult:
    """Compile the store definition in `target` (a directory or its store.yaml)."""
    store_file = find_store_file(target)
    overrides = parse_var_overrides(var_overrides)
    for vf in var_files:
        if not vf.is_file():
            raise UsageError(f"--var-file {display_path(str(vf))}: no such file")
    return _Compiler(store_file, var_files, overrides).run()


__all__ = ["CompileResult", "PosDict", "compile_store", "format_address", "parse_var_overrides"]
