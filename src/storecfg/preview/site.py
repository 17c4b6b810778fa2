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
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..model import KINDS, DesiredState, LiveState, spec_hash
from . import text
from .sanitize import color, safe_html, text_on

Spec = dict[str, Any]

DEFAULT_PRIMARY = "#1f4e79"
DEFAULT_ACCENT = "#c27c0e"

#: how many regions a plan's tax note names before it says "and N more"
TAX_NOTE_REGIONS = 4


@dataclass
class AddonView:
    id: str
    name: str
    unit: str
    quantity: str
    price: str
    setup: str = ""
    category: str = ""
    visible: bool = True
    old_price: str = ""
    status: str = ""  # "", "new" or "changed"
    #: what a new subscription starts with, e.g. "1 user"
    start: str = ""


@dataclass
class OrderField:
    """What the buyer fills in at checkout (service_plans[].order_fields)."""

    id: str
    label: str
    type: str  # text, domain, email or checkbox
    required: bool = False
    pattern: str = ""


@dataclass
class PlanView:
    id: str
    name: str
    description: Markup
    price: str
    per: str
    term: str
    setup: str = ""
    #: one-time fees beside the price: setup, renewal, early cancellation
    fees: list[str] = field(default_factory=list)
    trial: str = ""
    tax_note: str = ""
    billing: str = ""
    sku: str = ""
    vendor: str = ""
    published: bool = True
    addons: list[AddonView] = field(default_factory=list)
    upgrades: list[tuple[str, str]] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    order_fields: list[OrderField] = field(default_factory=list)
    #: "" (as live), "new", "removed", "changed" (prices or term) or "edited" (other fields)
    status: str = ""
    old_price: str = ""
    changes: list[str] = field(default_factory=list)

    @property
    def visible_addons(self) -> list[AddonView]:
        return [a for a in self.addons if a.visible]


@dataclass
class CategoryView:
    id: str
    name: str
    description: Markup
    type: str
    plans: list[PlanView] = field(default_factory=list)
    children: list[CategoryView] = field(default_factory=list)
    removed_plans: list[PlanView] = field(default_factory=list)
    max_upsell: int | None = None
    status: str = ""


@dataclass
class TermsView:
    id: str
    title: str
    version: str
    url: str = ""
    body: Markup = field(default_factory=Markup)
    required: bool = True
    applies_to: str = ""
    #: False when applies_to names none of the products this scenario sells
    shown: bool = True


@dataclass
class PaymentView:
    id: str
    name: str
    type: str
    autopay: bool = False
    eligibility: str = ""


@dataclass
class RegionPayments:
    region: str
    methods: list[PaymentView]


@dataclass
class CartLine:
    plan: str
    quantity: str
    recurring: str
    setup: str = ""


@dataclass
class OrderFields:
    plan: str
    fields: list[OrderField]


@dataclass
class ScreenView:
    number: int
    id: str
    type: str
    kind_label: str
    title: str
    description: Markup
    anchor: str
    categories: list[CategoryView] = field(default_factory=list)
    terms: list[TermsView] = field(default_factory=list)
    payments: list[RegionPayments] = field(default_factory=list)
    cart: list[CartLine] = field(default_factory=list)
    order_fields: list[OrderFields] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ScenarioView:
    id: str
    name: str
    description: Markup
    default: bool
    page: str
    screens: list[ScreenView]
    applies_to: str = ""


@dataclass
class TaxView:
    id: str
    name: str
    region: str
    rate: str
    flags: list[str]
    applies_to: str
    status: str = ""
    old_rate: str = ""


@dataclass
class Difference:
    address: str
    name: str
    status: str  # "new", "removed" or "changed"


@dataclass
class Comparison:
    store_url: str
    revision: int
    new_plans: list[PlanView] = field(default_factory=list)
    removed_plans: list[PlanView] = field(default_factory=list)
    changed_plans: list[PlanView] = field(default_factory=list)
    edited_plans: list[PlanView] = field(default_factory=list)
    others: list[Difference] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.new_plans
            or self.removed_plans
            or self.changed_plans
            or self.edited_plans
            or self.others
            or self.settings
        )


@dataclass
class Branding:
    title: str
    primary: str
    accent: str
    on_primary: str
    on_accent: str
    logo_url: str = ""
    support_email: str = ""
    support_phone: str = ""
    footer: Markup = field(default_factory=Markup)
    has_custom_css: bool = False


@dataclass
class Site:
    store_id: str
    store_name: str
    currency: str
    locale: str
    prices_include_tax: bool
    tax_summary: str
    branding: Branding
    headline: str
    scenarios: list[ScenarioView]
    catalog: list[CategoryView]
    uncategorized: list[PlanView]
    taxes: list[TaxView]
    payments: list[RegionPayments]
    comparison: Comparison | None = None


def _name(spec: Spec | None, fallback: str) -> str:
    if not spec:
        return fallback
    return str(spec.get("name") or spec.get("title") or fallback)


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
        self._plan_cache: dict[str, PlanView] = {}

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
                names.append(_name(self.res.get(kind, {}).get(rid), str(rid)))
        return ", ".join(names)

    def _text(self, key_prefix: str) -> list[str]:
        """The store's text placeholders for this locale whose name starts with key_prefix."""
        custom = next(iter(self.res.get("customization", {}).values()), {})
        texts = text.mapping(custom.get("texts"))
        by_locale = text.mapping(texts.get(self.locale) or next(iter(texts.values()), None))
        return [str(v) for k, v in sorted(by_locale.items()) if str(k).startswith(key_prefix + ".")]

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
        regions = [f"{r.get('region')} {text.rate(r.get('rate'))}" for r in rules]
        shown = ", ".join(regions[:TAX_NOTE_REGIONS])
        if len(regions) > TAX_NOTE_REGIONS:
            shown += f" and {len(regions) - TAX_NOTE_REGIONS} more"
        if self.include_tax or all(r.get("inclusive") for r in rules):
            return f"tax included ({shown})"
        return f"plus tax: {shown}"

    # ------------------------------------------------------------------ plans

    def _addon(self, spec: Spec) -> AddonView:
        price = text.mapping(spec.get("price"))
        unit = str(spec.get("unit") or "unit")
        category = self.res.get("resource_categories", {}).get(str(spec.get("category")))
        return AddonView(
            id=str(spec.get("id", "")),
            name=str(spec.get("name", spec.get("id", ""))),
            unit=unit,
            quantity=text.quantity(spec),
            price=text.money(self.currency, price.get("recurring", "0")),
            setup=""
            if text.is_zero(price.get("setup"))
            else text.money(self.currency, price.get("setup")),
            category=_name(category, "") if category else "",
            visible=spec.get("visible", True) is not False,
            start=text.start_quantity(spec),
        )

    def plan_view(self, plan_id: str, spec: Spec, *, status: str = "") -> PlanView:
        price = text.mapping(spec.get("price"))
        sku = self.res.get("skus", {}).get(str(spec.get("sku")))
        fields = spec.get("order_fields")
        view = PlanView(
            id=plan_id,
            name=_name(spec, plan_id),
            description=safe_html(spec.get("description")),
            price=text.money(self.currency, price.get("recurring", "0")),
            per=text.per_period(spec.get("billing_period")),
            term=text.term(spec.get("subscription_period"), spec.get("billing_period")),
            setup=""
            if text.is_zero(price.get("setup"))
            else text.money(self.currency, price.get("setup")),
            fees=[
                f"{label} {text.money(self.currency, price.get(key))}"
                for key, label in (
                    ("setup", "setup fee"),
                    ("renewal", "renewal fee"),
                    ("cancellation", "early cancellation fee"),
                )
                if not text.is_zero(price.get(key))
            ],
            trial=f"{text.duration(spec.get('trial'))} free trial" if spec.get("trial") else "",
            tax_note=self._tax_note(plan_id),
            billing=text.BILLING_MODELS.get(str(spec.get("billing_model")), ""),
            sku=_name(sku, str(spec.get("sku", ""))),
            vendor=str(sku.get("vendor", "")) if sku else "",
            published=spec.get("published", True) is not False,
            addons=[self._addon(a) for a in spec.get("resources") or [] if isinstance(a, dict)],
            upgrades=[
                (str(t), _name(self.plans.get(t), str(t))) for t in spec.get("upgrades_to") or []
            ],
            rules=text.rule_notes(spec, self.currency),
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
        if plan_id not in self._plan_cache:
            self._plan_cache[plan_id] = self.plan_view(plan_id, self.plans[plan_id])
        return self._plan_cache[plan_id]

    def _compare(self, view: PlanView, spec: Spec) -> None:
        """Mark what differs from the live store: new plan, prices, term, add-ons."""
        if self.live is None:
            return
        old = self.live_plans.get(view.id)
        if old is None:
            view.status = "new"
            return
        cur = self.currency
        new_price = text.mapping(spec.get("price"))
        old_price = text.mapping(old.get("price"))
        later = (
            " (existing subscriptions: from their next renewal)"
            if new_price.get("effective") == "next_renewal"
            else ""
        )
        changes = []
        if old_price.get("recurring") != new_price.get("recurring"):
            view.old_price = text.money(cur, old_price.get("recurring", "0"))
            pct = text.percent_change(old_price.get("recurring"), new_price.get("recurring"))
            changes.append(
                f"Price {view.old_price} → {new_price.get('recurring')} {view.per}"
                + (f" ({pct})" if pct else "")
                + later
            )
        if old_price.get("setup") != new_price.get("setup"):
            changes.append(
                f"Setup fee {text.money(cur, old_price.get('setup', '0'))} → "
                f"{new_price.get('setup', '0')}"
            )
        old_term = text.term(old.get("subscription_period"), old.get("billing_period"))
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
            before_price = text.mapping(before.get("price"))
            now: Spec = next(
                (
                    a
                    for a in spec.get("resources") or []
                    if isinstance(a, dict) and str(a.get("id")) == addon.id
                ),
                {},
            )
            now_price = text.mapping(now.get("price"))
            if before_price.get("recurring") != now_price.get("recurring"):
                addon.status = "changed"
                addon.old_price = text.money(cur, before_price.get("recurring", "0"))
                pct = text.percent_change(before_price.get("recurring"), now_price.get("recurring"))
                changes.append(
                    f"{addon.name}: {addon.old_price} → {now_price.get('recurring')} "
                    f"per {addon.unit} {view.per}" + (f" ({pct})" if pct else "") + later
                )
            if before_price.get("setup", "0") != now_price.get("setup", "0"):
                addon.status = "changed"
                changes.append(
                    f"{addon.name} setup fee: {text.money(cur, before_price.get('setup', '0'))} → "
                    f"{now_price.get('setup', '0')}"
                )
        for gone in old_addons.values():
            changes.append(f"Add-on removed: {_name(gone, str(gone.get('id')))}")
        view.changes = changes
        if changes:
            view.status = "changed"
        elif spec_hash(old) != self.desired.digest("service_plans", view.id):
            view.status = "edited"

    def removed_plan(self, plan_id: str) -> PlanView:
        return self.plan_view(plan_id, self.live_plans[plan_id], status="removed")

    # ------------------------------------------------------------------ categories

    def category(
        self, cid: str, *, published_only: bool, seen: frozenset[str] = frozenset()
    ) -> CategoryView:
        spec = self.categories.get(cid, {})
        view = CategoryView(
            id=cid,
            name=_name(spec, cid),
            description=safe_html(spec.get("description")),
            type=str(spec.get("type", "")),
            max_upsell=spec.get("max_upsell_subscriptions"),
        )
        if self.live is not None and cid not in self.live_categories:
            view.status = "new"
        for pid in spec.get("plans") or []:
            if pid in self.plans:
                plan = self.plan(pid)
                if plan.published or not published_only:
                    view.plans.append(plan)
        if self.live is not None:
            listed = self.live_categories.get(cid, {}).get("plans") or []
            view.removed_plans = [
                self.removed_plan(pid)
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
            self.plan(pid)
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
                name=str(spec.get("name") or text.PAYMENT_TYPES.get(str(spec.get("type")), pid)),
                type=text.PAYMENT_TYPES.get(str(spec.get("type")), str(spec.get("type", ""))),
                autopay=bool(spec.get("autopay", False)),
                eligibility=text.eligibility(spec.get("eligibility")),
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
        applies = text.mapping(self.res.get("terms", {}).get(tid, {}).get("applies_to"))
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
                kind_label=text.SCREEN_TYPES.get(kind, kind),
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
            name=_name(spec, sid),
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
                rate=text.rate(spec.get("rate")),
                flags=flags,
                applies_to=self._names(spec.get("applies_to")) or "everything",
            )
            if self.live is not None:
                old = live_rules.get(rid)
                if old is None:
                    view.status = "new"
                elif old.get("rate") != spec.get("rate"):
                    view.status = "changed"
                    view.old_rate = text.rate(old.get("rate"))
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
            view = self.plan(pid)
            if view.status == "new":
                comp.new_plans.append(view)
            elif view.status == "changed":
                comp.changed_plans.append(view)
            elif view.status == "edited":
                comp.edited_plans.append(view)
        comp.removed_plans = [
            self.removed_plan(pid) for pid in sorted(self.live_plans) if pid not in self.plans
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
                comp.others.append(Difference(f"{kind}.{rid}", _name(spec, rid), status))
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
