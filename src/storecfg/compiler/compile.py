"""Compile a store directory into a normalized DesiredState, or precise diagnostics.

store.yaml -> vars (+ --var-file, --var) -> render store.yaml -> includes (globs
confined to the store directory) -> load + render each file -> schema per resource ->
normalize -> semantic rules. Every problem becomes a Diagnostic with file:line:col and
address; all of them are collected before the run fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import (
    ERROR,
    Diagnostic,
    SourceLocation,
    UsageError,
    clipped,
    display_path,
    quoted,
)
from ..model import ID_PATTERN, KINDS, DesiredState, canonical_json
from ..policy import Policy
from ..spec import rules
from ..spec.iso import CURRENCY_DIGITS
from ..spec.issues import Issue, diagnostic
from ..spec.normalize import normalize
from ..spec.paths import format_address, path_suffix
from ..spec.suggest import did_you_mean
from ..spec.validation import validate_resource, validate_store_file
from . import workers
from .fingerprint import tool_fingerprint
from .includes import Includes, Tree
from .load import Loaded, load_bytes, load_file, read_source
from .positions import TemplateSite, find_templates, position_of
from .render import make_renderer, render_templates
from .result import CompileResult, Unit, find_store_file
from .targets import target_hint, var_file_issues
from .variables import parse_var_overrides

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

    from .sandbox.renderer import TemplateRenderer

#: codes after which a file's resources are missing from the compile
_UNREADABLE = frozenset(
    {"SC101", "SC102", "SC103", "SC104", "SC105", "SC106", "SC109", "SC110", "SC112", "SC113"}
)
_ID = re.compile(ID_PATTERN)


class _Compiler:
    def __init__(
        self,
        store_file: Path,
        var_files: Sequence[Path],
        var_overrides: dict[str, Any],
        unit_cache: dict[str, Any] | None = None,
        overlay: Mapping[str, bytes] | None = None,
    ) -> None:
        #: file contents to read instead of the files' (by real path): a definition as
        #: it would be after edits, compiled before anything is written
        self.overlay = overlay
        #: store.yaml as named; it must not link outside its directory
        self.given_store_file = store_file.absolute()
        self.store_file = Path(os.path.realpath(store_file))
        #: earlier results per included file (see `Unit.to_cache`); None: no cache
        self.unit_cache = unit_cache
        self.units: list[Unit] = []
        self.incomplete = False
        self._reloaded: dict[str, Any] = {}
        self.root_dir = self.store_file.parent
        self.var_files = var_files
        self.var_overrides = var_overrides
        self.diags: list[Diagnostic] = []
        self.variables: dict[str, Any] = {}
        self.digits = 2
        self.files: list[str] = []
        self._renderer: TemplateRenderer | None = None
        #: (file, path) of values whose template failed: no second error for them
        self.failed: set[tuple[str, tuple[Any, ...]]] = set()
        self.inputs: list[str] = []
        self.digests: dict[str, str] = {}
        self.globs: list[tuple[str, list[str]]] = []
        self.store_id: str | None = None
        #: store.yaml's targets mapping, as written
        self.targets: Any = None
        self._walk: Tree | None = None
        self._pool: Pool | None = None

    def diag(
        self,
        code: str,
        file: str,
        pos: tuple[int, int] | None,
        message: str,
        address: str = "-",
        path: tuple[Any, ...] = (),
    ) -> None:
        self.diags.append(diagnostic(Issue(code, path, message), file, pos, address))

    def _report(self, root: Any, shown: str, issue: Issue) -> None:
        """An issue of store.yaml outside its resources, at its place in `root`."""
        path = issue.path
        address = format_address(str(path[0]), None, path[1:]) if path else "-"
        pos = position_of(root, path, key=issue.at_key)
        self.diags.append(diagnostic(issue, shown, pos, address))

    # -------------------------------------------------------------- stages

    def run(self) -> CompileResult:
        root_display = display_path(str(self.store_file))
        self.files.append(root_display)
        home = os.path.realpath(self.given_store_file.parent)
        if os.path.commonpath([home, str(self.store_file)]) != home:
            shown = display_path(str(self.given_store_file))
            self.diag(
                "SC107",
                shown,
                (1, 1),
                f"{self.given_store_file.name} links to {root_display}, outside the store "
                "directory; copy the file into the directory instead",
            )
            self.files[0] = shown
            return self._result(None)
        root, root_sites = self._load(self.store_file, root_display)
        self.targets = root.get("targets") if isinstance(root, dict) else None
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
        before_vars = len(self.diags)
        self._collect_vars(root, root_display)
        if any(d.severity == ERROR for d in self.diags[before_vars:]):
            # templates would only repeat "undefined variable" for what a broken var file holds
            return self._result(None)
        # the store settings first: the currency decides how `money` rounds elsewhere
        # vars and targets are read as written: they decide what the templates see
        root_sites = [s for s in root_sites if not (s.path and s.path[0] in ("vars", "targets"))]
        self._render([s for s in root_sites if s.path[0] == "store"], root_display, root)
        settings = root.get("store") if isinstance(root.get("store"), dict) else None
        store_id = settings.get("id") if settings else None
        if isinstance(store_id, str) and _ID.fullmatch(store_id):
            self.store_id = store_id
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
            if (root_display, issue.path) not in self.failed:
                self._report(root, root_display, issue)
        policy = Policy.from_json(root.get("policy"))
        self._check_policy(root, root_display, policy)
        # a malformed targets mapping or target is reported once, by the schema
        if not any(i.path[:1] == ("targets",) and len(i.path) <= 2 for i in store_issues):
            self._check_targets(root, root_display)
        self.units = [self._unit(root_display, str(self.store_file), root, "")]
        context = self._context_key()
        reads = []
        for path in self._includes(root, root_display):
            shown = display_path(str(path))
            self.files.append(shown)
            reads.append((path, shown, *self._read(path, shown)))
        checked = self._check_in_workers(reads, context)
        try:
            for path, shown, raw, loaded in reads:
                unit = self._include(path, shown, context, raw, loaded, checked.get(shown))
                if unit is not None:
                    self.units.append(unit)
        finally:
            if self._pool is not None:
                self._pool.terminate()
                self._pool.join()
                self._pool = None
        specs, known, raws = self._merge(self.units)
        # a file that could not be read leaves its resources unknown: checking references
        # and other cross-resource rules would only report its absence again
        self.incomplete = any(d.code in _UNREADABLE for d in self.diags)
        normalized_settings = (
            normalize("store", settings, self.digits) if settings and not store_issues else None
        )
        self._rules(specs, known, raws, normalized_settings, policy)
        if self._has_errors() or normalized_settings is None:
            return self._result(None)
        sources = {f"{kind}.{rid}": raws[(kind, rid)][1] for kind in specs for rid in specs[kind]}
        desired = DesiredState(
            normalized_settings,
            {k: specs[k] for k in KINDS if specs.get(k)},
            sources,
            policy=policy.to_json(),
            root=str(self.root_dir),
            files=[_relative(u.real, self.root_dir) for u in self.units],
        )
        return self._result(desired)

    def _result(self, desired: DesiredState | None) -> CompileResult:
        self._hint_targets()
        result = CompileResult(
            desired, self.diags, self.files, self.inputs, self.digests, self.globs
        )
        result.store_id = self.store_id
        return result

    def _hint_targets(self) -> None:
        """Undefined variables, compiled without a target: say how to choose one."""
        if not any(d.code == "SC201" for d in self.diags):
            return
        hint = target_hint(self.targets, self.root_dir, self.var_files)
        if hint:
            self.diags[:] = [
                dataclasses.replace(d, message=clipped(d.message + hint))
                if d.code == "SC201"
                else d
                for d in self.diags
            ]

    def _check_targets(self, root: dict[str, Any], shown: str) -> None:
        """Every var file a target names exists inside the store directory (SC114)."""
        for issue in var_file_issues(self.root_dir, root.get("targets")):
            self._report(root, shown, issue)

    def _has_errors(self) -> bool:
        return any(d.severity == ERROR for d in self.diags)

    def _read(self, path: Path, shown: str) -> tuple[bytes | None, Loaded]:
        """A file's bytes, noted as an input with the hash of what was read."""
        real = str(path.resolve())
        self.inputs.append(real)
        raw: bytes | None
        if self.overlay is not None and real in self.overlay:
            raw, loaded = self.overlay[real], Loaded(shown)
        else:
            raw, loaded = read_source(path, shown)
        if raw is not None:
            self.digests[real] = hashlib.sha256(raw).hexdigest()
        return raw, loaded

    def _load_file(self, path: Path, shown: str) -> Loaded:
        raw, loaded = self._read(path, shown)
        return loaded if raw is None else load_bytes(raw, shown, loaded)

    def _load(self, path: Path, shown: str) -> tuple[Any, list[TemplateSite]]:
        """A file's data and its template strings (None when it could not be read)."""
        loaded = self._load_file(path, shown)
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
            loaded = self._load_file(var_file, vf_shown)
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

    def _get_renderer(self) -> TemplateRenderer:
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
            if isinstance(rid, str) and _ID.fullmatch(rid) and path[2:] != ("id",):
                return format_address(kind, rid, path[2:])
            return format_address(kind, f"[{index}]", path[2:]).replace(".[", "[")
        return format_address(str(path[0]), None, path[1:]) if path else "-"

    def _includes(self, root: dict[str, Any], shown: str) -> list[Path]:
        patterns = root.get("include")
        if not isinstance(patterns, list):
            return []
        skip = {i for i in range(len(patterns)) if (shown, ("include", i)) in self.failed}
        found = Includes(self.root_dir, self.store_file, self._tree)
        files = found.expand(patterns, skip)
        self.globs.extend(found.globs)
        for issue in found.issues:
            self._report(root, shown, issue)
        return files

    def _tree(self) -> Tree:
        """The listings of the store directory, shared by every include pattern."""
        if self._walk is None:
            self._walk = Tree(str(self.root_dir), display_path)
        return self._walk

    def _context_key(self) -> str:
        """What, besides a file's bytes, decides how it compiles."""
        text = canonical_json([tool_fingerprint(), self.digits, self.variables])
        return hashlib.sha256(text.encode()).hexdigest()

    def _include(
        self,
        path: Path,
        shown: str,
        context: str,
        raw: bytes | None,
        loaded: Loaded,
        checked: AsyncResult[workers.Checked] | None = None,
    ) -> Unit | None:
        """One included file as a Unit: from the cache when its bytes and context are
        unchanged, else loaded, rendered and checked (here, or by a worker process)."""
        if raw is None:
            self.diags.extend(loaded.diagnostics)
            return None
        real = str(path.resolve())
        digest = self.digests[real]
        if checked is not None:
            found = checked.get()
            if found is not None:  # None: the file holds templates, checked here below
                unit, diags = found
                self.diags.extend(diags)
                return unit
        else:
            cached = self.unit_cache.get(real) if self.unit_cache is not None else None
            if (
                cached is not None
                and cached.get("hash") == digest
                and cached.get("context") == context
            ):
                with contextlib.suppress(KeyError, TypeError, ValueError):  # damaged: parse
                    return Unit.from_cache(shown, real, cached)
        return self.check_file(shown, real, load_bytes(raw, shown, loaded), digest, context)

    def check_file(
        self, shown: str, real: str, loaded: Loaded, digest: str, context: str
    ) -> Unit | None:
        """Render and check one parsed included file (diagnostics into `self.diags`)."""
        self.diags.extend(loaded.diagnostics)
        if loaded.data is None:
            return None
        data = loaded.data
        self._render(find_templates(data) if loaded.copied else loaded.templates, shown, data)
        before = len(self.diags)
        unit = self._unit(shown, real, data, digest)
        # the positioned YAML is dropped now (memory stays flat in big stores); the rare
        # diagnostic that needs a position in this file reads it again (`_raw`)
        unit.data = None
        unit.cacheable = (
            not loaded.diagnostics
            and len(self.diags) == before
            and not any(f == shown for f, _ in self.failed)
        )
        unit.context = context
        return unit

    def _check_in_workers(
        self, reads: list[tuple[Path, str, bytes | None, Loaded]], context: str
    ) -> dict[str, AsyncResult[workers.Checked]]:
        """Start checking the files that are not in the cache in worker processes, when
        there are enough of them to pay for starting the workers.

        Workers are forked from this process, so they share this compile's state as it
        is now; each checks whole files, and the results are merged in file order, so
        units and diagnostics come out exactly as from a compile in one process. Files
        with templates are rendered here (one sandbox counts every template)."""
        todo: list[tuple[str, str, bytes, str]] = []
        for path, shown, raw, _ in reads:
            if raw is None or b"{{" in raw or b"{%" in raw:
                continue
            real = str(path.resolve())
            digest = self.digests[real]
            cached = self.unit_cache.get(real) if self.unit_cache is not None else None
            if (
                cached is not None
                and cached.get("hash") == digest
                and cached.get("context") == context
            ):
                continue
            todo.append((shown, real, raw, digest))
        pool, started = workers.start(self, todo, context)
        self._pool = pool
        return started

    def _unit(self, shown: str, real: str, data: Any, digest: str = "") -> Unit:
        """Check one file's resources on their own: structure, IDs, schema, normalization."""
        unit = Unit(shown, real, digest)
        unit.data = data
        is_root = shown == self.files[0]
        if not isinstance(data, dict):
            self.diag(
                "SC303",
                shown,
                (1, 1),
                "an included file must be a mapping of resource kinds "
                "(service_plans, skus, ...) to lists",
            )
            return unit
        digits = self.digits
        for kind, items in data.items():
            if kind not in KINDS:
                if not is_root:
                    self.diag(
                        "SC301",
                        shown,
                        position_of(data, (kind,), key=True),
                        f"unknown resource kind {quoted(kind)}{did_you_mean(kind, KINDS)}",
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
                pos = position_of(data, (kind, index)) or (0, 0)
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
                valid_id = isinstance(rid, str) and _ID.fullmatch(rid) is not None
                label = f"{kind}.{rid}" if valid_id else f"{kind}[{index}]"
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
                        else label + path_suffix(issue.path),
                        issue.path,
                    )
                if valid_id:
                    assert isinstance(rid, str)
                    spec = None if issues else normalize(kind, raw, digits)
                    unit.items.append((kind, rid, index, pos[0], pos[1], spec))
        return unit

    def _merge(
        self, units: list[Unit]
    ) -> tuple[
        dict[str, dict[str, dict[str, Any]]],
        dict[str, set[str]],
        dict[tuple[str, str], tuple[Unit, SourceLocation, int]],
    ]:
        """All files together: duplicate IDs (the first definition counts), known IDs."""
        specs: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        known: dict[str, set[str]] = {k: set() for k in KINDS}
        where: dict[tuple[str, str], tuple[Unit, SourceLocation, int]] = {}
        for unit in units:
            for kind, rid, index, line, col, spec in unit.items:
                first = where.get((kind, rid))
                if first is not None:
                    raw = self._raw(unit, kind, index)
                    self.diag(
                        "SC012",
                        unit.file,
                        position_of(raw, ("id",)) or (line, col),
                        f"{kind}.{rid} is already defined at {first[1].file}:{first[1].line}",
                        f"{kind}.{rid}",
                        ("id",),
                    )
                    continue
                known[kind].add(rid)
                where[(kind, rid)] = (unit, SourceLocation(unit.file, line, col), index)
                if spec is not None:
                    specs[kind][rid] = spec
        return specs, known, where

    def _raw(self, unit: Unit, kind: str, index: int) -> Any:
        """The positioned YAML of one resource; a file answered from the cache is read
        again, only when a diagnostic needs a position inside it."""
        data = unit.data
        if data is None:
            data = self._reloaded.get(unit.real)
            if data is None:
                loaded = load_file(Path(unit.real), unit.file)
                data = loaded.data
                if data is not None and loaded.templates:
                    self._render(loaded.templates, unit.file, data)
                self._reloaded[unit.real] = data
        try:
            return data[kind][index]
        except (KeyError, IndexError, TypeError):
            return None

    def _check_policy(self, root: dict[str, Any], shown: str, policy: Policy) -> None:
        """SC402: an unmanaged pattern that can never match (the schema checks its shape)."""
        patterns = root["policy"].get("unmanaged") if isinstance(root.get("policy"), dict) else None
        if not isinstance(patterns, list):
            return
        for i, pattern in enumerate(patterns):
            if not isinstance(pattern, str):
                continue
            kind = pattern.partition(".")[0]
            if kind in KINDS or not re.fullmatch("[a-z_]+", kind):
                continue  # a bad shape is the schema's SC304
            path = ("policy", "unmanaged", i)
            self.diag(
                "SC402",
                shown,
                position_of(root, path),
                f"unknown resource kind {kind!r} in pattern {pattern!r}{did_you_mean(kind, KINDS)}",
                format_address("policy", None, path[1:]),
                path,
            )

    def _unmanaged_defined(
        self,
        where: dict[tuple[str, str], tuple[Unit, SourceLocation, int]],
        policy: Policy,
    ) -> None:
        """SC401: a resource is either defined here or not managed here, never both."""
        for (kind, rid), (unit, location, index) in where.items():
            pattern = policy.unmanaged_pattern(kind, rid)
            if pattern is None:
                continue
            raw = self._raw(unit, kind, index)
            self.diag(
                "SC401",
                location.file,
                position_of(raw, ("id",)) if raw is not None else (location.line, location.column),
                f"{kind}.{rid} matches the policy.unmanaged pattern {pattern!r} in store.yaml: "
                "a resource is either defined here or not managed here. Remove the resource, "
                "or narrow the pattern",
                f"{kind}.{rid}",
                ("id",),
            )

    def _rules(
        self,
        specs: dict[str, dict[str, dict[str, Any]]],
        known: dict[str, set[str]],
        where: dict[tuple[str, str], tuple[Unit, SourceLocation, int]],
        settings: dict[str, Any] | None,
        policy: Policy,
    ) -> None:
        if policy.unmanaged:
            self._unmanaged_defined(where, policy)
        external = policy.unmanaged_pattern if policy.unmanaged else None
        for finding in rules.check(
            specs, known, settings, single_resource=self.incomplete, external=external
        ):
            unit, location, index = where[(finding.kind, finding.id)]
            raw = self._raw(unit, finding.kind, index)
            pos = position_of(raw, finding.path) if raw is not None else None
            self.diag(
                finding.code,
                location.file,
                pos or (location.line, location.column),
                finding.message,
                format_address(finding.kind, finding.id, finding.path),
                finding.path,
            )


def _relative(real: str, root: Path) -> str:
    """A file of the definition relative to the store directory, with forward slashes."""
    return os.path.relpath(real, root).replace(os.sep, "/")


def compile_store(
    target: Path,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    unit_cache: dict[str, Any] | None = None,
    overlay: Mapping[str, bytes] | None = None,
) -> CompileResult:
    """Compile the store definition in `target` (a directory or its store.yaml).

    `unit_cache` maps an included file's absolute path to what an earlier compile
    learned from it; files whose bytes and context are unchanged are not parsed again.
    `overlay` maps real paths to contents read instead of those files' own.
    """
    store_file = find_store_file(target)
    overrides = parse_var_overrides(var_overrides, var_json)
    for vf in var_files:
        if not vf.is_file():
            raise UsageError(f"--var-file {display_path(str(vf))}: no such file")
    compiler = _Compiler(store_file, var_files, overrides, unit_cache, overlay)
    result = compiler.run()
    result.units = [u for u in compiler.units[1:] if u.cacheable]
    result.root_items = [list(i) for i in compiler.units[0].items] if compiler.units else []
    return result


__all__ = ["compile_store"]
