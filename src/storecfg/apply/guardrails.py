"""Guardrails for unattended applies: what a plan may delete, and what it must not break.

`policy.deletes: deny` and `--max-deletes` refuse plans that delete (or replace) too
much; references across `policy.unmanaged` must hold after the apply; a plan that
deletes every resource of a kind, or of a file no longer in the definition, carries
a warning line. All of it raises PlanError or returns data; nothing prints.
"""

from __future__ import annotations

from ..errors import PlanError
from ..model import KINDS, DesiredState, LiveState, address, split_address
from ..policy import Policy
from ..spec.fields import kind_info, values_at
from ..spec.graph import dependencies
from .plandoc import Change, Plan, Unmanaged

WARNING_PREFIX = "Warning: "


def check_deletes(
    changes: list[Change],
    policy: Policy,
    *,
    max_deletes: int | None,
    allow_deletes: bool,
    warning: str | None = None,
) -> None:
    """policy.deletes and --max-deletes: a replace counts as a delete."""
    deleting = [c["address"] for c in changes if c["action"] in ("delete", "replace")]
    if not deleting:
        return
    n = len(deleting)
    what = f"{n} resource{'s' if n != 1 else ''}"
    also = f" ({warning.removeprefix(WARNING_PREFIX).rstrip('.')})" if warning else ""
    names = ", ".join(deleting)
    if policy.deletes == "deny" and not allow_deletes:
        raise PlanError(
            f"store.yaml says policy.deletes: deny, and the plan deletes or replaces {what}: "
            f"{names}{also}",
            hint="If these deletes are intended, run again with --allow-deletes "
            "(or keep the resources in the definition).",
        )
    if max_deletes is not None and n > max_deletes:
        raise PlanError(
            f"the plan deletes or replaces {what}, more than --max-deletes "
            f"{max_deletes}: {names}{also}",
            hint=f"If these deletes are intended, run again with --max-deletes {n} (or more).",
        )


def check_planfile_deletes(plan: Plan, *, max_deletes: int | None, allow_deletes: bool) -> None:
    """`apply PLANFILE`: --max-deletes, and the policy the plan was made under."""
    recorded = plan["policy"] if isinstance(plan.get("policy"), dict) else None
    policy = Policy.from_json(dict(recorded) if recorded is not None else {})
    allowed = allow_deletes or (recorded is not None and recorded.get("allow_deletes") is True)
    warning = plan.get("deletion_warning")
    check_deletes(
        [c for c in plan["changes"] if isinstance(c, dict)],
        policy,
        max_deletes=max_deletes,
        allow_deletes=allowed,
        warning=warning if isinstance(warning, str) else None,
    )


def check_unmanaged_references(
    desired: DesiredState, live: LiveState, policy: Policy, unmanaged: list[Unmanaged]
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
                            f"{address(kind, rid)} refers to {address(target, value)}, which is "
                            f"not managed here (policy.unmanaged {pattern!r}) and does not exist "
                            "in the live store"
                        )
    for item in unmanaged:
        kind, rid = split_address(item["address"])
        spec = live.resources[kind][rid].spec
        for target_addr in sorted(set(dependencies(kind, spec))):
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


def deletion_warning(
    changes: list[Change], desired: DesiredState, live: LiveState, policy: Policy
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
