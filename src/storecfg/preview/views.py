"""What the preview pages show, as plain data: one dataclass per thing on a page.

`site.py` builds a `Site` from a compiled definition; `render.py` hands it to the page
templates. Nothing here reads files, stores or HTML templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

#: the store's colours when its customization sets none
DEFAULT_PRIMARY = "#1f4e79"
DEFAULT_ACCENT = "#c27c0e"


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
