"""Plans as the storefront shows them: prices, fees, add-ons, rules, tax, and what
changed against the live store.

`PlanViews` turns a plan's spec into a `PlanView` (built once per plan) and, when a
live store is given, marks the plan new, changed (price, setup fee, term, add-ons)
or edited (other fields) against the live plan of the same ID.
"""

from __future__ import annotations

from typing import Any

from ..model import DesiredState, spec_hash
from .sanitize import safe_html
from .text import (
    BILLING_MODELS,
    duration,
    is_zero,
    mapping,
    money,
    name_of,
    per_period,
    percent_change,
    quantity,
    rate,
    rule_notes,
    start_quantity,
    term,
)
from .views import AddonView, OrderField, PlanView

Spec = dict[str, Any]

#: how many regions a plan's tax note names before it says "and N more"
TAX_NOTE_REGIONS = 4


class PlanViews:
    """The plans of one desired state, compared with `live_plans` when given (plan ID
    -> live spec). `plan_categories` maps a plan ID to every sales category that holds
    it, directly or through a subcategory: tax rules apply by category."""

    def __init__(
        self,
        desired: DesiredState,
        live_plans: dict[str, Spec] | None,
        plan_categories: dict[str, set[str]],
    ) -> None:
        self.desired = desired
        self.res = desired.resources
        self.currency = str(desired.store.get("currency", ""))
        self.include_tax = bool(desired.store.get("prices_include_tax", False))
        self.plans: dict[str, Spec] = self.res.get("service_plans", {})
        self.compare = live_plans is not None
        self.live_plans: dict[str, Spec] = live_plans or {}
        self.plan_categories = plan_categories
        self._plan_cache: dict[str, PlanView] = {}

    def _rules_for(self, plan_id: str) -> list[Spec]:
        cats = self.plan_categories.get(plan_id, set())
        out = []
        for spec in self.res.get("tax_rules", {}).values():
            applies = spec.get("applies_to")
            wanted = applies.get("sales_categories") if isinstance(applies, dict) else None
            if not wanted or cats.intersection(wanted):
                out.append(spec)
        return sorted(out, key=lambda s: (str(s.get("region")), s.get("priority", 0)))

    def _tax_note(self, plan_id: str) -> str:
        rules = self._rules_for(plan_id)
        if not rules:
            return "tax included" if self.include_tax else "no tax rules apply"
        regions = [f"{r.get('region')} {rate(r.get('rate'))}" for r in rules]
        shown = ", ".join(regions[:TAX_NOTE_REGIONS])
        if len(regions) > TAX_NOTE_REGIONS:
            shown += f" and {len(regions) - TAX_NOTE_REGIONS} more"
        if self.include_tax or all(r.get("inclusive") for r in rules):
            return f"tax included ({shown})"
        return f"plus tax: {shown}"

    def _addon(self, spec: Spec) -> AddonView:
        price = mapping(spec.get("price"))
        unit = str(spec.get("unit") or "unit")
        category = self.res.get("resource_categories", {}).get(str(spec.get("category")))
        return AddonView(
            id=str(spec.get("id", "")),
            name=str(spec.get("name", spec.get("id", ""))),
            unit=unit,
            quantity=quantity(spec),
            price=money(self.currency, price.get("recurring", "0")),
            setup="" if is_zero(price.get("setup")) else money(self.currency, price.get("setup")),
            category=name_of(category, "") if category else "",
            visible=spec.get("visible", True) is not False,
            start=start_quantity(spec),
        )

    def view(self, plan_id: str, spec: Spec, *, status: str = "") -> PlanView:
        """The plan `spec` as the store shows it; `status` \"removed\" for a live plan the
        definition no longer has (nothing to compare it with)."""
        price = mapping(spec.get("price"))
        sku = self.res.get("skus", {}).get(str(spec.get("sku")))
        fields = spec.get("order_fields")
        view = PlanView(
            id=plan_id,
            name=name_of(spec, plan_id),
            description=safe_html(spec.get("description")),
            price=money(self.currency, price.get("recurring", "0")),
            per=per_period(spec.get("billing_period")),
            term=term(spec.get("subscription_period"), spec.get("billing_period")),
            setup="" if is_zero(price.get("setup")) else money(self.currency, price.get("setup")),
            fees=[
                f"{label} {money(self.currency, price.get(key))}"
                for key, label in (
                    ("setup", "setup fee"),
                    ("renewal", "renewal fee"),
                    ("cancellation", "early cancellation fee"),
                )
                if not is_zero(price.get(key))
            ],
            trial=f"{duration(spec.get('trial'))} free trial" if spec.get("trial") else "",
            tax_note=self._tax_note(plan_id),
            billing=BILLING_MODELS.get(str(spec.get("billing_model")), ""),
            sku=name_of(sku, str(spec.get("sku", ""))),
            vendor=str(sku.get("vendor", "")) if sku else "",
            published=spec.get("published", True) is not False,
            addons=[self._addon(a) for a in spec.get("resources") or [] if isinstance(a, dict)],
            upgrades=[
                (str(t), name_of(self.plans.get(t), str(t))) for t in spec.get("upgrades_to") or []
            ],
            rules=rule_notes(spec, self.currency),
            order_fields=[
                OrderField(
                    id=str(f.get("id", "")),
                    label=str(f.get("label") or f.get("id", "")),
                    type=str(f.get("type") or "text"),
                    required=f.get("required") is True,
                    pattern=str(f.get("pattern") or ""),
                )
                for f in (fields if isinstance(fields, list) else [])
                if isinstance(f, dict)
            ],
            status=status,
        )
        if status == "":
            self._compare(view, spec)
        return view

    def plan(self, plan_id: str) -> PlanView:
        """The definition's plan `plan_id`, built once."""
        if plan_id not in self._plan_cache:
            self._plan_cache[plan_id] = self.view(plan_id, self.plans[plan_id])
        return self._plan_cache[plan_id]

    def _compare(self, view: PlanView, spec: Spec) -> None:
        """Mark what differs from the live store: new plan, prices, term, add-ons."""
        if not self.compare:
            return
        old = self.live_plans.get(view.id)
        if old is None:
            view.status = "new"
            return
        cur = self.currency
        new_price = mapping(spec.get("price"))
        old_price = mapping(old.get("price"))
        later = (
            " (existing subscriptions: from their next renewal)"
            if new_price.get("effective") == "next_renewal"
            else ""
        )
        changes = []
        if old_price.get("recurring") != new_price.get("recurring"):
            view.old_price = money(cur, old_price.get("recurring", "0"))
            pct = percent_change(old_price.get("recurring"), new_price.get("recurring"))
            changes.append(
                f"Price {view.old_price} → {new_price.get('recurring')} {view.per}"
                + (f" ({pct})" if pct else "")
                + later
            )
        if old_price.get("setup") != new_price.get("setup"):
            changes.append(
                f"Setup fee {money(cur, old_price.get('setup', '0'))} → "
                f"{new_price.get('setup', '0')}"
            )
        old_term = term(old.get("subscription_period"), old.get("billing_period"))
        if old_term != view.term:
            changes.append(f"Term: {old_term} → {view.term}")
        old_addons = {
            str(a.get("id")): a for a in old.get("resources") or [] if isinstance(a, dict)
        }
        for addon in view.addons:
            before = old_addons.pop(addon.id, None)
            if before is None:
                addon.status = "new"
                changes.append(f"New add-on: {addon.name} ({addon.price} per {addon.unit})")
                continue
            before_price = mapping(before.get("price"))
            now: Spec = next(
                (
                    a
                    for a in spec.get("resources") or []
                    if isinstance(a, dict) and str(a.get("id")) == addon.id
                ),
                {},
            )
            now_price = mapping(now.get("price"))
            if before_price.get("recurring") != now_price.get("recurring"):
                addon.status = "changed"
                addon.old_price = money(cur, before_price.get("recurring", "0"))
                pct = percent_change(before_price.get("recurring"), now_price.get("recurring"))
                changes.append(
                    f"{addon.name}: {addon.old_price} → {now_price.get('recurring')} "
                    f"per {addon.unit} {view.per}" + (f" ({pct})" if pct else "") + later
                )
            if before_price.get("setup", "0") != now_price.get("setup", "0"):
                addon.status = "changed"
                changes.append(
                    f"{addon.name} setup fee: {money(cur, before_price.get('setup', '0'))} → "
                    f"{now_price.get('setup', '0')}"
                )
        for gone in old_addons.values():
            changes.append(f"Add-on removed: {name_of(gone, str(gone.get('id')))}")
        view.changes = changes
        if changes:
            view.status = "changed"
        elif spec_hash(old) != self.desired.digest("service_plans", view.id):
            view.status = "edited"

    def removed(self, plan_id: str) -> PlanView:
        """A live plan the definition no longer has."""
        return self.view(plan_id, self.live_plans[plan_id], status="removed")
