"""What each diagnostic code means and how to fix it: the first paragraph of its entry in
docs/reference.md (a test keeps the two the same). SARIF output carries it as the
rule's help text, so code scanning can explain a finding where it is shown.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    "SC001": (
        "A reference names a resource that does not exist (section 9). The message names "
        "the missing address and, when there is one, the closest existing ID. Fix the "
        "spelling or add the missing resource."
    ),
    "SC002": (
        "The screens of a purchase scenario are in an order the store cannot use (rules "
        "in purchase_scenarios)."
    ),
    "SC003": (
        "A `sales_categories` screen lists an `addons` category, or an `addons` screen "
        "lists a `services` category. Move the category to a screen of the matching type."
    ),
    "SC004": (
        "The billing period does not divide the subscription period, so a term would end "
        "in the middle of a billing period. Bill at most once per term: 1 year billed "
        "monthly or yearly, 1 month billed monthly."
    ),
    "SC005": (
        "An add-on's amounts are out of order. The amount included in the plan must lie "
        "between `min` and `max`, and `min` may not exceed `max`. `included` and `min` "
        "default to 0."
    ),
    "SC006": (
        "`upgrades_to` links lead back to where they started, or a plan lists itself. "
        "Upgrades are one-way; remove one link of the cycle."
    ),
    "SC007": (
        "Two tax rules have the same region and priority and apply to the same sales "
        "categories (a rule without `applies_to` applies to all of them), so the order in "
        "which they apply is undefined. Give the later one a higher `priority` (and "
        "`compound: true` if it is charged on the amount after the first), or separate "
        "their `applies_to`."
    ),
    "SC008": (
        "An `ach` payment method lists a region outside the US. ACH is only available to "
        "US accounts; offer cards elsewhere."
    ),
    "SC009": (
        "A store that has screens needs exactly one default purchase scenario: the one "
        "scenario without `applies_to`, or the one with `default: true`. There are "
        "several defaults, none (several scenarios without `applies_to` and none marked, "
        "or every scenario has `applies_to`), a default that has `applies_to`, or no "
        "scenario at all."
    ),
    "SC010": (
        "Warning. A published plan is in no sales category, so customers cannot find it "
        "in the store. Add it to a category, or set `published: false` if you sell it "
        "only from the control panel. `validate` still exits with 0 unless you pass "
        "`--strict`."
    ),
    "SC011": (
        "The sales category tree is broken: a category with subcategories also lists "
        "plans, a category is its own parent, or parents form a cycle."
    ),
    "SC012": (
        "Two resources of the same kind have the same ID, in the same file or in "
        "different files. The message says where the first one is."
    ),
    "SC013": ("Two add-ons (`resources`) of one plan have the same `id`."),
    "SC014": (
        "A screen's fields do not fit its type: `sales_categories` and `addons` screens "
        "need `categories`, `terms` screens need `terms`, and other screens list neither "
        "(see the table in screens)."
    ),
    "SC015": ("A store has one branding (customization) resource; a second one is an error."),
    "SC016": (
        "A region's country part is not an ISO 3166-1 country code. Common slips get a "
        "hint: `UK` is `GB`, `EL` is `GR`."
    ),
    "SC017": ("An amount has more decimals than the store currency has (USD: 2, JPY: 0, KWD: 3)."),
    "SC018": ("`store.currency` has the shape of a currency code but is not an ISO 4217 currency."),
    "SC019": (
        "A path in `lifecycle.ignore_changes` names no field of the resource's kind, so "
        "it would silently ignore nothing. Paths are dotted field names; a step into a "
        "list of objects (the add-ons in `resources`) is the item's ID, as in "
        "`resources.extra-seats.max`."
    ),
    "SC020": (
        "Warning (an error with `validate --strict`). No buyer can ever walk this "
        "purchase scenario: it has no `applies_to` and is not the default (a store may "
        "have several scenarios from before `applies_to` existed; only the default was "
        "ever used), or no sales category in its `applies_to` holds a published plan of "
        "its own (they hold none, their subcategories lead to scenarios of their own, or "
        "another scenario names them). Give the scenario `applies_to` with the categories "
        "whose buyers should walk it, or remove it."
    ),
    "SC021": (
        "A sales category in a scenario's `applies_to` is already in the `applies_to` of "
        "another scenario (a category leads to one scenario), or it is an `addons` "
        "category (scenarios are chosen by the plan a buyer picks from a `services` "
        "category; add-on plans are bought within that scenario)."
    ),
    "SC022": (
        "Warning (an error with `validate --strict`). Terms with `applies_to` are shown "
        "to buyers of those products on the terms screens of the scenario they walk; here "
        "no buyer would ever see them: the scenario those plans lead to lists them on no "
        "terms screen, they are on no terms screen at all, or `applies_to` names no "
        "published plan."
    ),
    "SC023": (
        "A `services` category lists no plans and has no subcategories, so customers who "
        "open it find nothing. Add plans (or subcategories that hold them), or remove the "
        "category. A parent category (`plans: []` with subcategories) and an empty "
        "`addons` category are fine."
    ),
    "SC024": (
        "An order field's `pattern` is not a valid regular expression (the reason and the "
        "character where it goes wrong follow the colon), or it is on a checkbox, which "
        "the buyer only ticks. Quote patterns in single quotes so that YAML keeps the "
        "backslashes."
    ),
    "SC025": ("Two order fields of one plan have the same `id`."),
    "SC026": (
        "`rules.early_termination` has `fee: fixed` without an `amount`, or an `amount` "
        "with another fee; or the plan also sets `price.cancellation`, which says the "
        "same thing."
    ),
    "SC027": (
        "`stacks` says whether a subdivision rule comes on top of its country's rules; a "
        "rule for a whole country has nothing to stack on (see tax_rules)."
    ),
    "SC028": (
        "An `ach` payment method's `eligibility.payment_terms` lists `prepaid`. ACH pays "
        "the monthly invoice of accounts on Net terms; prepaid accounts pay each purchase "
        "by card."
    ),
    "SC101": (
        "The file is not valid YAML. The position is where the parser gave up, which may "
        "be after the actual mistake. A frequent cause is a `: ` inside an unquoted "
        'value: quote the value (`name: "Office 365: E1 plan"`).'
    ),
    "SC102": (
        "A mapping has the same key twice. YAML tools disagree on which one wins, so "
        "storecfg refuses the file."
    ),
    "SC103": (
        "A tab character is used for indentation: only spaces and tabs come before it on "
        "its line (and, in a `|` or `>` block, not enough spaces to indent the block's "
        "text). YAML indents with spaces only. Other tabs the reader refuses are SC101."
    ),
    "SC104": (
        "Aliases (`*name`) expand to more than 100,000 values or to more than 4 MiB "
        "(4,194,304 characters) of strings and keys in one file, or an alias refers to "
        'the value it is part of. This protects against "billion laughs" files that are '
        "small on disk but huge in memory."
    ),
    "SC105": ("A file is larger than 32 MiB, or one string in it is longer than 1 MiB."),
    "SC106": ("Mappings and lists are nested more than 64 levels deep."),
    "SC107": (
        "An include pattern points outside the store directory: an absolute path, a `..`, "
        "or a file that is a symbolic link to somewhere outside; or `store.yaml` itself "
        "is a symbolic link to a file outside its directory. Copy shared files into the "
        "store directory, or use templates and var files to vary content."
    ),
    "SC108": (
        "Warning. An include pattern matches no file. Check the spelling and the "
        "directory; patterns are relative to `store.yaml`."
    ),
    "SC109": (
        "A file cannot be read: it is not UTF-8 text, or the operating system refused to "
        "read it. Save the file as UTF-8."
    ),
    "SC110": (
        "The file uses a YAML feature that storecfg does not accept: a custom tag, a "
        "second document, a key that is not a string, a standard tag whose value does not "
        "fit it, a merge key (`<<`) on something that is not a mapping, a whole number "
        "outside the signed 64-bit range, or an anchor or alias name with `:` in it (YAML "
        "readers disagree on where such a name ends)."
    ),
    "SC111": (
        "An include entry that names one file (no `*`, `?` or `[` in it) names a file "
        "that is not there. A glob that matches nothing is only a warning (SC108); a file "
        "you named is part of your store, so a missing one is an error."
    ),
    "SC112": (
        "An include pattern has to look into a directory that cannot be read (permission "
        "denied, an I/O error), or meets a symbolic link loop or a symbolic link to "
        "nothing. storecfg stops instead of reading the definition in part: what lives in "
        "that directory would otherwise be missing, and the plan would delete it from the "
        "live store. Fix the permissions or the link."
    ),
    "SC113": (
        "Matching the include patterns would look at more than 100,000 files and "
        "directories (for example `**/*.yaml` over a store directory that also holds an "
        "archive of exports). Narrow the patterns (`catalog/**/*.yaml`) or move the other "
        "files out."
    ),
    "SC114": (
        "A target in `store.yaml` names a var file that does not exist, or one outside "
        "the store directory (an absolute path, a `..`, or a symbolic link that leads "
        "outside). Target var files are relative to `store.yaml`; the closest file name "
        "is suggested."
    ),
    "SC201": (
        "A template uses a variable that is not defined in `vars`, a var file or `--var` "
        "(often a typo, or a forgotten `--var-file`). Functions the sandbox does not "
        "offer (`range`, `dict`, ...) are reported as SC202 instead."
    ),
    "SC202": (
        "A template uses something the sandbox does not allow (section 4), or fails while "
        "running: a `for` loop, `set`, printf-style `%` on strings, an exponent above 64, "
        "access to internal attributes, dividing by zero, `decimal` of something that is "
        "not a number."
    ),
    "SC203": (
        "A template is not valid Jinja2 syntax, for example a missing `}` or an unclosed "
        "`{% if %}`."
    ),
    "SC204": (
        "A template produces more than 64 KiB for one value, or all templates together "
        "more than 16 MiB."
    ),
    "SC205": (
        "A var file is not a mapping of variable names to values (it is a list, a single "
        "value, or empty)."
    ),
    "SC206": (
        "A template's own text is longer than 64 KiB or has more than 2,000 parts (names, "
        "operators, values, text), or one run holds more than 1,000 different templates. "
        "Compiling a template is the costly step, so these keep it bounded. Templates "
        "that differ only in their literals, the text around their expressions and the "
        'keys they look up count as one (`"{{ vars.cost.e1 | money }}"` and `"{{ '
        'vars.cost.e3 | money }}"`). Move long text into a variable, or split the '
        "template."
    ),
    "SC301": (
        "A field or resource kind that the schema does not know, usually a typo. The "
        "message names the closest known one."
    ),
    "SC302": (
        "A required field is missing. The tables in section 7 list the required fields of "
        "each kind."
    ),
    "SC303": (
        "A value has the wrong type: a string where a list is expected, a string such as "
        "`no` where `true` or `false` is expected (YAML 1.2, section 5), a file that is "
        "not a mapping of kinds to lists."
    ),
    "SC304": (
        "A value has the right type but is not allowed: not one of the listed choices, "
        "out of range, in the wrong format (color, e-mail, locale, currency), a list with "
        "duplicates, or `url` and `body` on the same terms document."
    ),
    "SC305": (
        "An amount or tax rate is not a quoted decimal string: an unquoted number, a "
        "negative amount, or text that is not a number. Quote amounts: `recurring: "
        '"12.00"`.'
    ),
    "SC306": (
        "An ID does not match `^[a-z0-9][a-z0-9._-]{0,62}$`: uppercase letters, spaces, "
        "other punctuation, a leading `.`, `_` or `-`, or more than 63 characters."
    ),
    "SC401": (
        "A resource is defined in the directory, but `policy.unmanaged` says resources "
        "like it are managed elsewhere. Either manage it here (narrow or remove the "
        "pattern) or not (remove the resource from the definition)."
    ),
    "SC402": (
        "The kind before the dot is not a resource kind, so the pattern would silently "
        "protect nothing."
    ),
}
