"""Compile a store directory into a normalized DesiredState, or precise diagnostics.

store.yaml -> vars (+ --var-file, --var) -> render store.yaml -> includes (globs
confined to the store directory) -> load + render each file -> schema per resource ->
normalize -> semantic rules. Every problem becomes a Diagnostic with file:line:col and
address; all of them are collected before the run fails.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ERROR, Diagnostic, SourceLocation, UsageError, clipped, display_path, quoted
from ..model import ID_PATTERN, KINDS, DesiredState, canonical_json
from ..policy import Policy
from . import rules
from .codes import severity
from .fingerprint import tool_fingerprint
from .includes import IncludeError, PatternError, Tree
from .iso import CURRENCY_DIGITS
from .load import (
    MAX_DEPTH,
    MAX_INT,
    MIN_INT,
    Loaded,
    PosDict,
    TemplateSite,
    find_templates,
    load_bytes,
    load_file,
    position_of,
    read_source,
)
from .render import json_path, make_renderer, render_templates
from .schema import did_you_mean, normalize, validate_resource, validate_store_file

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

    from .sandbox.renderer import TemplateRenderer

STORE_FILE = "store.yaml"
#: codes after which a file's resources are missing from the compile
_UNREADABLE = frozenset(
    {"SC101", "SC102", "SC103", "SC104", "SC105", "SC106", "SC109", "SC110", "SC112", "SC113"}
)
_ID = re.compile(ID_PATTERN)


@dataclass
class CompileResult:
    desired: DesiredState | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: absolute paths of every file read (for the compile cache)
    inputs: list[str] = field(default_factory=list)
    #: sha256 of each input's bytes as compiled (the cache records these)
    digests: dict[str, str] = field(default_factory=dict)
    #: (rendered include pattern, absolute paths it matched)
    globs: list[tuple[str, list[str]]] = field(default_factory=list)
    #: included files whose results may be reused by the next compile
    units: list[Unit] = field(default_factory=list)
    #: the resources written in store.yaml itself, as Unit items
    root_items: list[Any] = field(default_factory=list)
    #: store.id as store.yaml sets it, when it could be read (also when the compile failed)
    store_id: str | None = None

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


def _split_var(option: str, form: str, pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise UsageError(f"{option} needs {form} with KEY a variable name, got {quoted(pair)}")
    return key, value


def parse_var_overrides(pairs: Sequence[str], json_pairs: Sequence[str] = ()) -> dict[str, Any]:
    """`--var KEY=VALUE` values, always strings (as Terraform's -var: `9.50` stays "9.50"),
    and `--var-json KEY=JSON` values, typed. A later value of a key wins; a key given
    with both options is an error."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, value = _split_var("--var", "KEY=VALUE", pair)
        out[key] = value
    typed: dict[str, Any] = {}
    for pair in json_pairs:
        key, text = _split_var("--var-json", "KEY=JSON", pair)
        if key in out:
            raise UsageError(f"variable {key} is set with both --var and --var-json; set it once")
        typed[key] = _json_var(key, text)
    out.update(typed)
    return out


def _json_var(key: str, text: str) -> Any:
    """One --var-json value: JSON, with whole numbers in the 64-bit range and at most
    the nesting YAML files may have."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except RecursionError:
        raise UsageError(f"--var-json {key}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        where = f" at character {exc.pos + 1}" if isinstance(exc, json.JSONDecodeError) else ""
        raise UsageError(
            f"--var-json {key}: not JSON ({reason}{where}); a string needs double quotes, "
            f"or use --var {key}=VALUE"
        ) from None
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise UsageError(f"--var-json {key}: nested deeper than {MAX_DEPTH} levels")
            todo.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and not MIN_INT <= item <= MAX_INT:
            raise UsageError(
                f"--var-json {key}: whole number {quoted(str(item))} is outside "
                f"{MIN_INT:,} to {MAX_INT:,}"
            )
        elif isinstance(item, float) and not math.isfinite(item):
            raise UsageError(f"--var-json {key}: number is too large")
    return value


def find_store_file(target: Path) -> Path:
    if target.is_dir():
        candidate = target / STORE_FILE
        if not candidate.is_file():
            raise UsageError(f"{target}: no {STORE_FILE} in this directory")
        return candidate
    if target.is_file():
        return target
    raise UsageError(f"{target}: no such directory")


@dataclass
class Unit:
    """One file's resources, checked on their own (the part of a compile that can be
    reused while the file's bytes, the variables and the tool stay the same)."""

    file: str
    real: str
    hash: str
    #: (kind, id, index in the file's list, line, column, normalized spec or None if invalid)
    items: list[tuple[str, str, int, int, int, dict[str, Any] | None]] = field(default_factory=list)
    data: Any = None
    cacheable: bool = False
    context: str = ""

    def to_cache(self) -> dict[str, Any]:
        return {"hash": self.hash, "context": self.context, "items": [list(i) for i in self.items]}

    @classmethod
    def from_cache(cls, file: str, real: str, entry: dict[str, Any]) -> Unit:
        unit = cls(file, real, entry["hash"], context=entry["context"], cacheable=True)
        unit.items = [
            (k, r, int(i), int(ln), int(c), spec) for k, r, i, ln, c, spec in entry["items"]
        ]
        return unit


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
        line, col = pos or (0, 0)
        self.diags.append(
            Diagnostic(
                code,
                clipped(message),
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
        result = CompileResult(
            desired, self.diags, self.files, self.inputs, self.digests, self.globs
        )
        result.store_id = self.store_id
        return result

    def _check_targets(self, root: dict[str, Any], shown: str) -> None:
        """Every var file a target names exists inside the store directory (SC114)."""
        from .targets import var_file_problem

        targets = root.get("targets")
        if not isinstance(targets, dict):
            return
        for name, target in targets.items():
            files = target.get("var_files") if isinstance(target, dict) else None
            for i, rel in enumerate(files if isinstance(files, list) else []):
                problem = var_file_problem(self.root_dir, rel)
                if problem:
                    path = ("targets", name, "var_files", i)
                    self.diag(
                        "SC114",
                        shown,
                        position_of(root, path),
                        problem,
                        format_address("targets", None, path[1:]),
                        path,
                    )

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
                    f"include {quoted(pattern)} leaves the store directory; "
                    "patterns are relative to store.yaml and may not use '..'",
                    f"include[{i}]",
                    ("include", i),
                )
                continue
            try:
                rels = self._tree().match(pattern)
            except PatternError as exc:
                self.diag(
                    "SC107",
                    shown,
                    pos,
                    f"include {quoted(pattern)} is not a valid pattern: {exc}",
                    f"include[{i}]",
                    ("include", i),
                )
                continue
            except IncludeError as exc:
                self.diag(
                    exc.code,
                    shown,
                    pos,
                    f"include {quoted(pattern)}: {exc.message}",
                    f"include[{i}]",
                    ("include", i),
                )
                continue
            matches = [self.root_dir / rel for rel in rels]
            found = len(matches)
            self.globs.append((pattern, [os.path.realpath(m) for m in matches]))
            for match in matches:
                real = os.path.realpath(match)
                if os.path.commonpath([base, real]) != base:
                    self.diag(
                        "SC107",
                        shown,
                        pos,
                        f"include {quoted(pattern)} matches {display_path(str(match))}, "
                        "which links outside the store directory",
                        f"include[{i}]",
                        ("include", i),
                    )
                    continue
                if real not in seen:
                    seen.add(real)
                    out.append(match)
            if not found:
                # a plain file name that is missing is a mistake; an empty glob may be fine
                literal = not any(c in pattern for c in "*?[")
                self.diag(
                    "SC111" if literal else "SC108",
                    shown,
                    pos,
                    f"included file {quoted(pattern)} does not exist{did_you_mean_file(self._tree(), pattern)}"
                    if literal
                    else f"include {quoted(pattern)} matches no file",
                    f"include[{i}]",
                    ("include", i),
                )
        return out

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
        checked: AsyncResult[_Checked] | None = None,
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
        return self._check_file(shown, real, load_bytes(raw, shown, loaded), digest, context)

    def _check_file(
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
    ) -> dict[str, AsyncResult[_Checked]]:
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
        jobs = min(_cpus(), len(todo))
        if jobs < 2 or sum(len(t[2]) for t in todo) < PARALLEL_MIN_BYTES:
            return {}
        import threading

        if threading.active_count() > 1:
            return {}  # a fork copies only this thread, and any lock another one holds
        import multiprocessing

        global _FORKED
        _FORKED = (self, context)
        try:
            pool = multiprocessing.get_context("fork").Pool(jobs)
        except (OSError, ValueError):
            return {}
        finally:
            _FORKED = None
        self._pool = pool
        # the largest files first, so no worker is left with a big one at the end
        todo.sort(key=lambda t: -len(t[2]))
        started = {t[0]: pool.apply_async(_check_forked, t) for t in todo}
        pool.close()
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
                        else label + _suffix(issue.path),
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


#: uncached bytes of YAML from which a compile checks files in several processes
PARALLEL_MIN_BYTES = 2**20

#: what a worker answers for one file: its unit and diagnostics, or None to check it here
_Checked = tuple["Unit | None", list[Diagnostic]] | None
#: the compile (and its context key) that forked the workers
_FORKED: tuple[_Compiler, str] | None = None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_forked(shown: str, real: str, raw: bytes, digest: str) -> _Checked:
    """In a worker: check one file as the forking compile would."""
    assert _FORKED is not None
    compiler, context = _FORKED
    loaded = load_bytes(raw, shown, Loaded(shown))
    if loaded.data is not None and (
        loaded.templates or (loaded.copied and find_templates(loaded.data))
    ):
        return None
    compiler.diags = []
    unit = compiler._check_file(shown, real, loaded, digest, context)
    return unit, compiler.diags


def did_you_mean_file(tree: Tree, name: str) -> str:
    """'; did you mean catalog/plans.yaml?' for a close YAML file in the store directory."""
    from .schema import closest

    candidates = tree.files(lambda n: fnmatch.fnmatchcase(n, "*.y*ml"))[:2000]
    match = closest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""


def _relative(real: str, root: Path) -> str:
    """A file of the definition relative to the store directory, with forward slashes."""
    return os.path.relpath(real, root).replace(os.sep, "/")


def _suffix(path: Iterable[Any]) -> str:
    return format_address("", None, path)


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


__all__ = ["CompileResult", "PosDict", "compile_store", "format_address", "parse_var_overrides"]
