"""`storecfg adopt`: drifted values taken back into the definition, checked, written.

1. compile the definition and read every file it is made of (store.yaml, the var
   files, the included files) as text with positions;
2. plan the edits of each drifted resource (`engine.Adopter`), whole or not at all;
3. refuse a variable edit that would change another resource that reads it;
4. compile the edited definition in memory and keep only the resources that now
   compile to exactly their live spec while nothing else changed;
5. write each edited file atomically (its mode kept) after checking that it is
   still the file that was read — or, with `dry_run`, return the unified diff.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._fs import atomic_write
from ..apply.plan import effective_spec
from ..apply.workflow import Settings
from ..compiler.compile import compile_store
from ..compiler.positions import PosDict, PosList
from ..compiler.result import CompileResult, find_store_file
from ..errors import DefinitionError, StorecfgError, StoreError, UsageError, display_path
from ..model import ID_PATTERN, KINDS, DesiredState, spec_hash, split_address
from ..policy import Policy
from ..store.records import SETTINGS_DRIFT
from .engine import Adopter, Change, Plan, Refused, VarSite, VarTable, template_sites
from .layout import infer_layout
from .scalars import Unsafe
from .text import Edit, Source

ADOPTED, LEFT_ALONE, SKIPPED = "adopted", "left alone", "skipped"
#: plans verified one by one when the edited definition as a whole does not compile
_MAX_SINGLE_CHECKS = 25


@dataclass
class Drifted:
    """One drifted resource as the store tells it: changed, created or deleted, with
    its live spec (None when deleted)."""

    address: str
    kind: str
    spec: dict[str, Any] | None


@dataclass
class Outcome:
    """What adopt did about one drifted resource."""

    address: str
    drift: str
    status: str  # adopted | left alone | skipped
    file: str = ""
    line: int = 0
    reason: str = ""
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "drift": self.drift,
            "status": self.status,
            "file": self.file or None,
            "line": self.line or None,
            "reason": self.reason or None,
            "changes": [
                {
                    "op": c.op,
                    "path": c.path or None,
                    "old": c.old,
                    "new": c.new,
                    "file": c.file,
                    "line": c.line,
                    "variable": c.via,
                }
                for c in self.changes
            ],
        }


@dataclass
class FileEdit:
    """One definition file and what adopt writes into it."""

    display: str
    path: str  # real path: a link is edited where it points
    before: bytes
    after: bytes

    def diff(self) -> str:
        old = self.before.decode("utf-8-sig").splitlines(keepends=True)
        new = self.after.decode("utf-8-sig").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"a/{self.display}", f"b/{self.display}")
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass
class AdoptResult:
    outcomes: list[Outcome] = field(default_factory=list)
    files: list[FileEdit] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "written": self.written,
            "adopted": sum(1 for o in self.outcomes if o.status == ADOPTED),
            "left_alone": sum(1 for o in self.outcomes if o.status == LEFT_ALONE),
            "resources": [o.to_json() for o in self.outcomes],
            "files": [f.display for f in self.files],
        }


_ADDRESS = re.compile(r"([a-z_]+)\.(" + ID_PATTERN.strip("^$") + r")\Z")


def check_addresses(addresses: Sequence[str]) -> list[str]:
    """ADDRESS arguments: KIND.ID with a known kind."""
    out = []
    for given in addresses:
        match = _ADDRESS.match(given)
        if match is None or match.group(1) not in KINDS:
            raise UsageError(
                f"{given!r} is not a resource address; write KIND.ID "
                f"(for example service_plans.o365-e3-monthly) with KIND one of {', '.join(KINDS)}"
            )
        out.append(given)
    return out


class _Definition:
    """The files of a compiled definition, as text with positions."""

    def __init__(self, target: Path, var_files: Sequence[Path], result: CompileResult) -> None:
        self.store_file = find_store_file(target)
        shown = result.files
        n_vars = len(var_files)
        self.root = self._read(self.store_file, shown[0], result)
        self.var_sources = [
            self._read(path, shown[1 + i], result) for i, path in enumerate(var_files)
        ]
        self.includes = [self._read(Path(d), d, result) for d in shown[1 + n_vars :]]
        #: address -> (source, its data, kind, index in the kind's list)
        self.where: dict[str, tuple[Source, PosDict, str, int]] = {}
        for source in (self.root, *self.includes):
            data = source.data
            if not isinstance(data, PosDict):
                continue
            for kind in KINDS:
                items = data.get(kind)
                if not isinstance(items, PosList):
                    continue
                for index, item in enumerate(items):
                    rid = item.get("id") if isinstance(item, dict) else None
                    if isinstance(rid, str):
                        self.where.setdefault(f"{kind}.{rid}", (source, data, kind, index))

    @staticmethod
    def _read(path: Path, shown: str, result: CompileResult) -> Source:
        real = os.path.realpath(path)
        try:
            raw = Path(real).read_bytes()
        except OSError as exc:
            raise StorecfgError(f"{shown}: cannot read file: {exc.strerror or exc}") from exc
        digest = result.digests.get(real)
        if digest is not None and hashlib.sha256(raw).hexdigest() != digest:
            raise StorecfgError(f"{shown} changed while adopt was reading it; run adopt again")
        return Source(raw, shown, real)

    def sources(self) -> list[Source]:
        return [self.root, *self.var_sources, *self.includes]

    def kind_place(self, kind: str) -> tuple[str, int]:
        """Where resources of a kind are written (for a resource that is not)."""
        for source in (*self.includes, self.root):
            if isinstance(source.data, PosDict) and kind in source.data:
                return source.display, source.data.kpos[kind][0]
        data = self.root.data
        line = data.kpos["include"][0] if isinstance(data, PosDict) and "include" in data else 1
        return self.root.display, line

    def address_of(self, source: Source, path: tuple[Any, ...]) -> str:
        if len(path) >= 2 and path[0] in KINDS and isinstance(path[1], int):
            data = source.data
            items = data.get(path[0]) if isinstance(data, PosDict) else None
            if isinstance(items, list) and path[1] < len(items):
                item = items[path[1]]
                rid = item.get("id") if isinstance(item, dict) else None
                if isinstance(rid, str):
                    return f"{path[0]}.{rid}"
        return "store" if path and path[0] == "store" else (str(path[0]) if path else "-")


def adopt_definition(
    directory: Path,
    read_store: Callable[[DesiredState], list[Drifted]],
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    addresses: Sequence[str] = (),
    into: Path | None = None,
    dry_run: bool = False,
) -> AdoptResult:
    """Take the drifted resources (those of `addresses`, when given) back into the
    definition in `directory`; write the files unless `dry_run`. `read_store` gives
    the drift of the store the compiled definition manages, with live specs."""
    wanted = set(check_addresses(addresses))
    result = compile_store(
        directory, var_files=var_files, var_overrides=var_overrides, var_json=var_json
    )
    if not result.ok or result.desired is None:
        raise DefinitionError(result.errors, result.warnings)
    desired = result.desired
    definition = _Definition(directory, var_files, result)
    for source in definition.sources():
        if source.data is None and source.diagnostics:
            raise DefinitionError(source.diagnostics, [])
    target = _into(definition, into) if into is not None else None
    drift = read_store(desired)
    policy = Policy.from_json(desired.policy)
    overrides = _override_names(var_overrides, var_json)
    adopter = Adopter(
        infer_layout(definition.sources()),
        VarTable(definition.root, definition.var_sources, overrides),
    )
    outcomes: dict[str, Outcome] = {}
    plans: dict[str, Plan] = {}
    expect: dict[str, dict[str, Any] | None] = {}
    for d in drift:
        if wanted and d.address not in wanted:
            continue
        outcome = Outcome(d.address, d.kind, SKIPPED)
        outcomes[d.address] = outcome
        kind, rid = split_address(d.address)
        found = definition.where.get(d.address)
        in_definition = rid in desired.resources.get(kind, {})
        pattern = policy.unmanaged_pattern(kind, rid) if policy.unmanaged else None
        try:
            if d.address == SETTINGS_DRIFT:
                file, line = definition.kind_place("store")
                raise Refused(
                    "store settings are not adopted: edit the store: block of store.yaml to "
                    "keep them (storecfg plan shows the values changed outside storecfg)",
                    file,
                    line,
                )
            if d.spec is None and d.kind != "deleted":
                outcome.reason = "no longer in the store; run adopt again"
                continue
            if pattern is not None and not in_definition and d.address not in wanted:
                outcome.reason = f"not managed here (policy.unmanaged: {pattern})"
                continue
            if d.spec is None:  # deleted outside storecfg
                if found is None or not in_definition:
                    outcome.reason = (
                        "deleted in the store, and the definition does not have it either"
                    )
                    continue
                source, data, _, index = found
                plans[d.address] = adopter.deleted(d.address, source, data, kind, index)
                expect[d.address] = None
            elif found is not None and in_definition:
                source, data, _, index = found
                spec = effective_spec(desired.resources[kind][rid], d.spec)
                plan = adopter.changed(d.address, kind, source, data[kind], index, spec, d.spec)
                if not plan.edits:
                    outcome.reason = "the definition already has the live values"
                    continue
                plans[d.address] = plan
                expect[d.address] = d.spec
            elif d.kind == "changed":
                outcome.reason = (
                    "the definition no longer has it: deleting it is the definition's own "
                    "change, not drift"
                )
                continue
            elif target is None:
                file, line = definition.kind_place(kind)
                raise Refused(
                    "created outside storecfg; give --into FILE to add it to the definition",
                    file,
                    line,
                )
            else:
                plans[d.address] = adopter.created(d.address, kind, target, d.spec)
                expect[d.address] = d.spec
        except Refused as exc:
            outcome.status, outcome.reason = LEFT_ALONE, exc.reason
            outcome.file, outcome.line = exc.file, exc.line
    for address in sorted(wanted - set(outcomes)):
        outcomes[address] = Outcome(
            address, "none", SKIPPED, reason="has not drifted: nothing to adopt"
        )
    sites = [
        site
        for source in (definition.root, *definition.includes)
        for site in template_sites(
            source,
            definition.address_of,
            skip_vars=source is definition.root,
        )
    ]
    active = _resolve_conflicts(plans, sites, outcomes)
    active = _verify(
        directory, var_files, var_overrides, var_json, result, expect, active, outcomes
    )
    files = _files(active)
    for address, plan in active.items():
        outcome = outcomes[address]
        outcome.status, outcome.changes = ADOPTED, plan.changes
        first = plan.changes[0] if plan.changes else None
        outcome.file, outcome.line = (first.file, first.line) if first else ("", 0)
    report = AdoptResult(list(outcomes.values()), files, dry_run)
    if files and not dry_run:
        _write(files)
        report.written = True
    return report


def _override_names(var_overrides: Sequence[str], var_json: Sequence[str]) -> set[str]:
    return {pair.partition("=")[0].strip() for pair in (*var_overrides, *var_json)}


def _into(definition: _Definition, into: Path) -> Source:
    real = os.path.realpath(into)
    for source in (*definition.includes, definition.root):
        if source.real == real:
            return source
    raise UsageError(
        f"--into {display_path(str(into))}: not a file of this definition; give store.yaml or "
        "a file its include: patterns match (add the file to include: first)"
    )


def _resolve_conflicts(
    plans: dict[str, Plan], sites: list[VarSite], outcomes: dict[str, Outcome]
) -> dict[str, Plan]:
    """Plans whose edits fit together: no two write one place differently, and no
    variable is rewritten while a template that is not adopted with it reads it."""
    active = dict(plans)
    while True:
        drop: dict[str, Refused] = {}
        # variables: every template reading a rewritten one must be adopted with it
        for address, plan in active.items():
            for var_file, path in plan.var_edits:
                covered = {
                    s
                    for other in active.values()
                    if (var_file, path) in other.var_edits
                    for s in other.var_sites
                }
                for site in sites:
                    if (site.file, site.line, site.column) in covered:
                        continue
                    if any(_overlap(path, used) for used in site.paths):
                        name = "vars." + ".".join(path)
                        drop[address] = Refused(
                            f"{name} is also used by {site.address} at {site.file}:{site.line}, "
                            "which did not change the same way; change it by hand",
                            *_first_place(plan),
                        )
                        break
                if address in drop:
                    break
        # edits: the same place written the same way, or not at all
        seen: dict[tuple[str, int, int], tuple[str, str]] = {}
        spans: dict[str, list[tuple[int, int, str, str]]] = {}
        for address, plan in active.items():
            if address in drop:
                continue
            for source, edit in plan.edits:
                key = (source.display, edit.start, edit.end)
                if key in seen and seen[key][1] == edit.text:
                    continue
                clash = next(
                    (
                        other
                        for a, b, text, other in spans.get(source.display, [])
                        if other != address
                        and (
                            (a < edit.end and edit.start < b)  # overlapping text
                            or (a == edit.start and b == edit.end and a != b and text != edit.text)
                        )
                    ),
                    None,
                )
                if clash is not None:
                    drop[address] = Refused(
                        f"its edits clash with those adopting {clash}; adopt one at a time",
                        source.display,
                        source.line_of(edit.start),
                    )
                    break
                seen[key] = (address, edit.text)
                spans.setdefault(source.display, []).append(
                    (edit.start, edit.end, edit.text, address)
                )
        if not drop:
            return active
        for address, exc in drop.items():
            _refuse(outcomes[address], exc)
            del active[address]


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _first_place(plan: Plan) -> tuple[str, int]:
    if plan.changes:
        return plan.changes[0].file, plan.changes[0].line
    return "", 0


def _refuse(outcome: Outcome, exc: Refused) -> None:
    outcome.status, outcome.reason = LEFT_ALONE, exc.reason
    outcome.file, outcome.line = exc.file, exc.line


def _merged_edits(plans: Sequence[Plan]) -> dict[Source, list[Edit]]:
    out: dict[Source, list[Edit]] = {}
    for plan in plans:
        for source, edit in plan.edits:
            edits = out.setdefault(source, [])
            if edit not in edits:
                edits.append(edit)
    return out


def _files(active: dict[str, Plan]) -> list[FileEdit]:
    out = []
    for source, edits in _merged_edits(list(active.values())).items():
        after = source.render(edits)
        if after != source.raw:
            out.append(FileEdit(source.display, source.real, source.raw, after))
    out.sort(key=lambda f: f.display)
    return out


def _verify(
    directory: Path,
    var_files: Sequence[Path],
    var_overrides: Sequence[str],
    var_json: Sequence[str],
    before: CompileResult,
    expect: dict[str, dict[str, Any] | None],
    active: dict[str, Plan],
    outcomes: dict[str, Outcome],
) -> dict[str, Plan]:
    """The plans whose edits, compiled with the rest, give exactly the live specs of
    their resources and change nothing else."""

    def check(plans: dict[str, Plan]) -> tuple[bool, dict[str, str]]:
        """(compiled, address -> why it does not match)."""
        try:
            overlay = {
                source.real: source.render(edits)
                for source, edits in _merged_edits(list(plans.values())).items()
            }
        except Unsafe as exc:
            return False, {a: exc.reason for a in plans}
        after = compile_store(
            directory,
            var_files=var_files,
            var_overrides=var_overrides,
            var_json=var_json,
            overlay=overlay,
        )
        if not after.ok or after.desired is None:
            return False, {}
        assert before.desired is not None
        old, new = before.desired, after.desired
        bad: dict[str, str] = {}
        for address in plans:
            kind, rid = split_address(address)
            want = expect[address]
            got = new.resources.get(kind, {}).get(rid)
            if want is None:
                if got is not None:
                    bad[address] = "the edited definition still has it"
            elif got is None:
                bad[address] = "the edited definition no longer has it"
            elif spec_hash(effective_spec(got, want)) != spec_hash(want):
                bad[address] = "the edited definition does not compile to the live values"
        others = [
            f"{kind}.{rid}"
            for kind in KINDS
            for rid in {*old.resources.get(kind, {}), *new.resources.get(kind, {})}
            if f"{kind}.{rid}" not in plans
            and old.resources.get(kind, {}).get(rid) != new.resources.get(kind, {}).get(rid)
        ]
        if others or old.store != new.store:
            what = others[0] if others else "the store settings"
            for address, plan in plans.items():
                if plan.var_edits or not bad:
                    bad.setdefault(address, f"the edits would also change {what}")
        return True, bad

    active = dict(active)
    while active:
        compiled, bad = check(active)
        if compiled and not bad:
            return active
        if not compiled:
            alone = list(active)[:_MAX_SINGLE_CHECKS]
            bad = {}
            for address in active:
                if address not in alone:
                    bad[address] = "the edited definition does not compile; adopt fewer at once"
                    continue
                ok, why = check({address: active[address]})
                if not ok:
                    bad[address] = "the edited definition would not be valid"
                elif why:
                    bad[address] = why[address] if address in why else next(iter(why.values()))
            if not bad:  # each alone is fine, together they are not
                bad = {a: "the edits together do not compile; adopt one at a time" for a in active}
        for address, reason in bad.items():
            plan = active.pop(address)
            file, line = _first_place(plan)
            _refuse(outcomes[address], Refused(reason, file, line))
    return active


def _write(files: list[FileEdit]) -> None:
    """Write every edited file, atomically and with its mode, after checking that none
    changed since it was read (then nothing is written)."""
    for f in files:
        try:
            current = Path(f.path).read_bytes()
        except OSError as exc:
            raise StorecfgError(f"{f.display}: cannot read file: {exc.strerror or exc}") from exc
        if hashlib.sha256(current).digest() != hashlib.sha256(f.before).digest():
            raise StorecfgError(
                f"{f.display} changed since adopt read it; nothing was written",
                hint="Run storecfg adopt again.",
            )
    for f in files:
        mode = stat.S_IMODE(os.stat(f.path).st_mode)
        try:
            atomic_write(Path(f.path), f.after, mode=mode)
        except OSError as exc:
            raise StorecfgError(f"{f.display}: cannot write file: {exc.strerror or exc}") from exc


def adopt_directory(
    directory: Path,
    settings: Settings,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    addresses: Sequence[str] = (),
    into: Path | None = None,
    dry_run: bool = False,
) -> AdoptResult:
    """`storecfg adopt`: the drift the store tells, taken back into DIRECTORY."""
    check_addresses(addresses)

    def read_store(desired: DesiredState) -> list[Drifted]:
        from ..apply.drift import DELETED, read_drift
        from ..store.driver import open_store

        driver = open_store(settings.store_url, token=settings.token)
        try:
            store_id = desired.store["id"]
            drift = read_drift(driver, store_id)
            if drift is None:
                raise StoreError(
                    f"the store at {driver.url} keeps no history, so it cannot tell what was "
                    "changed outside storecfg; upgrade its server"
                )
            live = driver.read_all(store_id)
        finally:
            driver.close()
        out = []
        for d in drift:
            kind, rid = split_address(d.address)
            res = live.resources.get(kind, {}).get(rid)
            spec = None if d.kind == DELETED or res is None else res.spec
            out.append(Drifted(d.address, d.kind, spec))
        return out

    return adopt_definition(
        directory,
        read_store,
        var_files=var_files,
        var_overrides=var_overrides,
        var_json=var_json,
        addresses=addresses,
        into=into,
        dry_run=dry_run,
    )


__all__ = [
    "AdoptResult",
    "Drifted",
    "FileEdit",
    "Outcome",
    "adopt_definition",
    "adopt_directory",
    "check_addresses",
]
