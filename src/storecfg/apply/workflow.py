"""The commands' work, as typed functions: plan a directory, apply a directory or a
plan file, restore a backup, tell drift. They return data and take callbacks for the
two things only a terminal can do (confirming and showing progress); the CLI does the
printing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import (
    DefinitionError,
    PlanError,
    StorecfgError,
    StoreError,
    UsageError,
    display_path,
)
from ..model import ID_PATTERN, DesiredState, LiveState, address, split_address
from ..policy import Policy
from ..store.driver import StoreDriver, check_store_id, open_store, safe_url, same_store_url
from ..store.records import SETTINGS_DRIFT
from .backup import Backup, check_restorable, load_backup, snapshot_desired
from .drift import Drift, acknowledgeable, read_drift
from .execute import Outcome, Progress, execute
from .guardrails import check_planfile_deletes
from .history import ApplyRecorder, applied_at, last_unfinished
from .lock import held_lock
from .plan import PlanOptions, display_name, make_plan, unchanged_plan
from .plandoc import DriftEntry, InterruptedApply, Plan
from .planfile import check_fresh, reviewed_differences
from .provenance import collect

STATE_DIR = Path(".storecfg")


@dataclass
class Settings:
    """Options shared by the commands that talk to a store."""

    #: the store the user configured (--store, else STORECFG_STORE); None: the embedded
    #: store in the current directory. The token is only ever sent here.
    store_url: str | None = None
    #: whether the store came from --store on the command line (not the environment)
    store_explicit: bool = False
    state_dir: Path = STATE_DIR
    lock_timeout: float = 0.0
    parallelism: int | None = None
    max_deletes: int | None = None
    #: --allow-deletes: plan and apply deletes although store.yaml says policy.deletes: deny
    allow_deletes: bool = False
    use_cache: bool = True
    #: whether the plan must list unchanged resources as no-op changes with their specs
    #: (JSON, Markdown and plan files do; the text view shows none, so a text plan of a
    #: store that already matches is made from the compile cache's hashes alone)
    list_unchanged: bool = True
    #: also write each apply's snapshot as a file here (it is in the store either way)
    backup_dir: Path | None = None
    #: the API token (None: the HTTP driver reads STORECFG_TOKEN); set per target
    token: str | None = None
    #: where a line for the user goes (for example: a killed apply's lock was released)
    notice: Callable[[str], None] | None = None


@dataclass
class ApplyReport:
    plan: Plan
    outcome: Outcome | None = None
    cancelled: bool = False
    store_url: str = ""
    warnings: list[Any] = field(default_factory=list)
    #: drifted resources the definition now agrees with, recorded as storecfg's
    acknowledged: list[str] = field(default_factory=list)
    #: things the store could not be told (history), for the CLI to show
    notes: list[str] = field(default_factory=list)


def compile_desired(
    directory: Path,
    settings: Settings,
    var_files: Sequence[Path],
    var_overrides: Sequence[str],
    var_json: Sequence[str] = (),
) -> tuple[DesiredState, list[Any]]:
    """The desired state of a definition directory (through the compile cache unless
    settings say not to), or DefinitionError."""
    from ..compiler.cache import compile_cached

    result = compile_cached(
        directory,
        var_files=var_files,
        var_overrides=var_overrides,
        var_json=var_json,
        cache_dir=settings.state_dir / "cache" if settings.use_cache else None,
    )
    if not result.ok or result.desired is None:
        error = DefinitionError(result.errors, result.warnings)
        error.store_id = result.store_id
        raise error
    return result.desired, result.warnings


def _plan(
    desired: DesiredState,
    driver: StoreDriver,
    live: LiveState,
    settings: Settings,
    source: str | None,
    warnings: list[Any],
    *,
    restore: bool = False,
    history: tuple[InterruptedApply | None, list[DriftEntry]] | None = None,
) -> Plan:
    interrupted, drift = history or _history(driver, live.store_id, settings)
    return make_plan(
        desired,
        live,
        store_url=driver.url,
        source=source,
        options=_options(settings, restore=restore),
        interrupted=interrupted,
        warnings=[w.to_json() for w in warnings],
        drift=drift,
    )


def _history(
    driver: StoreDriver, store_id: str, settings: Settings
) -> tuple[InterruptedApply | None, list[DriftEntry]]:
    """What a plan says of the store's history: an apply that did not finish, and the
    resources changed outside storecfg since it last wrote them."""
    interrupted = last_unfinished(driver, store_id, settings.state_dir)
    return interrupted, [d.to_json() for d in read_drift(driver, store_id) or []]


def _options(settings: Settings, *, restore: bool = False) -> PlanOptions:
    return PlanOptions(
        max_deletes=settings.max_deletes,
        ignore_changes=not restore,
        allow_deletes=settings.allow_deletes,
    )


def read_for_plan(
    driver: StoreDriver, desired: DesiredState, live: LiveState | None = None
) -> LiveState:
    """The live store as a plan needs it: revisions and hashes of everything, specs only
    of what differs from the definition or would be deleted (in a store that matches,
    that is nothing, so a no-op plan reads no specs at all). `live`: the revisions and
    hashes, if already read."""
    if live is None:
        live = driver.read_all(desired.store["id"], specs=False)
    wanted = [
        address(kind, rid)
        for kind, items in live.resources.items()
        for rid, res in items.items()
        if rid not in desired.resources.get(kind, {}) or desired.digest(kind, rid) != res.hash
    ]
    if wanted:
        driver.fill_specs(live, wanted)
    return live


def plan_directory(
    directory: Path,
    settings: Settings,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
) -> tuple[Plan, list[Any]]:
    source = display_path(str(directory))
    hashes = None
    if settings.use_cache and not settings.list_unchanged:
        from ..compiler.cache import cached_digests

        hashes = cached_digests(
            directory,
            var_files=var_files,
            var_overrides=var_overrides,
            var_json=var_json,
            cache_dir=settings.state_dir / "cache",
        )
    if hashes is None:
        desired, warnings = compile_desired(directory, settings, var_files, var_overrides, var_json)
        store = desired.store
    else:
        store = hashes.store
    try:
        driver = open_store(settings.store_url, token=settings.token)
        try:
            live, history = None, None
            if hashes is not None:
                live = driver.read_all(store["id"], specs=False)
                history = _history(driver, live.store_id, settings)
                unchanged = unchanged_plan(
                    hashes.store,
                    hashes.desired_hash,
                    hashes.policy,
                    hashes.digests,
                    live,
                    store_url=driver.url,
                    source=source,
                    options=_options(settings),
                    interrupted=history[0],
                    warnings=[w.to_json() for w in hashes.warnings],
                    drift=history[1],
                )
                if unchanged is not None:
                    return unchanged, hashes.warnings
                desired, warnings = compile_desired(
                    directory, settings, var_files, var_overrides, var_json
                )
            live = read_for_plan(driver, desired, live)
            plan = _plan(desired, driver, live, settings, source, warnings, history=history)
            return plan, warnings
        finally:
            driver.close()
    except StorecfgError as exc:
        exc.store_id = exc.store_id or store.get("id")
        raise


def _apply_planned(
    driver: StoreDriver,
    store_id: str,
    settings: Settings,
    make: Callable[[LiveState], Plan],
    confirm: Callable[[Plan], bool] | None,
    progress: Callable[[Progress], None] | None,
    command: str,
    *,
    definition: Path | None = None,
    reason: str = "apply",
) -> ApplyReport:
    """Lock, read, plan (via `make`), confirm, record and snapshot, execute, unlock."""
    with held_lock(
        driver, store_id, command, timeout=settings.lock_timeout, notice=settings.notice
    ) as lock:
        live = driver.read_all(store_id)
        plan = make(live)
        report = ApplyReport(plan, store_url=driver.url)
        if not plan["has_changes"]:
            _acknowledge(driver, store_id, plan, live, report)
            return report
        if confirm is not None and not confirm(plan):
            report.cancelled = True
            return report
        recorder = ApplyRecorder(
            driver,
            store_id,
            plan,
            source=collect(definition, command),
            lock_id=lock.info.lock_id,
            reason=reason,
            state_dir=settings.state_dir,
            backup_dir=settings.backup_dir,
        )
        try:
            report.outcome = execute(
                plan,
                driver,
                live,
                state_dir=settings.state_dir,
                parallelism=settings.parallelism,
                lock=lock,
                progress=progress,
                recorder=recorder,
            )
        finally:
            report.notes += recorder.warnings
        _acknowledge(driver, store_id, plan, live, report, recorder.apply_id)
        return report


def _acknowledge(
    driver: StoreDriver,
    store_id: str,
    plan: Plan,
    live: LiveState,
    report: ApplyReport,
    apply_id: str | None = None,
) -> None:
    """Record the drifted resources the definition now agrees with as storecfg's, so
    they stop showing as drift (after `adopt`, or an edit that matches the store)."""
    items = acknowledgeable(plan, live)
    if not items:
        return
    try:
        report.acknowledged = driver.acknowledge(store_id, items, apply_id)
    except StoreError as exc:
        report.notes.append(
            f"could not record {len(items)} resources changed outside storecfg as matching "
            f"the definition: {exc.message}"
        )


def apply_directory(
    directory: Path,
    settings: Settings,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    confirm: Callable[[Plan], bool] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> ApplyReport:
    desired, warnings = compile_desired(directory, settings, var_files, var_overrides, var_json)
    driver = open_store(settings.store_url, token=settings.token)
    driver.vouch(desired.resources)
    try:
        report = _apply_planned(
            driver,
            desired.store["id"],
            settings,
            lambda live: _plan(
                desired, driver, live, settings, display_path(str(directory)), warnings
            ),
            confirm,
            progress,
            "apply",
            definition=directory,
        )
        report.warnings = warnings
        return report
    finally:
        driver.close()


def apply_planfile(
    plan: Plan, settings: Settings, progress: Callable[[Progress], None] | None = None
) -> ApplyReport:
    """Apply a saved plan, refusing it if the store moved since or it was applied already.

    The plan goes to the configured store only: a plan file naming another URL is
    refused (its URL is not followed, so the token never goes where a file says)."""
    store = plan["store"]
    store_id = store["id"]
    driver = open_store(settings.store_url, token=settings.token)
    try:
        planned_url = store.get("url")
        if planned_url and not same_store_url(driver.url, str(planned_url)):
            shown = safe_url(str(planned_url))
            raise PlanError(
                f"this plan was made for store {store_id} at {shown}, but the store configured "
                f"here is {driver.url}",
                hint=f"storecfg sends STORECFG_TOKEN only to the store you name. To apply the plan "
                f"to {shown}, give --store {shown}; to change {driver.url}, make a new plan for it.",
            )

        check_planfile_deletes(
            plan, max_deletes=settings.max_deletes, allow_deletes=settings.allow_deletes
        )

        def check(live: LiveState) -> Plan:
            when = applied_at(driver, store_id, plan["plan_id"], settings.state_dir)
            if when:
                raise PlanError(
                    f"this plan was already applied (at {when}); a plan is applied once. Run plan again."
                )
            check_fresh(plan, live)
            return plan

        source = plan.get("source")
        definition = Path(source) if isinstance(source, str) and Path(source).is_dir() else None
        return _apply_planned(
            driver,
            store_id,
            settings,
            check,
            None,
            progress,
            "apply PLANFILE",
            definition=definition,
        )
    finally:
        driver.close()


def apply_reviewed(
    directory: Path,
    reviewed: Plan,
    reviewed_name: str,
    settings: Settings,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    progress: Callable[[Progress], None] | None = None,
) -> ApplyReport:
    """Plan `directory` now (under the lock) and apply that plan only if its changes
    are exactly those of the reviewed plan; otherwise PlanError listing the differences.

    Unlike `apply PLANFILE`, a store revision that moved since the review does not
    matter by itself: only what this apply would write does.
    """
    desired, warnings = compile_desired(directory, settings, var_files, var_overrides, var_json)
    if reviewed["store"]["id"] != desired.store["id"]:
        raise PlanError(
            f"{reviewed_name} is a plan for store {reviewed['store']['id']}, but "
            f"{display_path(str(directory))} defines store {desired.store['id']}",
            hint="Pass the plan that was reviewed for this definition.",
        )
    driver = open_store(settings.store_url, token=settings.token)

    def check(live: LiveState) -> Plan:
        plan = _plan(desired, driver, live, settings, display_path(str(directory)), warnings)
        differences = reviewed_differences(reviewed, plan)
        if differences:
            n = len(differences)
            raise PlanError(
                f"the changes planned now differ from the reviewed plan {reviewed_name} "
                f"({n} difference{'s' if n != 1 else ''}); nothing was applied:",
                lines=differences,
                hint="Review a new plan (`storecfg plan -o PLANFILE`) and apply that one.",
            )
        return plan

    try:
        report = _apply_planned(
            driver, desired.store["id"], settings, check, None, progress, "apply --reviewed"
        )
        report.warnings = warnings
        return report
    finally:
        driver.close()


def open_snapshot_store(doc: dict[str, Any], backup_id: str, settings: Settings) -> StoreDriver:
    """The configured store, to compare a snapshot with or restore it into. A snapshot
    taken from another URL is refused unless --store names the store explicitly: the
    snapshot's own URL is never followed."""
    driver = open_store(settings.store_url, token=settings.token)
    try:
        check_taken_from(doc, backup_id, settings, driver)
    except BaseException:
        driver.close()
        raise
    return driver


def check_taken_from(
    doc: dict[str, Any], backup_id: str, settings: Settings, driver: StoreDriver
) -> None:
    """Refuse a snapshot file taken from another store than `driver`'s, unless --store
    names the store explicitly."""
    taken_from = doc["store"].get("url") or doc.get("store_url")
    if taken_from and not settings.store_explicit and not same_store_url(driver.url, taken_from):
        shown = safe_url(str(taken_from))
        raise UsageError(
            f"backup {backup_id} was taken from the store at {shown}, but the store configured "
            f"here is {driver.url}",
            hint=f"storecfg sends STORECFG_TOKEN only to the store you name: give --store {shown} "
            f"to use that store, or --store {driver.url} to use this one.",
        )


def restore_backup(
    snapshot_id: str,
    settings: Settings,
    *,
    store_id: str | None = None,
    backup_dir: Path | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[ApplyReport, Backup]:
    """Plan the store back to a backup and apply it with the usual safety. The backup
    comes from the store (checked against its sha256), else from the local files."""
    root = backup_dir or settings.state_dir / "snapshots"
    driver = open_store(settings.store_url, token=settings.token)
    try:
        sid = backup_store_id(driver, store_id)
        backup, doc = load_backup(driver, sid, snapshot_id, root)
        if not backup.in_store:
            # a file names the store it was taken from: restored into the configured
            # store only if that is the one (its URL is never followed)
            check_taken_from(doc, backup.id, settings, driver)
        check_restorable(backup, doc)  # before anything is locked or written
    except BaseException:
        driver.close()
        raise
    desired = snapshot_desired(doc)
    try:
        report = _apply_planned(
            driver,
            backup.store_id,
            settings,
            lambda live: _plan(
                desired, driver, live, settings, f"backup {backup.id}", [], restore=True
            ),
            confirm,
            progress,
            f"backup restore {backup.id}",
            reason=f"restore of {backup.id}",
        )
        return report, backup
    finally:
        driver.close()


def backup_store_id(driver: StoreDriver, store_id: str | None) -> str | None:
    """The store whose backups to use: the one given (a valid store ID, checked here
    before the store is asked, whichever store it is), else the only one the URL holds
    (None when it holds none: only local files can be meant)."""
    if store_id is not None:
        return check_store_id(store_id)
    stores = driver.list_stores()
    if len(stores) > 1:
        raise UsageError(
            f"the store at {driver.url} holds several stores ({', '.join(stores)}); give --store-id"
        )
    return stores[0] if stores else None


def drift_directory(
    directory: Path,
    settings: Settings,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
) -> tuple[dict[str, Any], list[Drift], dict[str, str]]:
    """What was changed outside storecfg in the store DIRECTORY manages (reads only).
    Returns the store ({"id", "url", "revision"}), the drift, in plan order, and the
    names the definition gives the drifted resources (by address; a resource it does
    not define, or defines without a name, has none)."""
    desired, _ = compile_desired(directory, settings, var_files, var_overrides, var_json)
    driver = open_store(settings.store_url, token=settings.token)
    try:
        store_id = desired.store["id"]
        info = driver.store_info(store_id)
        drift = read_drift(driver, store_id)
        if drift is None:
            raise StoreError(
                f"the store at {driver.url} keeps no history, so it cannot tell what was "
                "changed outside storecfg; upgrade its server"
            )
        policy = Policy.from_json(desired.policy)  # unmanaged resources are nobody's drift
        drift = [d for d in drift if not policy.unmanaged_pattern(*split_address(d.address))]
        store = {"id": store_id, "url": driver.url, "revision": info.revision}
        return store, drift, drifted_names(desired, drift)
    finally:
        driver.close()


def drifted_names(desired: DesiredState, drift: Sequence[Drift]) -> dict[str, str]:
    """address -> name, as a plan shows it, of each drifted resource the definition names."""
    names: dict[str, str] = {}
    for d in drift:
        if d.address == SETTINGS_DRIFT:
            continue
        kind, rid = split_address(d.address)
        name = display_name(desired.resources.get(kind, {}).get(rid))
        if name:
            names[d.address] = name
    return names


def resolve_store_id(driver: StoreDriver, store_id: str | None) -> str:
    """The store to work on: the one given (it must exist), or the only one the URL holds."""
    if store_id is not None:
        check_store_id(store_id)
    stores = driver.list_stores()
    if len(stores) > 10_000 or not all(re.fullmatch(ID_PATTERN, s) for s in stores):
        raise StoreError(
            f"the store at {driver.url} sent a list of stores storecfg cannot read", 502
        )
    if store_id:
        if store_id not in stores:
            held = f"it holds {', '.join(stores)}" if stores else "it holds no store yet"
            raise UsageError(f"there is no store {store_id!r} at {driver.url}; {held}")
        return store_id
    if len(stores) == 1:
        return stores[0]
    if not stores:
        raise UsageError(f"the store at {driver.url} holds no store yet; give --store-id")
    raise UsageError(
        f"the store at {driver.url} holds several stores ({', '.join(stores)}); give --store-id"
    )
