"""The storefront as a customer walks it, as plain data for the page templates.

`build_site` turns a compiled definition (and, to compare, the live store) into
`Site`: each purchase scenario's screens in order with what they show (categories
with their plans and add-ons, terms, payment methods by region, an example cart,
the checkout), the catalog, taxes and payment methods, and the differences from the
live store that a reviewer should see (price changes, new and removed plans).
Nothing here reads files or writes HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import KINDS, DesiredState, LiveState
from .plans import PlanViews
from .sanitize import color, safe_html, text_on
from .text import PAYMENT_TYPES, SCREEN_TYPES, eligibility, mapping, name_of, rate
from .views import (
    DEFAULT_ACCENT,
    DEFAULT_PRIMARY,
    Branding,
    CartLine,
    CategoryView,
    Comparison,
    Difference,
    OrderFields,
    PaymentView,
    PlanView,
    RegionPayments,
    ScenarioView,
    ScreenView,
    Site,
    TaxView,
    TermsView,
)

Spec = dict[str, Any]


def _sort_key(spec: Spec) -> tuple[int, str, str]:
    position = spec.get("position")
    return (
        position if isinstance(position, int) else 1 << 30,
        str(spec.get("name", "")),
        str(spec.get("id", "")),
    )


class _Builder:
    """Builds the Site from one desired state and, optionally, the live store."""

    def __init__(self, desired: DesiredState, live: LiveState | None, live_url: str | None) -> None:
        self.desired = desired
        self.live = live
        self.live_url = live_url or ""
        self.res = desired.resources
        self.currency = str(desired.store.get("currency", ""))
        locales = desired.store.get("locales") or []
        self.locale = str(locales[0]) if locales else ""
        self.include_tax = bool(desired.store.get("prices_include_tax", False))
        self.plans: dict[str, Spec] = self.res.get("service_plans", {})
        self.categories: dict[str, Spec] = self.res.get("sales_categories", {})
        self.children: dict[str, list[str]] = {}
        for cid, spec in sorted(self.categories.items(), key=lambda kv: _sort_key(kv[1])):
            parent = spec.get("parent")
            if isinstance(parent, str) and parent in self.categories and parent != cid:
                self.children.setdefault(parent, []).append(cid)
        self.plan_categories = self._plan_categories()
        self.live_plans: dict[str, Spec] = {}
        self.live_categories: dict[str, Spec] = {}
        if live is not None:
            self.live_plans = {
                rid: r.spec for rid, r in live.resources.get("service_plans", {}).items()
            }
            self.live_categories = {
                rid: r.spec for rid, r in live.resources.get("sales_categories", {}).items()
            }
        self.plan_views = PlanViews(
            desired, self.live_plans if live is not None else None, self.plan_categories
        )

    # ------------------------------------------------------------------ lookups

    def _plan_categories(self) -> dict[str, set[str]]:
        """plan id -> every category that holds it, directly or through a subcategory."""
        out: dict[str, set[str]] = {}
        for cid, spec in self.categories.items():
            chain, seen = [cid], {cid}
            parent = spec.get("parent")
            while isinstance(parent, str) and parent in self.categories and parent not in seen:
                chain.append(parent)
                seen.add(parent)
                parent = self.categories[parent].get("parent")
            for pid in spec.get("plans") or []:
                out.setdefault(pid, set()).update(chain)
        return out

    def _names(self, applies_to: Any) -> str:
        """`Office 365, Exchange Online` from an applies_to mapping of kind -> IDs."""
        if not isinstance(applies_to, dict):
            return ""
        names = []
        for key, ids in applies_to.items():
            kind = "service_plans" if key == "plans" else str(key)
            for rid in ids if isinstance(ids, list) else []:
                names.append(name_of(self.res.get(kind, {}).get(rid), str(rid)))
        return ", ".join(names)

    def _text(self, key_prefix: str) -> list[str]:
        """The store's text placeholders for this locale whose name starts with key_prefix."""
        custom = next(iter(self.res.get("customization", {}).values()), {})
        texts = mapping(custom.get("texts"))
        by_locale = mapping(texts.get(self.locale) or next(iter(texts.values()), None))
        return [str(v) for k, v in sorted(by_locale.items()) if str(k).startswith(key_prefix + ".")]

    # ------------------------------------------------------------------ categories

    def category(
        self, cid: str, *, published_only: bool, seen: frozenset[str] = frozenset()
    ) -> CategoryView:
        spec = self.categories.get(cid, {})
        view = CategoryView(
            id=cid,
            name=name_of(spec, cid),
            description=safe_html(spec.get("description")),
            type=str(spec.get("type", "")),
            max_upsell=spec.get("max_upsell_subscriptions"),
        )
        if self.live is not None and cid not in self.live_categories:
            view.status = "new"
        for pid in spec.get("plans") or []:
            if pid in self.plans:
                plan = self.plan_views.plan(pid)
                if plan.published or not published_only:
                    view.plans.append(plan)
        if self.live is not None:
            listed = self.live_categories.get(cid, {}).get("plans") or []
            view.removed_plans = [
                self.plan_views.removed(pid)
                for pid in listed
                if pid not in self.plans and pid in self.live_plans
            ]
        for child in self.children.get(cid, []):
            if child not in seen:
                view.children.append(
                    self.category(child, published_only=published_only, seen=seen | {cid})
                )
        return view

    def catalog(self) -> tuple[list[CategoryView], list[PlanView]]:
        roots = [
            cid
            for cid, spec in sorted(self.categories.items(), key=lambda kv: _sort_key(kv[1]))
            if not (isinstance(spec.get("parent"), str) and spec.get("parent") in self.categories)
        ]
        tree = [self.category(cid, published_only=False) for cid in roots]
        loose = [
            self.plan_views.plan(pid)
            for pid, spec in sorted(
                self.plans.items(), key=lambda kv: (kv[1].get("sort_order") or 1 << 30, kv[0])
            )
            if pid not in self.plan_categories
        ]
        return tree, loose

    # ------------------------------------------------------------------ screens

    def terms(self, tid: str) -> TermsView:
        spec = self.res.get("terms", {}).get(tid, {})
        return TermsView(
            id=tid,
            title=str(spec.get("title", tid)),
            version=str(spec.get("version", "")),
            url=str(spec.get("url") or ""),
            body=safe_html(spec.get("body")),
            required=spec.get("acceptance_required", True) is not False,
            applies_to=self._names(spec.get("applies_to")),
        )

    def payments(self) -> list[RegionPayments]:
        by_region: dict[str, list[PaymentView]] = {}
        for pid, spec in sorted(self.res.get("payment_methods", {}).items()):
            if spec.get("enabled", True) is False:
                continue
            view = PaymentView(
                id=pid,
                name=str(spec.get("name") or PAYMENT_TYPES.get(str(spec.get("type")), pid)),
                type=PAYMENT_TYPES.get(str(spec.get("type")), str(spec.get("type", ""))),
                autopay=bool(spec.get("autopay", False)),
                eligibility=eligibility(spec.get("eligibility")),
            )
            for region in spec.get("regions") or []:
                by_region.setdefault(str(region), []).append(view)
        return [RegionPayments(r, by_region[r]) for r in sorted(by_region)]

    def _cart(self, earlier: Iterable[ScreenView]) -> list[CartLine]:
        """An example cart: the first plan of each earlier screen that offers plans."""
        lines = []
        for screen in earlier:
            plan = _first_plan(screen.categories)
            if plan is None:
                continue
            first = next((a for a in plan.visible_addons if a.start), None)
            lines.append(
                CartLine(
                    plan=plan.name,
                    quantity=first.start if first else "1",
                    recurring=f"{plan.price} {plan.per}".strip(),
                    setup=plan.setup,
                )
            )
        return lines

    def _offered_plans(self, spec: Spec) -> set[str]:
        """The plans a buyer can pick in a scenario: those of the categories (and their
        subcategories) on its services and add-ons screens."""
        all_screens = self.res.get("screens", {})
        todo = [
            c
            for screen_id in spec.get("screens") or []
            if all_screens.get(screen_id, {}).get("type") in ("sales_categories", "addons")
            for c in all_screens[screen_id].get("categories") or []
        ]
        seen: set[str] = set()
        while todo:
            cid = todo.pop()
            if cid in seen or cid not in self.categories:
                continue
            seen.add(cid)
            todo.extend(self.children.get(cid, []))
        return {p for c in seen for p in self.categories[c].get("plans") or []}

    def _terms_shown(self, tid: str, offered: set[str]) -> bool:
        """Whether buyers of the offered plans see these terms (terms[].applies_to)."""
        applies = mapping(self.res.get("terms", {}).get(tid, {}).get("applies_to"))
        if not applies or not offered:
            return True
        categories = {c for p in offered for c in self.plan_categories.get(p, set())}
        return bool(
            offered.intersection(applies.get("plans") or [])
            or categories.intersection(applies.get("sales_categories") or [])
        )

    def scenario(self, sid: str, spec: Spec) -> ScenarioView:
        screens: list[ScreenView] = []
        all_screens = self.res.get("screens", {})
        offered = self._offered_plans(spec)
        for number, screen_id in enumerate(spec.get("screens") or [], start=1):
            s = all_screens.get(screen_id, {})
            kind = str(s.get("type", ""))
            view = ScreenView(
                number=number,
                id=str(screen_id),
                type=kind,
                kind_label=SCREEN_TYPES.get(kind, kind),
                title=str(s.get("title", screen_id)),
                description=safe_html(s.get("description")),
                anchor=f"step-{number}",
                notes=self._text(kind) + (self._text(str(screen_id)) if screen_id != kind else []),
            )
            if kind in ("sales_categories", "addons"):
                view.categories = [
                    self.category(c, published_only=True)
                    for c in s.get("categories") or []
                    if c in self.categories
                ]
            elif kind == "terms":
                view.terms = [self.terms(t) for t in s.get("terms") or []]
                for doc in view.terms:
                    doc.shown = self._terms_shown(doc.id, offered)
            elif kind == "payment":
                view.payments = self.payments()
            elif kind == "cart_review":
                view.cart = self._cart(screens)
            elif kind == "checkout":
                view.order_fields = _order_fields(screens)
            screens.append(view)
        return ScenarioView(
            id=sid,
            name=name_of(spec, sid),
            description=safe_html(spec.get("description")),
            default=bool(spec.get("default")) or _is_default(spec, self.res),
            page=f"scenario-{sid}.html",
            screens=screens,
            applies_to=self._names(spec.get("applies_to")),
        )

    # ------------------------------------------------------------------ store-wide

    def taxes(self) -> list[TaxView]:
        live_rules = (
            {rid: r.spec for rid, r in self.live.resources.get("tax_rules", {}).items()}
            if self.live is not None
            else {}
        )
        out = []
        for rid, spec in sorted(
            self.res.get("tax_rules", {}).items(),
            key=lambda kv: (str(kv[1].get("region")), kv[1].get("priority", 0), kv[0]),
        ):
            flags = [
                label
                for key, label in (
                    ("inclusive", "included in prices"),
                    ("compound", "compound"),
                    ("stacks", "stacks on the country rule"),
                )
                if spec.get(key) is True
            ]
            view = TaxView(
                id=rid,
                name=str(spec.get("name") or rid),
                region=str(spec.get("region", "")),
                rate=rate(spec.get("rate")),
                flags=flags,
                applies_to=self._names(spec.get("applies_to")) or "everything",
            )
            if self.live is not None:
                old = live_rules.get(rid)
                if old is None:
                    view.status = "new"
                elif old.get("rate") != spec.get("rate"):
                    view.status = "changed"
                    view.old_rate = rate(old.get("rate"))
            out.append(view)
        return out

    def branding(self) -> Branding:
        custom = next(iter(self.res.get("customization", {}).values()), {})
        primary = color(custom.get("primary_color"), DEFAULT_PRIMARY)
        accent = color(custom.get("accent_color"), DEFAULT_ACCENT)
        return Branding(
            title=str(custom.get("store_title") or self.desired.store.get("name") or ""),
            primary=primary,
            accent=accent,
            on_primary=text_on(primary),
            on_accent=text_on(accent),
            logo_url=str(custom.get("logo_url") or ""),
            support_email=str(custom.get("support_email") or ""),
            support_phone=str(custom.get("support_phone") or ""),
            footer=safe_html(custom.get("footer_html")),
            has_custom_css=bool(custom.get("custom_css")),
        )

    def comparison(self) -> Comparison | None:
        if self.live is None:
            return None
        comp = Comparison(store_url=self.live_url, revision=self.live.revision)
        for pid in sorted(self.plans):
            view = self.plan_views.plan(pid)
            if view.status == "new":
                comp.new_plans.append(view)
            elif view.status == "changed":
                comp.changed_plans.append(view)
            elif view.status == "edited":
                comp.edited_plans.append(view)
        comp.removed_plans = [
            self.plan_views.removed(pid) for pid in sorted(self.live_plans) if pid not in self.plans
        ]
        for kind in KINDS:
            if kind == "service_plans":
                continue
            mine = self.res.get(kind, {})
            theirs = self.live.resources.get(kind, {})
            for rid in sorted(set(mine) | set(theirs)):
                if rid not in theirs:
                    status = "new"
                elif rid not in mine:
                    status = "removed"
                elif theirs[rid].spec_digest() != self.desired.digest(kind, rid):
                    status = "changed"
                else:
                    continue
                spec = mine.get(rid) or theirs[rid].spec
                comp.others.append(Difference(f"{kind}.{rid}", name_of(spec, rid), status))
        settings = self.live.settings or {}
        for key, label in (
            ("name", "Store name"),
            ("currency", "Currency"),
            ("prices_include_tax", "Prices include tax"),
        ):
            if key in settings and settings.get(key) != self.desired.store.get(key):
                comp.settings.append(
                    f"{label}: {settings.get(key)} → {self.desired.store.get(key)}"
                )
        return comp

    def build(self) -> Site:
        scenarios = sorted(
            (
                self.scenario(sid, spec)
                for sid, spec in self.res.get("purchase_scenarios", {}).items()
            ),
            key=lambda s: (not s.default, s.name, s.id),
        )
        catalog, loose = self.catalog()
        if self.include_tax:
            summary = "Prices include tax."
        elif self.res.get("tax_rules"):
            summary = "Prices exclude tax; tax is added at checkout where a tax rule applies."
        else:
            summary = "Prices exclude tax; the store has no tax rules."
        headline = self._text("home")
        return Site(
            store_id=str(self.desired.store.get("id", "")),
            store_name=str(self.desired.store.get("name", "")),
            currency=self.currency,
            locale=self.locale,
            prices_include_tax=self.include_tax,
            tax_summary=summary,
            branding=self.branding(),
            headline=headline[0] if headline else "",
            scenarios=scenarios,
            catalog=catalog,
            uncategorized=loose,
            taxes=self.taxes(),
            payments=self.payments(),
            comparison=self.comparison(),
        )


def _first_plan(categories: list[CategoryView]) -> PlanView | None:
    for cat in categories:
        if cat.plans:
            return cat.plans[0]
        found = _first_plan(cat.children)
        if found is not None:
            return found
    return None


def _all_plans(categories: list[CategoryView]) -> Iterable[PlanView]:
    for cat in categories:
        yield from cat.plans
        yield from _all_plans(cat.children)


def _order_fields(screens: list[ScreenView]) -> list[OrderFields]:
    """What the buyer fills in at checkout, per plan offered on the earlier screens."""
    out, seen = [], set()
    for screen in screens:
        for plan in _all_plans(screen.categories):
            if plan.order_fields and plan.id not in seen:
                seen.add(plan.id)
                out.append(OrderFields(plan.name, plan.order_fields))
    return out


def _is_default(spec: Spec, resources: dict[str, dict[str, Spec]]) -> bool:
    """With applies_to, the one scenario without it is the default (SPEC 9)."""
    scenarios = resources.get("purchase_scenarios", {})
    if any(s.get("default") for s in scenarios.values()):
        return False
    uses_applies_to = any("applies_to" in s for s in scenarios.values())
    return uses_applies_to and "applies_to" not in spec


def build_site(
    desired: DesiredState, live: LiveState | None = None, live_url: str | None = None
) -> Site:
    """The storefront of `desired`; with `live`, marked against the live store."""
    return _Builder(desired, live, live_url).build()
