"""The plan document's types: what `plan --format json` prints and `plan -o` saves.

A plan is plain JSON-ready data (format_version 1, docs/plan-format.md); these
TypedDicts name its keys and the `Literal`s its actions, so that what makes a plan
(plan.py), what reads and seals it (planfile.py), what applies it (execute.py) and
what renders it (views/) agree, checked by mypy. Nothing here does any work.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, final

FORMAT_VERSION = 1

#: what a plan does to one resource
Action = Literal["create", "update", "replace", "delete", "no-op"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "no-op")
#: what a plan does to the store settings (they are never deleted or replaced)
SettingsAction = Literal["create", "update", "no-op"]
#: what an apply writes: a resource change, or the store settings
WriteAction = Literal["create", "update", "replace", "delete", "settings"]

#: a resource spec as the store API stores it
Spec = dict[str, Any]

#: one field-level difference (apply/diff.py): `op` and `path`, with `old`, `new`,
#: `item`, `at`, `from`, `to` as the op needs, and `effective` on a plan's fees
DiffEntry = TypedDict(
    "DiffEntry",
    {
        "op": Literal["change", "add", "remove", "insert", "move"],
        "path": str,
        "old": NotRequired[Any],
        "new": NotRequired[Any],
        "item": NotRequired[Any],
        "at": NotRequired[int],
        "from": NotRequired[int],
        "to": NotRequired[int],
        "effective": NotRequired[str],
    },
)


class Change(TypedDict):
    """What the plan does to one resource (`changes` lists every resource)."""

    address: str
    kind: str
    id: str
    name: str | None
    action: Action
    #: the live revision (None for creates): the write sends it as If-Match
    revision: int | None
    before: Spec | None
    after: Spec | None
    diff: list[DiffEntry]
    #: for replace: the fields that cannot change in place
    replace_reasons: NotRequired[list[str]]
    #: FILE:LINE where the resource is defined (None for deletes and restores)
    source: NotRequired[str | None]
    #: the definition file it comes from (for deletes: as the store recorded it)
    file: NotRequired[str | None]


class SettingsChange(TypedDict):
    action: SettingsAction
    revision: int
    before: Spec
    after: Spec
    diff: list[DiffEntry]


class PlanStore(TypedDict):
    id: str
    url: str
    #: the live store revision the plan was computed against
    revision: int
    name: str | None
    currency: str | None


class Tool(TypedDict):
    name: str
    version: str


#: impact notes, riskiest first in the plan
ImpactType = Literal[
    "delete",
    "replace",
    "price",
    "unpublished",
    "tax_rate",
    "tax_rule",
    "currency",
    "tax_display",
    "payment_method",
    "removed_from_category",
    "scenario_order",
    "payment_regions",
]
Risk = Literal["high", "medium"]


class ImpactItem(TypedDict):
    """One business-level note; the keys beyond type, risk and message depend on the type
    (docs/plan-format.md, `impact`)."""

    type: ImpactType
    risk: Risk
    message: str
    address: NotRequired[str]
    addresses: NotRequired[list[str]]
    name: NotRequired[str | None]
    old: NotRequired[Any]
    new: NotRequired[Any]
    change: NotRequired[str]
    # price
    field: NotRequired[str]
    currency: NotRequired[str | None]
    fee: NotRequired[str]
    period: NotRequired[Any]
    addon: NotRequired[dict[str, Any] | None]
    unit: NotRequired[str | None]
    effective: NotRequired[str]
    # taxes
    region: NotRequired[str | None]
    rate: NotRequired[Any]
    action: NotRequired[Action]
    # categories
    plan: NotRequired[str]


class TaxEntry(TypedDict):
    """A region (and sales category) whose effective tax rate the plan changes."""

    region: str
    sales_category: str | None
    old: str
    new: str
    change: str
    rules: list[Any]


class DriftEntry(TypedDict):
    address: str
    #: changed | created | deleted
    kind: str
    revision: int | None
    changed_at: str | None


class InterruptedApply(TypedDict):
    """The last apply of the store, when it did not finish: from the store's records, or
    (for a store without history) from the local journal."""

    plan_id: Any
    started_at: Any
    done: int
    total: int
    snapshot: Any
    journal: str | None
    message: str
    apply_id: NotRequired[str]
    status: NotRequired[str]
    source: NotRequired[dict[str, Any]]


class PlanPolicy(TypedDict):
    deletes: str
    unmanaged: list[str]
    #: whether --allow-deletes was given when the plan was made
    allow_deletes: bool


class Unmanaged(TypedDict):
    address: str
    pattern: str


class PlanTarget(TypedDict):
    name: str
    store_url_env: str | None
    token_env: str | None


@final
class Plan(TypedDict):
    """The whole plan document, keys in the order it is printed."""

    deletion_warning: str | None
    format_version: int
    tool: Tool
    plan_id: str
    created_at: str
    source: str | None
    store: PlanStore
    desired_state_hash: str
    live_revisions: dict[str, int]
    settings_revision: int
    summary: dict[Action, int]
    has_changes: bool
    settings: SettingsChange
    impact: list[ImpactItem]
    tax_summary: list[TaxEntry]
    #: definition warnings, as `validate --json` prints diagnostics
    warnings: list[dict[str, Any]]
    interrupted_apply: InterruptedApply | None
    drift: list[DriftEntry]
    policy: PlanPolicy
    unmanaged: list[Unmanaged]
    changes: list[Change]
    #: set by `planfile.seal`, over everything else
    checksum: NotRequired[str]
    #: only in plans made for a target (--target / --all-targets)
    target: NotRequired[PlanTarget]


class FailureReason(TypedDict):
    message: str
    hint: str | None
    diagnostics: list[dict[str, Any]]


@final
class PlanFailure(TypedDict):
    """What the views render instead of a plan that could not be made."""

    store: dict[str, Any]
    source: str | None
    error: FailureReason


#: a plan, or the failure that kept it from being made (views render either)
PlanOrFailure = Plan | PlanFailure
