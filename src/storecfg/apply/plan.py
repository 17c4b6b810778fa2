"""Plans: DesiredState x LiveState -> ordered changes, as plain JSON-ready data.

A plan is a `plandoc.Plan` (format_version 1) that `plan --format json` prints and
`plan -o` saves (planfile.py); the text and Markdown views render the very same
document. The order of its changes is order.py's, its guardrails guardrails.py's.
Nothing here prints.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..clock import utc_iso
from ..errors import PlanError
from ..model import KINDS, DesiredState, LiveResource, LiveState, address, spec_hash, split_address
from ..policy import Policy
from ..spec.fields import kind_info
from .diff import diff_specs, get_path, set_path
from .guardrails import check_deletes, check_unmanaged_references, deletion_warning
from .impact import impact_of, price_effective
from .order import plan_order
from .plandoc import (
    ACTIONS,
    FORMAT_VERSION,
    Action,
    Change,
    DiffEntry,
    DriftEntry,
    InterruptedApply,
    Plan,
    SettingsAction,
    SettingsChange,
    Spec,
    Unmanaged,
)
from .taxes import plan_tax_summary


@dataclass
class PlanOptions:
    max_deletes: int | None = None
    #: honour lifecycle.ignore_changes and keep a live prevent_destroy the definition no
    #: longer mentions (off for restores: they put back exactly what the snapshot holds)
    ignore_changes: bool = True
    #: refuse to destroy resources with lifecycle.prevent_destroy (off only for `backup diff`)
    prevent_destroy: bool = True
    #: --allow-deletes: deletes and replaces are allowed although policy.deletes is deny
    allow_deletes: bool = False


def _lifecycle(spec: Spec | None) -> dict[str, Any]:
    if not spec:
        return {}
    value = spec.get("lifecycle")
    return value if isinstance(value, dict) else {}


def effective_spec(desired: Spec, live: Spec) -> Spec:
    """The spec to write: desired, but live values kept at `ignore_changes` paths, and a
    live `prevent_destroy: true` kept unless the definition says `prevent_destroy` itself
    (removing the lifecycle block does not unprotect a resource; `false` does)."""
    ignored = _lifecycle(desired).get("ignore_changes") or []
    sticky = _lifecycle(live).get("prevent_destroy") is True and (
        "prevent_destroy" not in _lifecycle(desired)
    )
    if not ignored and not sticky:
        return desired
    result = copy.deepcopy(desired)
    for path in ignored:
        if path == "lifecycle" or path.startswith("lifecycle."):
            continue
        found, value = get_path(live, path)
        set_path(result, path, found, copy.deepcopy(value))
    if sticky:
        result["lifecycle"] = {**_lifecycle(result), "prevent_destroy": True}
    return result


def _replace_reasons(kind: str, before: Spec, after: Spec) -> list[str]:
    reasons = []
    for path in kind_info(kind).replace_paths:
        dotted = ".".join(str(p) for p in path)
        if "*" in path:
            continue
        if get_path(before, dotted) != get_path(after, dotted):
            reasons.append(dotted)
    return reasons


def make_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    store_url: str,
    source: str | None = None,
    options: PlanOptions | None = None,
    interrupted: InterruptedApply | None = None,
    warnings: list[dict[str, Any]] | None = None,
    drift: list[DriftEntry] | None = None,
) -> Plan:
    """Compare a desired state with a live one; raise PlanError on lifecycle violations.

    `drift` lists what was changed outside storecfg since it last wrote the store
    (apply/drift.py); it is shown apart from the changes and changes none of them.
    Resources that policy.unmanaged leaves alone are not drift: nobody manages them here."""
    options = options or PlanOptions()
    policy = Policy.from_json(desired.policy)
    drift = _managed(drift, policy)
    changes: list[Change] = []
    protected: list[str] = []
    unmanaged: list[Unmanaged] = []
    for kind in KINDS:
        want = desired.resources.get(kind, {})
        have: dict[str, LiveResource] = live.resources.get(kind, {})
        for rid, spec in want.items():
            current = have.get(rid)
            addr = address(kind, rid)
            if current is None:
                changes.append(_change(addr, kind, rid, "create", None, spec, None))
                continue
            if desired.digest(kind, rid) == current.spec_digest():
                # the same spec (the live one may not even have been read: see read_for_plan)
                changes.append(_change(addr, kind, rid, "no-op", spec, spec, current.revision))
                continue
            effective = effective_spec(spec, current.spec) if options.ignore_changes else spec
            if effective is not spec and spec_hash(effective) == current.spec_digest():
                changes.append(
                    _change(addr, kind, rid, "no-op", current.spec, effective, current.revision)
                )
                continue
            reasons = _replace_reasons(kind, current.spec, effective)
            action: Action = "replace" if reasons else "update"
            change = _change(addr, kind, rid, action, current.spec, effective, current.revision)
            change["diff"] = diff_specs(current.spec, effective)
            if kind == "service_plans":
                _note_price_effect(change["diff"], effective)
            if reasons:
                change["replace_reasons"] = reasons
                if _lifecycle(current.spec).get("prevent_destroy") or _lifecycle(spec).get(
                    "prevent_destroy"
                ):
                    protected.append(f"{addr} (replace: {', '.join(reasons)} changed)")
            changes.append(change)
        for rid, current in have.items():
            if rid in want:
                continue
            addr = address(kind, rid)
            pattern = policy.unmanaged_pattern(kind, rid) if policy.unmanaged else None
            if pattern is not None:  # left alone: not managed here
                unmanaged.append({"address": addr, "pattern": pattern})
                continue
            changes.append(_change(addr, kind, rid, "delete", current.spec, None, current.revision))
            if _lifecycle(current.spec).get("prevent_destroy"):
                protected.append(f"{addr} (delete)")
    if protected and options.prevent_destroy:
        raise PlanError(
            "the plan would destroy resources protected by lifecycle.prevent_destroy: "
            + "; ".join(protected),
            hint="Keep them in the definition, or apply `prevent_destroy: false` on them first, then delete.",
        )
    changes = plan_order(
        changes,
        desired.resources,
        {k: {rid: r.spec for rid, r in v.items()} for k, v in live.resources.items()},
        desired.levels,
    )
    for change in changes:  # where to look in the definition (deletes have no place)
        location = desired.sources.get(change["address"])
        change["source"] = f"{location.file}:{location.line}" if location is not None else None
        if change["action"] == "delete":
            current = live.resources[change["kind"]][change["id"]]
            change["file"] = current.source
        elif change["action"] != "no-op":
            change["file"] = desired.file_of(change["address"])
    if policy.unmanaged:
        check_unmanaged_references(desired, live, policy, unmanaged)
    warning = deletion_warning(changes, desired, live, policy)
    check_deletes(
        changes,
        policy,
        max_deletes=options.max_deletes,
        allow_deletes=options.allow_deletes,
        warning=warning,
    )
    return _document(
        changes,
        desired.store,
        desired.hash(),
        policy,
        live,
        store_url=store_url,
        source=source,
        options=options,
        interrupted=interrupted,
        warnings=warnings,
        drift=drift,
        unmanaged=unmanaged,
        warning=warning,
    )


def unchanged_plan(
    store: Spec,
    desired_hash: str,
    policy_json: dict[str, Any],
    digests: dict[str, str],
    live: LiveState,
    *,
    store_url: str,
    source: str | None = None,
    options: PlanOptions | None = None,
    interrupted: InterruptedApply | None = None,
    warnings: list[dict[str, Any]] | None = None,
    drift: list[DriftEntry] | None = None,
) -> Plan | None:
    """The plan of a definition the live store already matches, made from hashes alone
    (`digests`: address -> spec hash of every resource the definition holds), or None
    when anything differs or drifted, for `make_plan` to say what.

    Its `changes` leave out the unchanged resources (`summary` counts them): it is for
    the text view, which shows none of them. JSON, Markdown and plan files list each
    as a no-op change with its specs, and come from `make_plan`."""
    policy = Policy.from_json(policy_json)
    if _managed(drift, policy) or sum(len(items) for items in live.resources.values()) != len(
        digests
    ):
        return None
    for kind, items in live.resources.items():
        for rid, current in items.items():
            if digests.get(address(kind, rid)) != current.spec_digest():
                return None
    if spec_hash(live.settings) != spec_hash(store):
        return None
    plan = _document(
        [],
        store,
        desired_hash,
        policy,
        live,
        store_url=store_url,
        source=source,
        options=options or PlanOptions(),
        interrupted=interrupted,
        warnings=warnings,
        drift=[],
        unmanaged=[],
        warning=None,
    )
    plan["summary"]["no-op"] = len(digests)
    return plan


def _managed(drift: list[DriftEntry] | None, policy: Policy) -> list[DriftEntry]:
    """The drift of resources this definition manages: those policy.unmanaged leaves
    alone are nobody's drift here."""
    return [d for d in drift or [] if not policy.unmanaged_pattern(*split_address(d["address"]))]


def _document(
    changes: list[Change],
    store: Spec,
    desired_hash: str,
    policy: Policy,
    live: LiveState,
    *,
    store_url: str,
    source: str | None,
    options: PlanOptions,
    interrupted: InterruptedApply | None,
    warnings: list[dict[str, Any]] | None,
    drift: list[DriftEntry] | None,
    unmanaged: list[Unmanaged],
    warning: str | None,
) -> Plan:
    """The plan document of these ordered changes."""
    settings = _settings_change(store, live)
    summary: dict[Action, int] = dict.fromkeys(ACTIONS, 0)
    for c in changes:
        summary[c["action"]] += 1
    plan: Plan = {
        # first, so that it is the first thing a reader of the JSON sees too
        "deletion_warning": warning,
        "format_version": FORMAT_VERSION,
        "tool": {"name": "storecfg", "version": __version__},
        "plan_id": str(uuid.uuid4()),
        "created_at": utc_iso(),
        "source": source,
        "store": {
            "id": live.store_id,
            "url": store_url,
            "revision": live.revision,
            # what the views show amounts in and the store by (the desired settings)
            "name": store.get("name"),
            "currency": store.get("currency"),
        },
        "desired_state_hash": desired_hash,
        "live_revisions": live.revisions(),
        "settings_revision": live.settings_revision,
        "summary": summary,
        "has_changes": any(c["action"] != "no-op" for c in changes)
        or settings["action"] != "no-op",
        "settings": settings,
        "impact": [],
        "tax_summary": [],
        "warnings": warnings or [],
        "interrupted_apply": interrupted,
        "drift": drift or [],
        "policy": {
            "deletes": policy.deletes,
            "unmanaged": list(policy.unmanaged),
            "allow_deletes": options.allow_deletes,
        },
        "unmanaged": unmanaged,
        "changes": changes,
    }
    plan["impact"] = impact_of(plan)
    plan["tax_summary"] = plan_tax_summary(changes)
    return plan


def _note_price_effect(diff: list[DiffEntry], after: Spec) -> None:
    """Mark each change of a plan's fees with when it reaches existing subscriptions
    (`price.effective` of the spec written), so every view shows it beside the change."""
    effective = price_effective(after)
    for entry in diff:
        path = entry["path"]
        if path.startswith("price.") and path not in ("price.effective", "price.setup"):
            entry["effective"] = effective


def _change(
    addr: str,
    kind: str,
    rid: str,
    action: Action,
    before: Spec | None,
    after: Spec | None,
    revision: int | None,
) -> Change:
    return {
        "address": addr,
        "kind": kind,
        "id": rid,
        "name": display_name(after or before),
        "action": action,
        "revision": revision,
        "before": before,
        "after": after,
        "diff": [],
    }


def display_name(spec: Any) -> str | None:
    """What people call a resource: its name (or title) as the store shows it."""
    if not isinstance(spec, dict):
        return None
    for key in ("name", "title", "store_title"):
        value = spec.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _settings_change(desired: Spec, live: LiveState) -> SettingsChange:
    """The store settings: `no-op`, `create` (a store whose settings were never set:
    what it shows are defaults, not choices) or `update`."""
    before = live.settings
    same = spec_hash(before) == spec_hash(desired)
    action: SettingsAction = (
        "no-op" if same else "create" if live.settings_revision == 0 else "update"
    )
    return {
        "action": action,
        "revision": live.settings_revision,
        "before": before,
        "after": desired,
        "diff": [] if same else diff_specs(before, desired),
    }
