"""SPEC section 1 (the store definition), through `storecfg validate` in a fresh directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.server import storecfg

from .conftest import edit

#: FILE:LINE:COL: CODE ADDRESS: message
LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>SC\d{3}) (?P<address>\S+): "
)


def test_a_valid_store_exits_0_and_prints_no_diagnostics(store_dir: Path) -> None:
    result = storecfg("validate", "store", cwd=store_dir.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_an_unknown_field_names_the_closest_known_field(store_dir: Path) -> None:
    edit(store_dir / "catalog" / "plans.yaml", "    sku: mail\n", "    sku: mail\n    prise: 1\n")
    edit(store_dir / "storefront" / "front.yaml", "primary_color", "colour_scheme")
    result = storecfg("validate", "store", cwd=store_dir.parent)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    typo = [line for line in lines if "service_plans.mail-basic.prise" in line]
    assert typo and "SC301" in typo[0] and "'price'" in typo[0], result.stdout
    # not a likely typo: still names the known field nearest to it
    far = [line for line in lines if "customization.branding.colour_scheme" in line]
    assert far and "SC301" in far[0] and "'accent_color'" in far[0], result.stdout


def test_every_error_of_every_file_in_one_run_relative_to_the_current_directory(
    store_dir: Path,
) -> None:
    edit(store_dir / "catalog" / "plans.yaml", "sku: mail\n", "sku: mial\n")
    edit(store_dir / "storefront" / "front.yaml", "terms: [tos]", "terms: [toss]")
    edit(store_dir / "tax.yaml", 'rate: "25"', "rate: 25")
    result = storecfg("validate", "store", cwd=store_dir.parent)
    assert result.returncode == 1
    parsed = [LINE.match(line) for line in result.stdout.splitlines()]
    assert all(parsed), result.stdout
    found = {(m["file"], m["code"], m["address"]) for m in parsed if m}
    assert {
        ("store/catalog/plans.yaml", "SC001", "service_plans.mail-basic.sku"),
        ("store/catalog/plans.yaml", "SC001", "service_plans.mail-pro.sku"),
        ("store/storefront/front.yaml", "SC001", "screens.legal.terms[0]"),
        ("store/tax.yaml", "SC305", "tax_rules.no-vat.rate"),
    } <= found, result.stdout
    # the missing reference is named with the closest ID
    assert "skus.mial does not exist; did you mean skus.mail?" in result.stdout

    # bad YAML is reported in the same format, beside the other files' errors
    (store_dir / "catalog" / "broken.yaml").write_text("skus:\n  - {id: x, name: [unclosed\n")
    result = storecfg("validate", "store", cwd=store_dir.parent)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    parsed = [LINE.match(line) for line in result.stdout.splitlines()]
    assert all(parsed), result.stdout
    found = {(m["file"], m["code"], m["address"]) for m in parsed if m}
    assert ("store/catalog/broken.yaml", "SC101", "-") in found
    assert ("store/tax.yaml", "SC305", "tax_rules.no-vat.rate") in found
    (store_dir / "catalog" / "broken.yaml").unlink()

    # from inside the store directory the same files are named relative to it
    inside = storecfg("validate", ".", cwd=store_dir)
    assert "\ncatalog/plans.yaml:" in "\n" + inside.stdout, inside.stdout
    as_json = json.loads(storecfg("validate", ".", "--json", cwd=store_dir).stdout)
    assert {d["file"] for d in as_json} >= {"catalog/plans.yaml", "tax.yaml"}


def test_yes_is_a_string_and_the_error_names_only_that_field(store_dir: Path) -> None:
    # YAML 1.2 core schema: `yes` is the string 'yes', so a boolean field refuses it
    edit(store_dir / "storefront" / "front.yaml", "default: true", "default: yes")
    result = storecfg("validate", "store", cwd=store_dir.parent)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # the scenario's own error, nothing knocked on
    assert LINE.match(lines[0])
    assert " SC303 purchase_scenarios.main.default: " in lines[0]
    assert "'yes'" in lines[0]


def test_validate_checks_every_directory_even_after_a_missing_one(store_dir: Path) -> None:
    broken = store_dir.parent / "broken"
    broken.mkdir()
    (broken / "store.yaml").write_text(
        "apiVersion: storecfg/v1\nstore: {id: broken, name: B, currency: USD}\nvars: [\n"
    )
    result = storecfg("validate", "missing", "store", "broken", cwd=store_dir.parent)
    assert result.returncode == 1
    assert "missing" in result.stderr and "Traceback" not in result.stderr
    assert "store: valid" in result.stderr, result.stderr  # still checked
    assert "broken/store.yaml:" in result.stdout  # and its errors printed
