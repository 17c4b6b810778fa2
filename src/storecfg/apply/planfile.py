"""Plan files: written sealed, read back checked, refused when stale or not as reviewed.

`write_plan` saves a plan with a checksum over the whole document; `read_plan` gives
it back only if it is a plan of this format whose checksum matches (a plan is applied
exactly as it was reviewed). `check_fresh` refuses a plan the store moved away from,
naming what changed; `reviewed_differences` tells how a new plan's changes differ
from those of a reviewed one (`apply --reviewed`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

from .._fs import atomic_write
from ..errors import PlanError, UsageError, display_path
from ..model import ID_PATTERN, KIND_RANK, KINDS, LiveState, spec_hash, split_address
from .diff import diff_specs
from .plandoc import ACTIONS, FORMAT_VERSION, Plan

_ID = re.compile(ID_PATTERN)
_PLAN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: what the checksum of plan files made before it covered the whole document covered
_LEGACY_SEALED = ("plan_id", "store", "live_revisions", "settings_revision", "settings", "changes")


def plan_checksum(plan: Plan) -> str:
    """`sha256:` of the canonical JSON of the whole plan but its checksum: what a
    reviewer read (summary, impact, has_changes) is covered as much as what apply does."""
    return "sha256:" + spec_hash({key: value for key, value in plan.items() if key != "checksum"})


def legacy_checksum(plan: Plan) -> str:
    """The checksum plan files of format 1 had before it covered the whole document."""
    return "sha256:" + spec_hash({key: plan.get(key) for key in _LEGACY_SEALED})


def seal(plan: Plan) -> Plan:
    """Add the checksum that `apply PLANFILE` verifies: a plan edited by hand after it
    was made (and maybe after it was reviewed) is refused. It detects edits, not a
    forger who computes the checksum again: that is what the store URL check and the
    store's revisions are for."""
    plan.pop("checksum", None)
    plan["checksum"] = plan_checksum(plan)
    return plan


def write_plan(path: Path, plan: Plan) -> None:
    """Save `plan` sealed, atomically, readable by its owner only."""
    seal(plan)
    atomic_write(path, (json.dumps(plan, indent=1, ensure_ascii=False) + "\n").encode(), mode=0o600)


def read_plan(path: Path) -> Plan:
    """The plan saved at `path`, or UsageError saying why it cannot be applied."""
    shown = display_path(str(path))
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such plan file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{shown} is not a storecfg plan file: {exc}") from None
    problems = check_plan_document(doc)
    if problems or not isinstance(doc, dict):
        raise UsageError(f"{shown} is not a valid storecfg plan file: {problems}")
    plan = cast(Plan, doc)
    if plan.get("checksum") != plan_checksum(plan):
        if plan.get("checksum") == legacy_checksum(plan):
            raise UsageError(
                f"{shown} was made by an older storecfg whose checksum does "
                "not cover the whole plan; this storecfg applies only plans it can check whole. "
                "Make a new plan with `storecfg plan -o`."
            )
        raise UsageError(
            f"{shown} was changed after it was made (its checksum does not match); "
            "a plan is applied exactly as it was reviewed. Make a new plan with `storecfg plan -o`."
        )
    return plan


def check_plan_document(plan: Any) -> str | None:
    """What keeps `plan` (parsed JSON) from being a plan document, or None."""
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


def stale_details(plan: Plan, live: LiveState) -> list[str]:
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
    recorded_settings = plan.get("settings_revision")
    if recorded_settings is not None and recorded_settings != live.settings_revision:
        out.append(
            f"store settings changed (revision {recorded_settings} -> {live.settings_revision})"
        )
    return out


def check_fresh(plan: Plan, live: LiveState) -> None:
    """PlanError naming what changed when the store moved since the plan was made."""
    store = plan["store"]
    if live.revision == store["revision"]:
        return
    changed = stale_details(plan, live)
    shown = "; ".join(changed[:20]) + (
        f"; and {len(changed) - 20} more" if len(changed) > 20 else ""
    )
    raise PlanError(
        f"the plan is stale: store {store['id']} moved from revision {store['revision']} to "
        f"{live.revision} since it was made" + (f": {shown}" if shown else ""),
        hint="Run `storecfg plan` again and apply the new plan.",
    )


def _writes(plan: Plan) -> dict[str, tuple[str, Any]]:
    """address -> (action, spec written) of everything the plan writes."""
    out: dict[str, tuple[str, Any]] = {
        c["address"]: (c["action"], c.get("after"))
        for c in plan.get("changes", [])
        if c.get("action") != "no-op"
    }
    settings = plan["settings"]
    if isinstance(settings, dict) and settings.get("action", "no-op") != "no-op":
        out["store.settings"] = (settings["action"], settings.get("after"))
    return out


def reviewed_differences(reviewed: Plan, new: Plan) -> list[str]:
    """How the changes of a new plan differ from those of a reviewed one: by address,
    action and the spec each change results in (revisions and order do not count)."""
    out: list[str] = []
    if reviewed["store"]["id"] != new["store"]["id"]:
        out.append(
            f"the reviewed plan is for store {reviewed['store']['id']}, this one for "
            f"{new['store']['id']}"
        )
    was, now = _writes(reviewed), _writes(new)

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
