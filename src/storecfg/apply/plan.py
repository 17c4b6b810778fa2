"""Plans: DesiredState x LiveState -> ordered changes, as plain JSON-ready data.

A plan is a dict (format_version 1) that `plan --format json` prints and `plan -o`
saves; the text and Markdown views render the very same dict. Nothing here prints.

Order: deletes first, in reverse dependency order; then creates, updates and
replaces in dependency order (kinds as `model.KINDS` lists them; within a kind,
a plan comes after the plans it upgrades to and a category after its parent).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .._fs import atomic_write
from ..errors import PlanError, UsageError, display_path
from ..model import (
    ID_PATTERN,
    KIND_RANK,
    KINDS,
    DesiredState,
    LiveResource,
    LiveState,
    address,
    spec_hash,
    split_address,
)
from ..policy import Policy
from ..spec.fields import kind_info, values_at
from .diff import diff_specs, get_path, set_path
from .impact import impact_of, price_effective
from .taxes import plan_tax_summary

FORMAT_VERSION = 1
_ID = re.compile(ID_PATTERN)
_PLAN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACTIONS = ("create", "update", "replace", "delete", "no-op")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _lifecycle(spec: dict[str, Any] | None) -> dict[str, Any]:
    if not spec:
        return {}
    value = spec.get("lifecycle")
    return value if isinstance(value, dict) else {}


def _effective(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
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


def _replace_reasons(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    reasons = []
    for path in kind_info(kind).replace_paths:
        dotted = ".".join(str(p) for p in path)
        if "*" in path:
            continue
        if get_path(before, dotted) != get_path(after, dotted):
            reasons.append(dotted)
    return reasons


def _dependencies(kind: str, spec: dict[str, Any], *, same_kind: bool = False) -> Iterable[str]:
    """Addresses this spec refers to (with `same_kind`, only those of its own kind)."""
    for path, target in kind_info(kind).ref_paths:
        if same_kind and target != kind:
            continue
        for _, value in values_at(spec, path):
            if isinstance(value, str):
                yield address(target, value)


def graph_levels(edges: dict[str, list[str]]) -> dict[str, int]:
    """Longest-path depth of each node (0 for nodes with no edges): a node comes after
    everything its edges point to. Edges to unknown nodes and cycle edges are ignored
    (iterative depth-first search, linear in nodes and edges)."""
    level: dict[str, int] = {}
    for start in edges:
        if start in level:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path: set[str] = {start}
        while stack:
            node, i = stack[-1]
            targets = edges[node]
            if i < len(targets):
                stack[-1] = (node, i + 1)
                nxt = targets[i]
                if nxt in edges and nxt not in level and nxt not in on_path:
                    on_path.add(nxt)
                    stack.append((nxt, 0))
                continue
            stack.pop()
            on_path.discard(node)
            level[node] = 1 + max((level[t] for t in targets if t in level), default=-1)
    return level


def _intra_kind_levels(kind: str, specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Depth of each resource in its kind's own reference graph (targets first)."""
    prefix = len(kind) + 1
    return graph_levels(
        {
            rid: [
                a[prefix:] for a in _dependencies(kind, spec, same_kind=True) if a[prefix:] != rid
            ]
            for rid, spec in specs.items()
        }
    )


def order_key_factory(
    specs_by_kind: dict[str, dict[str, dict[str, Any]]],
) -> dict[str, tuple[int, int, str]]:
    """address -> sort key (kind rank, level within kind, id)."""
    keys: dict[str, tuple[int, int, str]] = {}
    for kind, specs in specs_by_kind.items():
        self_refs = any(target == kind for _, target in kind_info(kind).ref_paths)
        levels = _intra_kind_levels(kind, specs) if self_refs else {}
        rank = KIND_RANK[kind]
        for rid in specs:
            keys[address(kind, rid)] = (rank, levels.get(rid, 0), rid)
    return keys


def make_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    store_url: str,
    source: str | None = None,
    options: PlanOptions | None = None,
    interrupted: dict[str, Any] | None = None,
    warnings: list[dict[str, Any]] | None = None,
    drift: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Compare a desired state with a live one; raise PlanError on lifecycle violations.

    `drift` lists what was changed outside storecfg since it last wrote the store
    (apply/drift.py); it is shown apart from the changes and changes none of them.
    Resources that policy.unmanaged leaves alone are not drift: nobody manages them here."""
    options = options or PlanOptions()
    policy = Policy.from_json(desired.policy)
    drift = [d for d in drift or [] if not policy.unmanaged_pattern(*split_address(d["address"]))]
    changes: list[dict[str, Any]] = []
    protected: list[str] = []
    unmanaged: list[dict[str, str]] = []
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
            effective = _effective(spec, current.spec) if options.ignore_changes else spec
            if effective is not spec and spec_hash(effective) == current.spec_digest():
                changes.append(
                    _change(addr, kind, rid, "no-op", current.spec, effective, current.revision)
                )
                continue
            reasons = _replace_reasons(kind, current.spec, effective)
            action = "replace" if reasons else "update"
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
    changes = _ordered(changes, desired, live)
    for change in changes:  # where to look in the definition (deletes have no place)
        location = desired.sources.get(change["address"])
        change["source"] = f"{location.file}:{location.line}" if location is not None else None
        if change["action"] == "delete":
            current = live.resources[change["kind"]][change["id"]]
            change["file"] = current.source
        elif change["action"] != "no-op":
            change["file"] = desired.file_of(change["address"])
    if policy.unmanaged:
        _check_unmanaged_references(desired, live, policy, unmanaged)
    warning = deletion_warning(changes, desired, live, policy)
    _check_deletes(changes, policy, options, warning)
    settings = _settings_change(desired.store, live)
    summary = {a: 0 for a in ACTIONS}
    for c in changes:
        summary[c["action"]] += 1
    plan: dict[str, Any] = {
        # first, so that it is the first thing a reader of the JSON sees too
        "deletion_warning": warning,
        "format_version": FORMAT_VERSION,
        "tool": {"name": "storecfg", "version": __version__},
        "plan_id": str(uuid.uuid4()),
        "created_at": now_iso(),
        "source": source,
        "store": {
            "id": live.store_id,
            "url": store_url,
            "revision": live.revision,
            # what the views show amounts in and the store by (the desired settings)
            "name": desired.store.get("name"),
            "currency": desired.store.get("currency"),
        },
        "desired_state_hash": desired.hash(),
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
        "policy": {**policy.to_json(), "allow_deletes": options.allow_deletes},
        "unmanaged": unmanaged,
        "changes": changes,
    }
    plan["impact"] = impact_of(plan)
    plan["tax_summary"] = plan_tax_summary(changes)
    return plan


def _note_price_effect(diff: list[dict[str, Any]], after: dict[str, Any]) -> None:
    """Mark each change of a plan's fees with when it reaches existing subscriptions
    (`price.effective` of the spec written), so every view shows it beside the change."""
    effective = price_effective(after)
    for entry in diff:
        path = entry["path"]
        if path.startswith("price.") and path not in ("price.effective", "price.setup"):
            entry["effective"] = effective


def _names(addresses: list[str]) -> str:
    return ", ".join(addresses)


def _check_deletes(
    changes: list[dict[str, Any]],
    policy: Policy,
    options: PlanOptions,
    warning: str | None = None,
) -> None:
    """policy.deletes and --max-deletes: a replace counts as a delete."""
    deleting = [c["address"] for c in changes if c["action"] in ("delete", "replace")]
    if not deleting:
        return
    n = len(deleting)
    what = f"{n} resource{'s' if n != 1 else ''}"
    also = f" ({warning.removeprefix(WARNING_PREFIX).rstrip('.')})" if warning else ""
    if policy.deletes == "deny" and not options.allow_deletes:
        raise PlanError(
            f"store.yaml says policy.deletes: deny, and the plan deletes or replaces {what}: "
            f"{_names(deleting)}{also}",
            hint="If these deletes are intended, run again with --allow-deletes "
            "(or keep the resources in the definition).",
        )
    if options.max_deletes is not None and n > options.max_deletes:
        raise PlanError(
            f"the plan deletes or replaces {what}, more than --max-deletes "
            f"{options.max_deletes}: {_names(deleting)}{also}",
            hint=f"If these deletes are intended, run again with --max-deletes {n} (or more).",
        )


def _check_unmanaged_references(
    desired: DesiredState, live: LiveState, policy: Policy, unmanaged: list[dict[str, str]]
) -> None:
    """References across the line between managed and unmanaged resources must hold
    after the apply: what the definition names outside itself must exist in the live
    store, and what an unmanaged resource names must not be deleted."""
    problems: list[str] = []
    kinds = {p.partition(".")[0] for p in policy.unmanaged}
    for kind, specs in desired.resources.items():
        paths = [(path, target) for path, target in kind_info(kind).ref_paths if target in kinds]
        if not paths:
            continue
        for rid, spec in specs.items():
            for path, target in paths:
                for _, value in values_at(spec, path):
                    if not isinstance(value, str) or value in desired.resources.get(target, {}):
                        continue
                    pattern = policy.unmanaged_pattern(target, value)
                    if pattern is not None and value not in live.resources.get(target, {}):
                        problems.append(
                            f"{kind}.{rid} refers to {target}.{value}, which is not managed here "
                            f"(policy.unmanaged {pattern!r}) and does not exist in the live store"
                        )
    for item in unmanaged:
        kind, rid = split_address(item["address"])
        spec = live.resources[kind][rid].spec
        for target_addr in sorted(set(_dependencies(kind, spec))):
            target, tid = split_address(target_addr)
            if tid in desired.resources.get(target, {}):
                continue
            if tid in live.resources.get(target, {}) and policy.unmanaged_pattern(target, tid):
                continue
            gone = tid in live.resources.get(target, {})
            problems.append(
                f"{item['address']} (not managed here) refers to {target_addr}, which the plan "
                + ("deletes" if gone else "does not create")
            )
    if problems:
        raise PlanError(
            "the plan would leave references dangling across policy.unmanaged: "
            + "; ".join(problems),
            hint="Keep what unmanaged resources refer to in the definition (or change them where "
            "they are managed first), and create what the definition refers to where it is managed.",
        )


def check_planfile_deletes(plan: dict[str, Any], options: PlanOptions) -> None:
    """`apply PLANFILE`: --max-deletes, and the policy the plan was made under."""
    recorded: dict[str, Any] = plan["policy"] if isinstance(plan.get("policy"), dict) else {}
    policy = Policy.from_json(recorded)
    allowed = options.allow_deletes or recorded.get("allow_deletes") is True
    _check_deletes(
        [c for c in plan["changes"] if isinstance(c, dict)],
        policy,
        PlanOptions(max_deletes=options.max_deletes, allow_deletes=allowed),
        plan.get("deletion_warning") if isinstance(plan.get("deletion_warning"), str) else None,
    )


def reviewed_differences(reviewed: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """How the changes of a new plan differ from those of a reviewed one: by address,
    action and the spec each change results in (revisions and order do not count)."""

    def writes(plan: dict[str, Any]) -> dict[str, tuple[str, Any]]:
        out = {
            c["address"]: (c["action"], c.get("after"))
            for c in plan.get("changes", [])
            if c.get("action") != "no-op"
        }
        settings = plan.get("settings") or {}
        if settings.get("action", "no-op") != "no-op":
            out["store.settings"] = (settings["action"], settings.get("after"))
        return out

    out: list[str] = []
    if reviewed["store"]["id"] != new["store"]["id"]:
        out.append(
            f"the reviewed plan is for store {reviewed['store']['id']}, this one for "
            f"{new['store']['id']}"
        )
    was, now = writes(reviewed), writes(new)

    def rank(addr: str) -> tuple[int, str]:
        return (KIND_RANK.get(split_address(addr)[0], -1), addr)

    for addr in sorted(set(was) | set(now), key=rank):
        before, after = was.get(addr), now.get(addr)
        if before is None and after is not None:
            out.append(f"{addr}: {after[0]} is new (not in the reviewed plan)")
        elif after is None and before is not None:
            out.append(f"{addr}: the reviewed {before[0]} is no longer planned")
        elif before is not None and after is not None and before[0] != after[0]:
            out.append(f"{addr}: reviewed as {before[0]}, now {after[0]}")
        elif (
            before is not None and after is not None and spec_hash(before[1]) != spec_hash(after[1])
        ):
            fields = sorted({d["path"] for d in diff_specs(before[1] or {}, after[1] or {})})
            shown = ", ".join(fields[:10]) + (
                f" and {len(fields) - 10} more" if len(fields) > 10 else ""
            )
            out.append(f"{addr}: {after[0]} with another result than reviewed ({shown})")
    return out


def deletion_warning(
    changes: list[dict[str, Any]], desired: DesiredState, live: LiveState, policy: Policy
) -> str | None:
    """One line when the plan deletes every resource of a kind, or every resource that
    came from a file that is no longer part of the definition (the mark of a removed
    include line or a deleted file), else None."""
    deleted = [c for c in changes if c["action"] == "delete"]
    if not deleted:
        return None
    parts: list[str] = []
    per_kind: dict[str, int] = {}
    for c in deleted:
        per_kind[c["kind"]] = per_kind.get(c["kind"], 0) + 1
    for kind in KINDS:
        n = per_kind.get(kind, 0)
        managed = sum(
            1 for rid in live.resources.get(kind, {}) if not policy.unmanaged_pattern(kind, rid)
        )
        if n and n == managed:
            parts.append(f"every {kind} resource in the store ({n})")
    if desired.root:  # a definition directory (restores and backup diffs have no files)
        gone = {c["address"] for c in deleted}
        by_file: dict[str, list[str]] = {}
        for kind, items in live.resources.items():
            for rid, res in items.items():
                if res.source is not None and not policy.unmanaged_pattern(kind, rid):
                    by_file.setdefault(res.source, []).append(address(kind, rid))
        files = set(desired.files)
        for file in sorted(by_file):
            members = by_file[file]
            if file not in files and all(a in gone for a in members):
                parts.append(
                    f"every resource from {file} ({len(members)}), a file that is no longer "
                    "part of the definition"
                )
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{WARNING_PREFIX}this plan deletes {listed}."


WARNING_PREFIX = "Warning: "


def _change(
    addr: str, kind: str, rid: str, action: str, before: Any, after: Any, revision: int | None
) -> dict[str, Any]:
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


def _settings_change(desired: dict[str, Any], live: LiveState) -> dict[str, Any]:
    """The store settings: `no-op`, `create` (a store whose settings were never set:
    what it shows are defaults, not choices) or `update`."""
    before = live.settings
    same = spec_hash(before) == spec_hash(desired)
    action = "no-op" if same else "create" if live.settings_revision == 0 else "update"
    return {
        "action": action,
        "revision": live.settings_revision,
        "before": before,
        "after": desired,
        "diff": [] if same else diff_specs(before, desired),
    }


def _ordered(
    changes: list[dict[str, Any]], desired: DesiredState, live: LiveState
) -> list[dict[str, Any]]:
    deletes = [c for c in changes if c["action"] == "delete"]
    rest = [c for c in changes if c["action"] != "delete"]
    forward = order_key_factory(desired.resources)
    # deletes are ordered among what the live store holds of the deleted kinds only
    gone_kinds = {c["kind"] for c in deletes}
    backward = order_key_factory(
        {
            k: {rid: r.spec for rid, r in v.items()}
            for k, v in live.resources.items()
            if k in gone_kinds
        }
    )
    deletes.sort(key=lambda c: backward[c["address"]], reverse=True)
    rest.sort(key=lambda c: forward[c["address"]])
    return deletes + rest


# ---------------------------------------------------------------- plan files


#: what the checksum of plan files made before it covered the whole document covered
_LEGACY_SEALED = ("plan_id", "store", "live_revisions", "settings_revision", "settings", "changes")


def plan_checksum(plan: dict[str, Any]) -> str:
    """`sha256:` of the canonical JSON of the whole plan but its checksum: what a
    reviewer read (summary, impact, has_changes) is covered as much as what apply does."""
    return "sha256:" + spec_hash({key: value for key, value in plan.items() if key != "checksum"})


def _legacy_checksum(plan: dict[str, Any]) -> str:
    return "sha256:" + spec_hash({key: plan.get(key) for key in _LEGACY_SEALED})


def seal(plan: dict[str, Any]) -> dict[str, Any]:
    """Add the checksum that `apply PLANFILE` verifies: a plan edited by hand after it
    was made (and maybe after it was reviewed) is refused. It detects edits, not a
    forger who computes the checksum again: that is what the store URL check and the
    store's revisions are for."""
    plan.pop("checksum", None)
    plan["checksum"] = plan_checksum(plan)
    return plan


def write_plan(path: Path, plan: dict[str, Any]) -> None:
    seal(plan)
    atomic_write(path, (json.dumps(plan, indent=1, ensure_ascii=False) + "\n").encode(), mode=0o600)


def read_plan(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            plan = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"{display_path(str(path))}: no such plan file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{display_path(str(path))} is not a storecfg plan file: {exc}") from None
    problems = check_plan_document(plan)
    if problems or not isinstance(plan, dict):
        raise UsageError(f"{display_path(str(path))} is not a valid storecfg plan file: {problems}")
    if plan.get("checksum") != plan_checksum(plan):
        if plan.get("checksum") == _legacy_checksum(plan):
            raise UsageError(
                f"{display_path(str(path))} was made by an older storecfg whose checksum does "
                "not cover the whole plan; this storecfg applies only plans it can check whole. "
                "Make a new plan with `storecfg plan -o`."
            )
        raise UsageError(
            f"{display_path(str(path))} was changed after it was made (its checksum does not match); "
            "a plan is applied exactly as it was reviewed. Make a new plan with `storecfg plan -o`."
        )
    return plan


def check_plan_document(plan: Any) -> str | None:
    if not isinstance(plan, dict):
        return "expected a JSON object"
    version = plan.get("format_version")
    if version != FORMAT_VERSION:
        return f"format_version {version!r} is not supported (this storecfg reads {FORMAT_VERSION})"
    for key in ("plan_id", "store", "changes", "live_revisions", "settings"):
        if key not in plan:
            return f"missing {key!r}"
    if not isinstance(plan["plan_id"], str) or not _PLAN_ID.fullmatch(plan["plan_id"]):
        return "plan_id must be a UUID"  # it names journal files
    store = plan["store"]
    if (
        not isinstance(store, dict)
        or not isinstance(store.get("id"), str)
        or not _ID.fullmatch(store["id"])
        or not isinstance(store.get("revision"), int)
    ):
        return "store must have a valid id and a revision"
    if not isinstance(store.get("url", ""), str):
        return "store.url must be a string"
    if not isinstance(plan.get("has_changes", True), bool):
        return "has_changes must be true or false"
    if not isinstance(plan["changes"], list):
        return "changes must be a list"
    for change in plan["changes"]:
        if not isinstance(change, dict) or change.get("action") not in ACTIONS:
            return "every change needs an action"
        kind, rid = split_address(str(change.get("address", "")))
        if kind not in KINDS or not _ID.fullmatch(rid or ""):
            return f"bad address {change.get('address')!r}"
    return None


def stale_details(plan: dict[str, Any], live: LiveState) -> list[str]:
    """What changed in the store since the plan was made (empty when nothing did)."""
    out: list[str] = []
    recorded: dict[str, int] = plan.get("live_revisions", {})
    current = live.revisions()
    for addr in sorted(
        set(recorded) | set(current), key=lambda a: (KIND_RANK.get(split_address(a)[0], 99), a)
    ):
        before, now = recorded.get(addr), current.get(addr)
        if before == now:
            continue
        if before is None:
            out.append(f"{addr} was created (revision {now})")
        elif now is None:
            out.append(f"{addr} was deleted (it was at revision {before})")
        else:
            out.append(f"{addr} changed (revision {before} -> {now})")
    if (
        plan.get("settings_revision") is not None
        and plan["settings_revision"] != live.settings_revision
    ):
        out.append(
            f"store settings changed (revision {plan['settings_revision']} -> {live.settings_revision})"
        )
    return out
