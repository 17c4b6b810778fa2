"""Generate a large, valid, realistic store definition for benchmarks.

The store looks like a cloud-marketplace reseller's repository: a dozen vendors,
each with product families in several tiers, editions (commercial, education,
nonprofit, government; or data-center regions), volume bands and price-list
releases. Every SKU is sold as a few service plans, one per commitment term and
billing period, with add-on resources (extra users, storage increments,
devices, support). Around them: resource categories, nested sales categories
(vendor > family > edition), add-on categories, screens and purchase scenarios
per vendor plus a default one, terms, tax rules for every US state and EU
country, payment methods and one customization. A few templates, YAML anchors
and unpublished legacy plans appear where a real repository would have them.

Files are split like a real repository: `catalog/vendor-<vendor>-NN.yaml` with at
most PLANS_PER_FILE plans each, `catalog/skus-<vendor>.yaml`,
`storefront/categories/<vendor>.yaml`, `tax/us.yaml`, `tax/eu.yaml` and so on.

The output depends only on the number of plans, so two runs give identical files.

    python bench/generate.py --plans 5000 --out /tmp/store5k
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple

PLANS_PER_FILE = 250
STORE_ID = "bench-store"
SITE = "https://cloud.northwind.example"
CENT = Decimal("0.01")

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Term:
    """A commitment term and how it is billed."""

    slug: str
    label: str
    subscription: tuple[int, str]
    billing: tuple[int, str]
    #: recurring fee per billing period, as a multiple of the monthly list price
    factor: Decimal
    sentence: str

    @property
    def billing_months(self) -> int:
        length, unit = self.billing
        return length * 12 if unit == "year" else length


# fmt: off
M1M = Term("m1m", "monthly", (1, "month"), (1, "month"), Decimal("1.2"),
           "Month-to-month, cancel or reduce licenses at the end of any month.")
Y1M = Term("y1m", "annual, billed monthly", (1, "year"), (1, "month"), Decimal("1"),
           "1-year commitment at the lower price, paid every month.")
Y1Y = Term("y1y", "annual, billed annually", (1, "year"), (1, "year"), Decimal("12"),
           "1-year commitment, paid once a year in advance.")
Y3Y = Term("y3y", "3-year, billed annually", (3, "year"), (1, "year"), Decimal("11.4"),
           "3-year commitment with a 5 % discount, paid once a year.")
# fmt: on


class Tier(NamedTuple):
    slug: str
    name: str
    #: monthly list price of one user or unit
    price: str


class Variant(NamedTuple):
    """An edition or a volume band of a SKU; an empty slug adds nothing to IDs."""

    slug: str
    label: str
    #: multiplies the list price
    factor: str


@dataclass(frozen=True)
class AddOn:
    """An add-on resource template; `price` None means "the plan's own price"."""

    id: str
    name: str
    unit: str
    category: str
    included: int = 0
    min: int = 0
    max: int | None = None
    price: str | None = None
    setup: str = "0"


@dataclass(frozen=True)
class Family:
    slug: str
    name: str
    blurb: str
    tiers: Sequence[Tier]
    addons: Sequence[str]
    #: sold on the add-ons screen (an `addons` sales category) instead of as a main offer
    upsell: bool = False
    #: taxed as telecommunications in some US states
    telecom: bool = False


@dataclass(frozen=True)
class Vendor:
    slug: str
    name: str
    #: share of the store's plans
    weight: int
    terms_url: str
    families: Sequence[Family]
    #: the first edition is the default one
    editions: Sequence[Variant]
    bands: Sequence[Variant]
    terms: Sequence[Term]
    #: the vendor's ordering rules, as a YAML flow mapping
    rules: str
    trial_days: int | None = None


def _tiers(*tiers: tuple[str, str, str]) -> tuple[Tier, ...]:
    return tuple(Tier(*t) for t in tiers)


def _variants(*variants: tuple[str, str, str]) -> tuple[Variant, ...]:
    return tuple(Variant(*v) for v in variants)


# fmt: off
ADDONS: dict[str, AddOn] = {a.id: a for a in (
    AddOn("users", "{tier} users", "user", "licenses", included=1, min=1, max=300),
    AddOn("extra-storage", "Extra file storage (10 GB)", "10 GB", "storage", max=1000, price="2.00"),
    AddOn("storage-tb", "Storage increment (1 TB)", "TB", "storage", included=1, min=1, max=1000, price="7.00"),
    AddOn("devices", "Protected devices", "device", "devices", included=1, min=1, max=10000),
    AddOn("servers", "Protected servers", "server", "servers", max=500, price="25.00"),
    AddOn("minutes", "Calling minutes (1,000)", "1,000 minutes", "telephony", max=100, price="12.00"),
    AddOn("rooms", "Meeting room licenses", "room", "rooms", max=200, price="49.00"),
    AddOn("archive", "Archive mailboxes", "mailbox", "compliance", max=5000, price="3.00"),
    AddOn("premium-support", "Premium support (24x7)", "contract", "support", max=1, price="49.00"),
    AddOn("onboarding", "Quick start onboarding session", "session", "onboarding", max=1, price="0.00", setup="249.00"),
    AddOn("training", "Admin training seats", "seat", "training", max=20, price="0.00", setup="99.00"),
)}

RESOURCE_CATEGORIES: Sequence[tuple[str, str, str]] = (
    ("licenses", "Licenses", "Extra user licenses for the subscription."),
    ("storage", "Storage", "More storage capacity, in increments."),
    ("devices", "Devices", "Workstations, laptops and mobile devices covered."),
    ("servers", "Servers", "Physical and virtual servers covered."),
    ("telephony", "Telephony", "Calling plans and minutes."),
    ("rooms", "Meeting rooms", "Licenses for shared meeting-room devices."),
    ("compliance", "Compliance", "Archiving, retention and eDiscovery."),
    ("support", "Support", "Support contracts beyond the standard business hours."),
    ("onboarding", "Onboarding", "One-time setup and quick start sessions."),
    ("training", "Training", "Instructor-led training for administrators."),
)

SEGMENTS = _variants(("", "Commercial", "1"), ("edu", "Education", "0.6"),
                     ("npo", "Nonprofit", "0.75"), ("gov", "Government", "1.1"))
SEAT_BANDS = _variants(("b1", "1-49 seats", "1"), ("b2", "50-249 seats", "0.95"),
                       ("b3", "250-999 seats", "0.9"), ("b4", "1000+ seats", "0.85"))
VIP_LEVELS = _variants(("l1", "VIP level 1", "1"), ("l2", "VIP level 2", "0.94"),
                       ("l3", "VIP level 3", "0.88"), ("l4", "VIP level 4", "0.82"))
DATA_CENTERS = _variants(("us", "US data center", "1"), ("eu", "EU data center", "1.05"),
                         ("ca", "Canada data center", "1.05"), ("au", "Australia data center", "1.1"),
                         ("jp", "Japan data center", "1.15"))
NO_BANDS = _variants(("", "", "1"))

VENDORS: Sequence[Vendor] = (
    Vendor("msft", "Microsoft", 6, "https://www.microsoft.com/licensing/docs/customeragreement", (
        Family("m365", "Microsoft 365", "Office apps, Exchange e-mail, Teams and 1 TB of OneDrive per user.",
               _tiers(("bbasic", "Business Basic", "6.00"), ("bstd", "Business Standard", "12.50"),
                      ("bprem", "Business Premium", "22.00"), ("e3", "E3", "36.00"), ("e5", "E5", "57.00")),
               ("users", "extra-storage", "onboarding")),
        Family("o365", "Office 365", "Business e-mail, Teams and the web versions of the Office apps.",
               _tiers(("e1", "E1", "10.00"), ("e3", "E3", "23.00"), ("e5", "E5", "38.00")),
               ("users", "extra-storage", "archive")),
        Family("teams", "Microsoft Teams", "Meetings, chat and calling for every team.",
               _tiers(("ess", "Essentials", "4.00"), ("phone", "Phone Standard", "8.00"),
                      ("rooms", "Rooms Pro", "40.00")),
               ("users", "minutes", "rooms"), telecom=True),
        Family("entra", "Microsoft Entra ID", "Identity and access management with conditional access.",
               _tiers(("p1", "P1", "6.00"), ("p2", "P2", "9.00")), ("users",)),
        Family("defender", "Microsoft Defender for Office 365", "Safe Links and Safe Attachments against phishing and malware.",
               _tiers(("p1", "Plan 1", "2.00"), ("p2", "Plan 2", "5.00")), ("users",), upsell=True),
    ), SEGMENTS, NO_BANDS, (M1M, Y1M, Y1Y, Y3Y),
        "{cancellation: requires_approval, provisioning: automatic}"),
    Vendor("adobe", "Adobe", 3, "https://www.adobe.com/legal/terms.html", (
        Family("cc", "Adobe Creative Cloud", "Photoshop, Illustrator, InDesign and the rest of the creative apps.",
               _tiers(("photo", "Photography", "19.99"), ("single", "Single App", "35.99"),
                      ("all", "All Apps", "84.99")),
               ("users", "storage-tb", "training")),
        Family("acrobat", "Adobe Acrobat", "Create, edit, sign and share PDF documents.",
               _tiers(("std", "Standard", "14.99"), ("pro", "Pro", "23.99")), ("users",)),
        Family("sign", "Adobe Acrobat Sign", "Electronic signatures with audit trails.",
               _tiers(("sol", "Solutions", "39.99"), ("ent", "Enterprise", "59.99")),
               ("users", "premium-support")),
        Family("stock", "Adobe Stock", "Licensed photos, videos and templates.",
               _tiers(("s10", "10 assets a month", "29.99"), ("s40", "40 assets a month", "79.99")),
               ("users",), upsell=True),
    ), (SEGMENTS[0], SEGMENTS[1], SEGMENTS[3]), VIP_LEVELS, (Y1M, Y1Y, Y3Y),
        "{max_active_subscriptions_per_customer: 1, cancellation: requires_approval}"),
    Vendor("acro", "Acronis", 2, "https://www.acronis.com/en-us/company/licensing/", (
        Family("cyber", "Acronis Cyber Protect Cloud", "Backup, disaster recovery and endpoint protection in one agent.",
               _tiers(("std", "Standard", "4.00"), ("adv", "Advanced", "6.50")),
               ("devices", "storage-tb", "servers")),
        Family("backup", "Acronis Cyber Backup", "Image backup of workstations, servers and virtual hosts.",
               _tiers(("ws", "Workstation", "4.00"), ("srv", "Server", "25.00"), ("vm", "Virtual host", "60.00")),
               ("devices", "storage-tb", "onboarding")),
        Family("files", "Acronis Cyber Files", "Secure file sync and share for business.",
               _tiers(("std", "Standard", "3.00")), ("users", "storage-tb")),
        Family("dr", "Acronis Disaster Recovery", "Failover of servers to the cloud in minutes.",
               _tiers(("std", "Standard", "39.00")), ("servers",), upsell=True),
    ), DATA_CENTERS, NO_BANDS, (M1M, Y1M, Y1Y),
        "{max_active_subscriptions_per_customer: 1, reseller_self_order: false}"),
    Vendor("goog", "Google", 3, "https://workspace.google.com/terms/reseller_premier_terms.html", (
        Family("ws", "Google Workspace", "Gmail, Drive, Meet and Docs with business controls.",
               _tiers(("starter", "Business Starter", "7.20"), ("std", "Business Standard", "14.40"),
                      ("plus", "Business Plus", "21.60"), ("ent", "Enterprise Standard", "30.00")),
               ("users", "extra-storage")),
        Family("voice", "Google Voice", "Business phone numbers that work on every device.",
               _tiers(("starter", "Starter", "10.00"), ("std", "Standard", "20.00"), ("prem", "Premier", "30.00")),
               ("users", "minutes"), telecom=True),
        Family("vault", "Google Vault", "Retention, eDiscovery and export for Workspace data.",
               _tiers(("std", "Standard", "5.00")), ("users",), upsell=True),
    ), SEGMENTS[:3], NO_BANDS, (M1M, Y1M), "{provisioning: automatic}", trial_days=14),
    Vendor("dbx", "Dropbox", 1, "https://www.dropbox.com/terms/business-agreement", (
        Family("biz", "Dropbox Business", "Team file storage, sharing and transfer.",
               _tiers(("std", "Standard", "15.00"), ("adv", "Advanced", "24.00"), ("ent", "Enterprise", "30.00")),
               ("users", "storage-tb")),
        Family("backup", "Dropbox Backup", "Automatic backup of computers and external drives.",
               _tiers(("std", "Standard", "5.00")), ("devices",), upsell=True),
    ), SEGMENTS[:2], SEAT_BANDS[:3], (M1M, Y1M, Y1Y), "{provisioning: automatic}", trial_days=30),
    Vendor("zoom", "Zoom", 1, "https://explore.zoom.us/en/terms/", (
        Family("wp", "Zoom Workplace", "Meetings, team chat, whiteboards and notes.",
               _tiers(("pro", "Pro", "13.33"), ("bus", "Business", "18.33"), ("busplus", "Business Plus", "22.49")),
               ("users", "rooms", "minutes"), telecom=True),
        Family("rooms", "Zoom Rooms", "Software for conference rooms of every size.",
               _tiers(("std", "Standard", "49.00")), ("rooms",)),
        Family("webinar", "Zoom Webinars", "Webinars for up to 1,000 attendees.",
               _tiers(("w500", "500 attendees", "79.00"), ("w1000", "1,000 attendees", "340.00")),
               ("users",), upsell=True),
    ), SEGMENTS[:2], SEAT_BANDS, (M1M, Y1Y), "{cancellation: immediate}", trial_days=30),
    Vendor("kasp", "Kaspersky", 1, "https://www.kaspersky.com/end-user-license-agreement", (
        Family("eps", "Kaspersky Endpoint Security Cloud", "Protection for Windows, macOS, Android and iOS devices.",
               _tiers(("std", "Standard", "2.50"), ("plus", "Plus", "3.75"), ("pro", "Pro", "5.25")),
               ("devices", "premium-support")),
        Family("edr", "Kaspersky EDR", "Endpoint detection and response with root-cause analysis.",
               _tiers(("opt", "Optimum", "6.00"), ("exp", "Expert", "9.00")), ("devices",)),
    ), SEGMENTS[:2], SEAT_BANDS, (Y1M, Y1Y, Y3Y), "{reseller_self_order: false}"),
    Vendor("bitd", "Bitdefender", 1, "https://www.bitdefender.com/site/view/legal-terms.html", (
        Family("gz", "Bitdefender GravityZone", "Endpoint security with risk analytics and hardening.",
               _tiers(("bus", "Business Security", "2.50"), ("prem", "Business Security Premium", "4.50"),
                      ("ent", "Business Security Enterprise", "7.00")),
               ("devices", "servers")),
        Family("patch", "Bitdefender Patch Management", "Automatic patching for Windows and third-party apps.",
               _tiers(("std", "Standard", "0.90")), ("devices",), upsell=True),
    ), SEGMENTS[:2], SEAT_BANDS, (M1M, Y1M, Y1Y), "{reseller_self_order: false}"),
    Vendor("veeam", "Veeam", 1, "https://www.veeam.com/eula.html", (
        Family("m365bk", "Veeam Backup for Microsoft 365", "Backup of Exchange, SharePoint, OneDrive and Teams.",
               _tiers(("std", "Standard", "2.00"), ("flex", "Flex", "3.20")), ("users", "storage-tb")),
        Family("vault", "Veeam Data Cloud Vault", "Immutable offsite storage for backups.",
               _tiers(("std", "Standard", "14.00"), ("adv", "Advanced", "24.00")), ("storage-tb",)),
    ), DATA_CENTERS, NO_BANDS, (M1M, Y1M, Y1Y, Y3Y), "{provisioning: manual}"),
    Vendor("soph", "Sophos", 1, "https://www.sophos.com/en-us/legal/sophos-end-user-terms-of-use", (
        Family("ix", "Sophos Intercept X", "Next-generation endpoint protection with anti-ransomware.",
               _tiers(("adv", "Advanced", "3.00"), ("xdr", "Advanced with XDR", "5.50")), ("devices", "servers")),
        Family("mdr", "Sophos MDR", "Threat hunting around the clock by Sophos analysts.",
               _tiers(("ess", "Essentials", "8.00"), ("complete", "Complete", "12.00")),
               ("devices", "premium-support")),
    ), SEGMENTS[:2], SEAT_BANDS, (Y1M, Y1Y, Y3Y), "{cancellation: requires_approval}"),
    Vendor("webex", "Cisco Webex", 1, "https://www.cisco.com/c/en/us/about/legal/cloud-and-software/end_user_license_agreement.html", (
        Family("meet", "Webex Meetings", "Video meetings with noise removal and live transcripts.",
               _tiers(("starter", "Starter", "14.50"), ("bus", "Business", "25.00")), ("users", "rooms")),
        Family("calling", "Webex Calling", "Cloud phone system with numbers in 70 countries.",
               _tiers(("basic", "Basic", "10.00"), ("pro", "Professional", "17.00")),
               ("users", "minutes"), telecom=True),
    ), SEGMENTS, NO_BANDS, (M1M, Y1M), "{provisioning: manual}"),
    Vendor("adsk", "Autodesk", 1, "https://www.autodesk.com/company/terms-of-use/en/general-terms", (
        Family("acad", "Autodesk AutoCAD", "2D and 3D CAD design, drafting and documentation.",
               _tiers(("lt", "LT", "65.00"), ("full", "Full", "245.00")), ("users", "training")),
        Family("aec", "Autodesk AEC Collection", "Revit, AutoCAD, Civil 3D and other building tools.",
               _tiers(("std", "Collection", "375.00")), ("users", "training")),
        Family("fusion", "Autodesk Fusion", "Integrated CAD, CAM and PCB design.",
               _tiers(("std", "Standard", "85.00")), ("users",)),
    ), SEGMENTS[:2], NO_BANDS, (M1M, Y1Y, Y3Y), "{max_active_subscriptions_per_customer: 5}"),
)

#: state base rates; 0 records a decision not to tax
US_SALES_TAX: Sequence[tuple[str, str, str]] = (
    ("AL", "Alabama", "4"), ("AK", "Alaska", "0"), ("AZ", "Arizona", "5.6"), ("AR", "Arkansas", "6.5"),
    ("CA", "California", "0"), ("CO", "Colorado", "2.9"), ("CT", "Connecticut", "6.35"),
    ("DE", "Delaware", "0"), ("DC", "District of Columbia", "6"), ("FL", "Florida", "6"),
    ("GA", "Georgia", "4"), ("HI", "Hawaii", "4"), ("ID", "Idaho", "6"), ("IL", "Illinois", "6.25"),
    ("IN", "Indiana", "7"), ("IA", "Iowa", "6"), ("KS", "Kansas", "6.5"), ("KY", "Kentucky", "6"),
    ("LA", "Louisiana", "4.45"), ("ME", "Maine", "5.5"), ("MD", "Maryland", "6"),
    ("MA", "Massachusetts", "6.25"), ("MI", "Michigan", "6"), ("MN", "Minnesota", "6.875"),
    ("MS", "Mississippi", "7"), ("MO", "Missouri", "4.225"), ("MT", "Montana", "0"),
    ("NE", "Nebraska", "5.5"), ("NV", "Nevada", "6.85"), ("NH", "New Hampshire", "0"),
    ("NJ", "New Jersey", "6.625"), ("NM", "New Mexico", "4.875"), ("NY", "New York", "4"),
    ("NC", "North Carolina", "4.75"), ("ND", "North Dakota", "5"), ("OH", "Ohio", "5.75"),
    ("OK", "Oklahoma", "4.5"), ("OR", "Oregon", "0"), ("PA", "Pennsylvania", "6"),
    ("RI", "Rhode Island", "7"), ("SC", "South Carolina", "6"), ("SD", "South Dakota", "4.2"),
    ("TN", "Tennessee", "7"), ("TX", "Texas", "6.25"), ("UT", "Utah", "6.1"), ("VT", "Vermont", "6"),
    ("VA", "Virginia", "5.3"), ("WA", "Washington", "6.5"), ("WV", "West Virginia", "6"),
    ("WI", "Wisconsin", "5"), ("WY", "Wyoming", "4"),
)
#: states that add a communications tax on telephony plans (a second rule, priority 1)
US_TELECOM_TAX = (("FL", "7.44"), ("IL", "7"), ("NY", "2.5"), ("TX", "1.8"), ("WA", "2.1"))

EU_VAT: Sequence[tuple[str, str, str]] = (
    ("AT", "Austria", "20"), ("BE", "Belgium", "21"), ("BG", "Bulgaria", "20"), ("HR", "Croatia", "25"),
    ("CY", "Cyprus", "19"), ("CZ", "Czechia", "21"), ("DK", "Denmark", "25"), ("EE", "Estonia", "24"),
    ("FI", "Finland", "25.5"), ("FR", "France", "20"), ("DE", "Germany", "19"), ("GR", "Greece", "24"),
    ("HU", "Hungary", "27"), ("IE", "Ireland", "23"), ("IT", "Italy", "22"), ("LV", "Latvia", "21"),
    ("LT", "Lithuania", "21"), ("LU", "Luxembourg", "17"), ("MT", "Malta", "18"),
    ("NL", "Netherlands", "21"), ("PL", "Poland", "23"), ("PT", "Portugal", "23"),
    ("RO", "Romania", "21"), ("SK", "Slovakia", "23"), ("SI", "Slovenia", "22"), ("ES", "Spain", "21"),
    ("SE", "Sweden", "25"),
)
# fmt: on

# -------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Sku:
    vendor: Vendor
    family: Family
    tier: Tier
    edition: Variant
    band: Variant
    #: 0 for the current price list; later ones exist once the other variants run out
    release: int

    @property
    def id(self) -> str:
        parts = [
            self.vendor.slug,
            self.family.slug,
            self.tier.slug,
            self.edition.slug,
            self.band.slug,
        ]
        if self.release:
            parts.append(f"r{self.release + 1}")
        return "-".join(p for p in parts if p)

    @property
    def name(self) -> str:
        details = [self.edition.label if self.edition.slug else "", self.band.label]
        if self.release:
            details.append(f"price list {self.release + 1}")
        detail = ", ".join(d for d in details if d)
        return f"{self.family.name} {self.tier.name}" + (f" ({detail})" if detail else "")

    @property
    def list_price(self) -> Decimal:
        """Monthly list price of one unit, after the edition and band discounts."""
        price = Decimal(self.tier.price) * Decimal(self.edition.factor) * Decimal(self.band.factor)
        return price * (1 + Decimal(self.release) / 20)

    @property
    def category(self) -> str:
        """The leaf sales category of the SKU's plans."""
        if self.family.upsell:
            return f"{self.vendor.slug}-addons"
        return f"{self.vendor.slug}-{self.family.slug}-{self.edition.slug or 'com'}"


@dataclass
class Plan:
    sku: Sku
    term: Term
    sort_order: int
    published: bool = True
    upgrades_to: str | None = None

    @property
    def id(self) -> str:
        return f"{self.sku.id}-{self.term.slug}"


@dataclass
class Catalog:
    skus: list[Sku] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)

    def plans_by_vendor(self) -> dict[str, list[Plan]]:
        grouped: dict[str, list[Plan]] = defaultdict(list)
        for plan in self.plans:
            grouped[plan.sku.vendor.slug].append(plan)
        return grouped


def _sku_stream(vendor: Vendor) -> Iterator[Sku]:
    """The vendor's SKUs: every family and tier first, then editions, bands, releases."""
    for release in itertools.count():
        for band, edition, family in itertools.product(
            vendor.bands, vendor.editions, vendor.families
        ):
            for tier in family.tiers:
                yield Sku(vendor, family, tier, edition, band, release)


def _quotas(total: int) -> list[int]:
    """Plans per vendor, proportional to the vendors' weights, summing to `total`."""
    weights = [v.weight for v in VENDORS]
    quotas = [total * w // sum(weights) for w in weights]
    for i in range(total - sum(quotas)):
        quotas[i % len(quotas)] += 1
    return quotas


def build_catalog(plans: int) -> Catalog:
    catalog = Catalog()
    for vendor, quota in zip(VENDORS, _quotas(plans), strict=True):
        made = 0
        skus = _sku_stream(vendor)
        while made < quota:
            sku = next(skus)
            catalog.skus.append(sku)
            for term in vendor.terms[: quota - made]:
                catalog.plans.append(Plan(sku, term, sort_order=len(catalog.plans) + 1))
                made += 1
    for i, plan in enumerate(catalog.plans):
        # about 2 % are legacy plans kept for existing subscribers, hidden from the store
        plan.published = i % 50 != 49
    _link_upgrades(catalog.plans)
    return catalog


def _link_upgrades(plans: Iterable[Plan]) -> None:
    """Each tier upgrades to the next tier of the same family, edition, band and term."""
    ladders: dict[tuple[object, ...], dict[str, Plan]] = defaultdict(dict)
    for plan in plans:
        sku = plan.sku
        key = (sku.vendor.slug, sku.family.slug, sku.edition, sku.band, sku.release, plan.term)
        ladders[key][sku.tier.slug] = plan
    for ladder in ladders.values():
        family = next(iter(ladder.values())).sku.family
        order = [ladder[t.slug] for t in family.tiers if t.slug in ladder]
        for lower, upper in itertools.pairwise(order):
            if upper.published:
                lower.upgrades_to = upper.id


# ------------------------------------------------------------------------- writing

_PLAIN = re.compile(r"[A-Za-z<(][A-Za-z0-9 ,.()/<>+&'=%-]*")
_KEYWORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}
HEADER = "# Generated by bench/generate.py for benchmarks; do not edit.\n"


def q(text: str) -> str:
    """`text` as a YAML scalar: plain when that is unambiguous, else double-quoted."""
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _KEYWORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def money(amount: Decimal | str) -> str:
    return '"' + str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)) + '"'


def period(length: int, unit: str) -> str:
    return f"{{length: {length}, unit: {unit}}}"


def flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"


def block(*lines: str) -> str:
    """A nested value written on its own lines below its key."""
    return "".join(f"\n  {line}" for line in lines)


def item(fields: dict[str, object], indent: int = 2) -> str:
    """One list item, `- key: value` per field. Values are YAML text already, ints or
    bools; None leaves the field out; the lines of a block() go below their key."""
    lines: list[str] = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = str(value).replace("\n", "\n" + " " * (indent + 2))
        if not text.startswith("\n"):
            text = " " + text
        lines.append(f"{'  ' if lines else '- '}{key}:{text}")
    return "".join(f"{' ' * indent}{line}\n" for line in lines)


def document(comment: str, kind: str, items: Iterable[str], *, compact: bool = False) -> str:
    """A file holding one kind: the header, a comment, and the items (with a blank line
    between them unless `compact`)."""
    notes = "".join(f"# {line}\n".replace("# \n", "#\n") for line in comment.splitlines())
    return f"{HEADER}#\n{notes}{kind}:\n" + ("" if compact else "\n").join(items)


def plan_item(plan: Plan, first_in_file: bool) -> str:
    sku, term = plan.sku, plan.term
    recurring = sku.list_price * term.factor
    resources = []
    for key in sku.family.addons:
        addon = ADDONS[key]
        price = recurring if addon.price is None else Decimal(addon.price) * term.billing_months
        fee = f"recurring: {money(price)}"
        if Decimal(addon.setup):
            fee = f"setup: {money(addon.setup)}, {fee}"
        resource = {
            "id": addon.id,
            "name": q(addon.name.format(tier=sku.tier.name)),
            "unit": q(addon.unit),
            "included": addon.included,
            "min": addon.min,
            "max": addon.max,
            "price": f"{{{fee}}}",
            "category": addon.category,
        }
        resources.append(item(resource, indent=0).rstrip("\n"))
    top_tier = sku.tier is sku.family.tiers[-1] and not sku.edition.slug and term is Y1M
    return item(
        {
            "id": plan.id,
            "name": q(f"{sku.name}, {term.label}"),
            "description": q(f"<p>{sku.family.blurb}</p><p>{term.sentence}</p>"),
            "sku": sku.id,
            "subscription_period": period(*term.subscription),
            "billing_period": period(*term.billing),
            "price": f'{{setup: "0.00", recurring: {money(recurring)}}}',
            "sort_order": plan.sort_order,
            "published": None if plan.published else False,
            "trial": period(sku.vendor.trial_days, "day")
            if sku.vendor.trial_days and term is M1M
            else None,
            "billing_model": "charge_before_billing_period" if term is Y3Y else None,
            "auto_renew": False if sku.edition.slug == "gov" else None,
            "resources": block(*"\n".join(resources).splitlines()),
            "upgrades_to": flow([plan.upgrades_to]) if plan.upgrades_to else None,
            "rules": f"&rules {sku.vendor.rules}" if first_in_file else "*rules",
            "lifecycle": block("prevent_destroy: true") if top_tier else None,
        }
    )


def catalog_files(catalog: Catalog) -> dict[str, str]:
    files: dict[str, str] = {}
    skus_by_vendor: dict[str, list[Sku]] = defaultdict(list)
    for sku in catalog.skus:
        skus_by_vendor[sku.vendor.slug].append(sku)
    for slug, skus in skus_by_vendor.items():
        items = [
            item(
                {
                    "id": sku.id,
                    "name": q(sku.name),
                    "vendor": q(sku.vendor.name),
                    "source": "distributor",
                    "vendor_sku": sku.id.upper(),
                    "description": q(sku.family.blurb),
                }
            )
            for sku in skus
        ]
        comment = f"{skus[0].vendor.name} SKUs enabled from the distributor's catalog."
        files[f"catalog/skus-{slug}.yaml"] = document(comment, "skus", items)
    for slug, plans in catalog.plans_by_vendor().items():
        for n, start in enumerate(range(0, len(plans), PLANS_PER_FILE), 1):
            chunk = plans[start : start + PLANS_PER_FILE]
            comment = (
                f"{chunk[0].sku.vendor.name} service plans, part {n}.\n"
                "The vendor's ordering rules are anchored on the first plan."
            )
            items = [plan_item(plan, i == 0) for i, plan in enumerate(chunk)]
            files[f"catalog/vendor-{slug}-{n:02d}.yaml"] = document(comment, "service_plans", items)
    items = [
        item({"id": rid, "name": q(name), "description": q(description), "sort_order": i})
        for i, (rid, name, description) in enumerate(RESOURCE_CATEGORIES, 1)
    ]
    comment = "How add-on resources are grouped when customers order more."
    files["catalog/resource-categories.yaml"] = document(comment, "resource_categories", items)
    return files


@dataclass
class Storefront:
    """What the storefront files refer to, kept for screens and tax rules."""

    vendors: list[Vendor] = field(default_factory=list)
    #: top-level `services` categories, one per vendor
    roots: list[str] = field(default_factory=list)
    #: `addons` categories
    upsell: list[str] = field(default_factory=list)
    #: family categories of telephony plans
    telecom: list[str] = field(default_factory=list)


def category_item(
    cid: str, name: str, plans: Sequence[str] = (), *, upsell: bool = False, **extra: object
) -> str:
    listed = block(*(f"- {p}" for p in plans)) if plans else "[]"
    return item(
        {
            "id": cid,
            "name": q(name),
            "type": "addons" if upsell else "services",
            **extra,
            "plans": listed,
        }
    )


def category_files(catalog: Catalog, front: Storefront) -> dict[str, str]:
    """Per vendor: root > family > edition (leaves hold plans), plus one add-ons category."""
    files: dict[str, str] = {}
    for position, (slug, plans) in enumerate(catalog.plans_by_vendor().items(), 1):
        vendor = plans[0].sku.vendor
        front.vendors.append(vendor)
        leaves: dict[str, list[str]] = defaultdict(list)
        for plan in plans:
            if plan.published:
                leaves[plan.sku.category].append(plan.id)
        items = []
        families = [
            f
            for f in vendor.families
            if any(leaf.startswith(f"{slug}-{f.slug}-") for leaf in leaves)
        ]
        if families:
            front.roots.append(slug)
            icon = f'"{{{{ vars.site }}}}/assets/icons/{slug}.svg"'
            items.append(category_item(slug, vendor.name, position=position, icon_url=icon))
        for family_position, family in enumerate(families, 1):
            fid = f"{slug}-{family.slug}"
            if family.telecom:
                front.telecom.append(fid)
            items.append(category_item(fid, family.name, parent=slug, position=family_position))
            for edition_position, edition in enumerate(vendor.editions, 1):
                leaf = f"{fid}-{edition.slug or 'com'}"
                if leaf in leaves:
                    name = f"{family.name}, {edition.label}"
                    items.append(
                        category_item(
                            leaf, name, leaves[leaf], parent=fid, position=edition_position
                        )
                    )
        upsell = f"{slug}-addons"
        if upsell in leaves:
            front.upsell.append(upsell)
            items.append(
                category_item(
                    upsell,
                    f"{vendor.name} add-ons",
                    leaves[upsell],
                    upsell=True,
                    position=100 + position,
                    max_upsell_subscriptions=3,
                )
            )
        comment = f"{vendor.name}: a category per product family, a subcategory per edition."
        files[f"storefront/categories/{slug}.yaml"] = document(comment, "sales_categories", items)
    return files


def screen_files(front: Storefront) -> str:
    """Shared screens, a default scenario with everything and one scenario per vendor
    (for that vendor's categories)."""

    def screen(sid: str, stype: str, title: str, **refs: Sequence[str]) -> str:
        listed = {key: flow(values) for key, values in refs.items()}
        return item({"id": sid, "type": stype, "title": q(title), **listed})

    def scenario(
        sid: str, name: str, steps: Sequence[str], default: bool = False, scope: str = ""
    ) -> str:
        return item(
            {
                "id": sid,
                "name": q(name),
                "screens": flow(steps),
                "applies_to": block(f"sales_categories: [{scope}]") if scope else None,
                "default": default or None,
            }
        )

    ending = ["review-cart", "{terms}", "payment", "checkout"]
    screens = [
        screen("review-cart", "cart_review", "Review your order"),
        screen("payment", "payment", "Payment details"),
        screen("checkout", "checkout", "Place your order"),
        screen(
            "accept-terms",
            "terms",
            "Terms and conditions",
            terms=["reseller-terms", "reseller-dpa"],
        ),
    ]
    steps = []
    if front.roots:
        screens.append(
            screen(
                "choose-services",
                "sales_categories",
                "Choose your services",
                categories=front.roots,
            )
        )
        steps.append("choose-services")
    if front.upsell:
        screens.append(screen("choose-addons", "addons", "Add more", categories=front.upsell))
        steps.append("choose-addons")
    scenarios = [
        scenario("default-order", "Order services", [*steps, *ending], default=True).replace(
            "{terms}", "accept-terms"
        )
    ]
    for vendor in front.vendors:
        if vendor.slug not in front.roots:
            continue  # nothing of this vendor's is on sale: no category leads to a scenario
        steps = [f"choose-{vendor.slug}"]
        screens.append(
            screen(
                steps[-1],
                "sales_categories",
                f"Choose your {vendor.name} plan",
                categories=[vendor.slug],
            )
        )
        if f"{vendor.slug}-addons" in front.upsell:
            steps.append(f"addons-{vendor.slug}")
            screens.append(
                screen(
                    steps[-1],
                    "addons",
                    f"{vendor.name} add-ons",
                    categories=[f"{vendor.slug}-addons"],
                )
            )
        terms = f"terms-{vendor.slug}"
        screens.append(
            screen(
                terms,
                "terms",
                f"{vendor.name} terms",
                terms=["reseller-terms", f"{vendor.slug}-terms"],
            )
        )
        scenarios.append(
            scenario(
                f"{vendor.slug}-order", f"{vendor.name} order", [*steps, *ending], scope=vendor.slug
            ).replace("{terms}", terms)
        )
    comment = "The steps of every purchase scenario."
    return document(comment, "screens", screens) + "\npurchase_scenarios:\n" + "\n".join(scenarios)


def terms_file(front: Storefront) -> str:
    items = [
        item(
            {
                "id": "reseller-terms",
                "title": "Northwind Cloud terms of sale",
                "version": '"2026-01"',
                "url": '"{{ vars.site }}/legal/terms-of-sale"',
                "locale": "en-US",
                "lifecycle": block("prevent_destroy: true"),
            }
        ),
        item(
            {
                "id": "reseller-dpa",
                "title": "Data processing agreement",
                "version": '"2025-06"',
                "body": ">-"
                + block(
                    "<p>Northwind processes personal data only on the customer's documented",
                    "instructions and for as long as the subscription lasts.</p>",
                    "<p>Sub-processors are the vendors whose services the customer orders.</p>",
                ),
            }
        ),
    ]
    items += [
        item(
            {
                "id": f"{vendor.slug}-terms",
                "title": q(f"{vendor.name} end user terms"),
                "version": '"2025-01"',
                "url": vendor.terms_url,
                "applies_to": block(f"sales_categories: [{vendor.slug}]"),
            }
        )
        for vendor in front.vendors
        if vendor.slug in front.roots
    ]
    return document("Customers accept these on the terms screens.", "terms", items)


CUSTOMIZATION = f"""\
{HEADER}customization:
  - id: branding
    store_title: Northwind Cloud Marketplace
    logo_url: "{{{{ vars.site }}}}/assets/logo.svg"
    favicon_url: "{{{{ vars.site }}}}/favicon.ico"
    primary_color: "#1B3A5C"
    accent_color: "#E87722"
    support_email: support@northwind.example
    support_phone: "+1 (206) 555-0100"
    footer_html: <p>Northwind Traders, cloud services for small business.</p>
    custom_css: |
      .store-header {{ border-bottom: 3px solid #E87722; }}
      .plan-card .price {{ font-weight: 600; }}
    texts:
      en-US:
        home.headline: Every cloud service your business needs, from one partner
        checkout.note: Most services are active within 10 minutes.
      de-DE:
        home.headline: Alle Cloud-Dienste aus einer Hand
        checkout.note: Die meisten Dienste sind in 10 Minuten aktiv.
      fr-FR:
        home.headline: Tous vos services cloud chez un seul partenaire
        checkout.note: La plupart des services sont actifs en 10 minutes.
    lifecycle:
      # marketing edits the texts in the control panel; keep theirs
      ignore_changes: [texts]
"""


def tax_files(front: Storefront) -> dict[str, str]:
    us = document(
        "State sales tax on cloud services (state base rates; 0 records a decision).",
        "tax_rules",
        [
            f"  - {{id: us-{code.lower()}-sales-tax, name: {q(f'{name} sales tax')}, "
            f'region: US-{code}, rate: "{rate}"}}\n'
            for code, name, rate in US_SALES_TAX
        ],
        compact=True,
    )
    if front.telecom:
        us += "\n  # communications taxes on telephony plans, applied after the sales tax\n"
        us += "\n".join(
            item(
                {
                    "id": f"us-{code.lower()}-communications-tax",
                    "name": "Communications services tax",
                    "region": f"US-{code}",
                    "rate": f'"{rate}"',
                    "priority": 1,
                    "compound": True,
                    "applies_to": block(f"sales_categories: {flow(front.telecom)}"),
                }
            )
            for code, rate in US_TELECOM_TAX
        )
    eu = document(
        "VAT on electronically supplied services, at the customer's country rate.",
        "tax_rules",
        [
            f'  - {{id: {code.lower()}-vat, name: {q(f"{name} VAT")}, region: {code}, rate: "{rate}"}}\n'
            for code, name, rate in EU_VAT
        ],
        compact=True,
    )
    return {"tax/us.yaml": us, "tax/eu.yaml": eu}


def payment_file() -> str:
    eu = [code for code, _, _ in EU_VAT]
    items = [
        item(
            {
                "id": "credit-card",
                "type": "credit_card",
                "name": q("Credit card (Visa, Mastercard, American Express)"),
                "regions": flow(["US", *eu]),
                "autopay": True,
            }
        ),
        item({"id": "debit-card", "type": "debit_card", "name": "Debit card", "regions": flow(eu)}),
        item(
            {
                "id": "ach-net30",
                "type": "ach",
                "name": q("ACH bank transfer (Net-30 accounts)"),
                "regions": flow(["US"]),
                "autopay": True,
            }
        ),
    ]
    return document("ACH is for US accounts on Net-30 terms only.", "payment_methods", items)


STORE_YAML = f"""\
{HEADER}apiVersion: storecfg/v1
store:
  id: {{store_id}}
  name: Northwind Cloud Marketplace
  currency: USD
  locales: [en-US, de-DE, fr-FR]
  prices_include_tax: false
include:
  - catalog/*.yaml
  - storefront/*.yaml
  - storefront/categories/*.yaml
  - tax/*.yaml
  - payments.yaml
vars:
  site: {SITE}
"""


# ------------------------------------------------------------------------- the API


@dataclass(frozen=True)
class GeneratedStore:
    root: Path
    plans: int
    files: list[Path]
    #: resources per kind, as the store will hold them
    counts: dict[str, int]

    @property
    def resources(self) -> int:
        return sum(self.counts.values())

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)


def _count_kinds(files: dict[str, str]) -> dict[str, int]:
    """Resources per kind, counted from the generated text (top-level list items)."""
    counts: Counter[str] = Counter()
    for text in files.values():
        kind = None
        for line in text.splitlines():
            if line and line[0].isalpha() and line.endswith(":"):
                kind = line[:-1]
            elif line.startswith("  - ") and kind:
                counts[kind] += 1
    return dict(sorted(counts.items()))


def generate_store(out: Path, plans: int, *, store_id: str = STORE_ID) -> GeneratedStore:
    """Write a store with exactly `plans` service plans to `out` (which must not exist
    or be empty)."""
    if plans < 1:
        raise ValueError("a store needs at least one plan")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    catalog = build_catalog(plans)
    front = Storefront()
    files = catalog_files(catalog)
    files |= category_files(catalog, front)
    files |= tax_files(front)
    files["storefront/screens.yaml"] = screen_files(front)
    files["storefront/terms.yaml"] = terms_file(front)
    files["storefront/customization.yaml"] = CUSTOMIZATION
    files["payments.yaml"] = payment_file()
    counts = _count_kinds(files)
    files["store.yaml"] = STORE_YAML.format(store_id=store_id)
    written = []
    for name, text in sorted(files.items()):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return GeneratedStore(out, plans, written, counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, required=True, help="number of service plans")
    parser.add_argument("--out", type=Path, required=True, help="directory to create")
    parser.add_argument("--store-id", default=STORE_ID, help=f"store.id (default {STORE_ID})")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args(argv)
    if args.force and args.out.exists():
        shutil.rmtree(args.out)
    try:
        store = generate_store(args.out, args.plans, store_id=args.store_id)
    except (ValueError, FileExistsError) as exc:
        parser.error(str(exc))
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in store.counts.items())
    print(
        f"{store.root}: {len(store.files)} files, {store.bytes / 2**20:.1f} MiB, "
        f"{store.resources:,} resources ({kinds})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
