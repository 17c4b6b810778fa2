"""Targets: one directory, several stores, one pull-request comment.

From outside: the real CLI against a real server holding two stores, each reached
through its own URL and token variables; and Markdown for plans that fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from apply.stores import BASE, edit, write_store
from support.server import Server, running_server, storecfg

STORE_YAML = """\
apiVersion: storecfg/v1
store:
  id: "{{ vars.store_id }}"
  name: "Test Store {{ vars.country }}"
  currency: "{{ vars.currency }}"
include: [catalog.yaml, storefront.yaml]
targets:
  us: {var_files: [vars/us.yaml], store_url_env: STORE_URL_US, token_env: STORE_TOKEN_US}
  ca: {var_files: [vars/ca.yaml], store_url_env: STORE_URL_CA, token_env: STORE_TOKEN_CA}
"""


def two_country_store(root: Path) -> Path:
    store = write_store(root, {**BASE, "store.yaml": STORE_YAML})
    (store / "vars").mkdir()
    (store / "vars" / "us.yaml").write_text(
        "store_id: shop-us\ncountry: US\ncurrency: USD\n", encoding="utf-8"
    )
    (store / "vars" / "ca.yaml").write_text(
        "store_id: shop-ca\ncountry: Canada\ncurrency: CAD\n", encoding="utf-8"
    )
    return store


def _env(server: Server) -> dict[str, str]:
    """Each target's URL and token in its own variables; nothing in the common ones."""
    return {
        "STORECFG_STORE": "",
        "STORECFG_TOKEN": "",
        "STORE_URL_US": server.url,
        "STORE_TOKEN_US": server.token("shop-us"),
        "STORE_URL_CA": server.url,
        "STORE_TOKEN_CA": server.token("shop-ca"),
    }


def test_plan_and_apply_every_target_of_one_directory(tmp_path: Path) -> None:
    store = two_country_store(tmp_path / "store")
    with running_server(tmp_path, stores=["shop-us", "shop-ca"]) as server:
        env = _env(server)
        tokens = [env["STORE_TOKEN_US"], env["STORE_TOKEN_CA"]]
        run = storecfg(
            "plan", "store", "--all-targets", "--format", "markdown", "--detailed-exitcode",
            "-o", "plan.json", cwd=tmp_path, env=env,
        )  # fmt: skip
        assert run.returncode == 2, run.stderr
        md = run.stdout
        assert md.startswith(
            "<!-- storecfg-plan: shop-us -->\n<!-- storecfg-plan: shop-ca -->\n"
            "## storecfg plan: 2 targets\n"
        )
        assert (
            md.count("**Plan: 20 to create, 0 to update, 0 to delete; store settings to set.**")
            == 2
        )
        assert "### Target `us`: Test Store US (`shop-us`)" in md
        assert "### Target `ca`: Test Store Canada (`shop-ca`)" in md
        assert "amounts in USD" in md and "amounts in CAD" in md
        assert "new plan **Pro** (`pro`): CAD 40.00 per month" in md
        assert not (tmp_path / "plan.json").exists()
        # the command printed for a target's plan file names that target's store and token
        hint = (
            'STORECFG_TOKEN="$STORE_TOKEN_CA" storecfg apply plan.ca.json --store "$STORE_URL_CA"'
        )
        assert hint in run.stderr
        saved = {
            name: json.loads((tmp_path / f"plan.{name}.json").read_text()) for name in ("us", "ca")
        }
        assert saved["us"]["store"]["id"] == "shop-us" and saved["ca"]["store"]["id"] == "shop-ca"
        assert saved["ca"]["target"] == {
            "name": "ca",
            "store_url_env": "STORE_URL_CA",
            "token_env": "STORE_TOKEN_CA",
        }
        # like any plan file, a target's goes only to the store (and with the token) named
        # in the common variables; the file does not choose them
        applied = storecfg("apply", "plan.us.json", cwd=tmp_path, env=env)
        assert applied.returncode == 1
        assert "the store configured here is sqlite:///" in applied.stderr
        us = {**env, "STORECFG_STORE": server.url, "STORECFG_TOKEN": env["STORE_TOKEN_US"]}
        applied = storecfg("apply", "plan.us.json", cwd=tmp_path, env=us)
        assert applied.returncode == 0, applied.stderr
        applied = storecfg(
            "apply", "store", "--target", "ca", "--auto-approve", "--backup-dir", "bk",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert applied.returncode == 0, applied.stderr
        # --backup-dir holds the local copy of a target's backup too
        assert [p.parent.name for p in (tmp_path / "bk").rglob("*.json")] == ["shop-ca"]
        assert "=== target ca (1 of 1) ===" in applied.stdout
        again = storecfg(
            "plan", "store", "--all-targets", "--detailed-exitcode", cwd=tmp_path, env=env
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.rstrip().endswith("Targets: us: no changes; ca: no changes")
        # the two stores really are separate: each holds its own currency
        for store_id, currency in (("shop-us", "USD"), ("shop-ca", "CAD")):
            with server.client(store_id) as client:
                info = client.get(f"/v1/stores/{store_id}/settings").json()
            assert info["spec"]["currency"] == currency
        for result in (run, applied, again):
            for token in tokens:
                assert token not in result.stdout + result.stderr

        # one target with a change, one failing: one document, exit 1, both shown
        edit(store, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
        partial = {**env, "STORE_TOKEN_CA": ""}
        run = storecfg(
            "plan", "store", "--all-targets", "--format", "markdown", "--detailed-exitcode",
            cwd=tmp_path, env=partial,
        )  # fmt: skip
        assert run.returncode == 1
        assert "target ca: $STORE_TOKEN_CA is not set" in run.stderr
        assert "target ca: target ca" not in run.stderr
        assert (
            "| `us` | Test Store US (`shop-us`) | 0 to create, 1 to update, 0 to delete |"
            in run.stdout
        )
        assert "| `ca` | `shop-ca` | :x: plan failed |" in run.stdout
        assert "<!-- storecfg-plan: shop-ca -->" in run.stdout
        assert "**Pro** (`pro`): recurring price USD 40.00 → 44.00 per month (+10.0%)" in run.stdout
        assert "> **The plan failed: $STORE\\_TOKEN\\_CA is not set; it holds the API token" in (
            run.stdout.replace("target ca&#58; ", "").replace("target ca: ", "")
        )

        # JSON: one document holding each target's plan (or error)
        run = storecfg("plan", "store", "--all-targets", "--json", cwd=tmp_path, env=env)
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout)
        assert [t["target"] for t in doc["targets"]] == ["us", "ca"]
        assert doc["has_changes"] is True and doc["failed"] == []
        assert [t["plan"]["summary"]["update"] for t in doc["targets"]] == [1, 1]
        assert doc["targets"][1]["plan"]["store"]["currency"] == "CAD"


def test_a_target_without_its_url_is_an_error_not_another_store(tmp_path: Path) -> None:
    two_country_store(tmp_path / "store")
    env = {"STORECFG_STORE": "", "STORE_URL_US": "", "STORE_URL_CA": ""}
    run = storecfg("plan", "store", "--target", "us", cwd=tmp_path, env=env)
    assert run.returncode == 1
    assert "Error: target us: $STORE_URL_US is not set" in run.stderr
    assert not (tmp_path / ".storecfg").exists()
    # --store wins over the target's variable (both stores in one embedded database)
    db = f"sqlite:///{tmp_path / 'local.db'}"
    run = storecfg("plan", "store", "--all-targets", "--store", db, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert "=== target us ===" in run.stdout and "=== target ca ===" in run.stdout
    assert "storecfg plan for store shop-ca" in run.stdout


def test_validate_every_target(tmp_path: Path) -> None:
    store = two_country_store(tmp_path / "store")
    run = storecfg("validate", "store", "--all-targets", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "store (target us): valid" in run.stderr and "store (target ca): valid" in run.stderr
    # an error both targets share is reported once; one only a target's vars cause, once
    edit(
        store,
        "catalog.yaml",
        "vendor: Contoso, source: custom}\n  - {id: sku-pro",
        "vendor: Contoso, source: customs}\n  - {id: sku-pro",
    )
    (store / "vars" / "ca.yaml").write_text(
        "store_id: shop-ca\ncountry: Canada\n", encoding="utf-8"
    )
    run = storecfg("validate", "store", "--all-targets", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert len(lines) == 2, lines
    assert sum("SC304" in line for line in lines) == 1
    assert sum("SC201" in line and "vars.currency" in line for line in lines) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "uss"), "--target uss: store/store.yaml has no such target; did you mean 'us'? (targets: us, ca)"),
        (("--target", "us", "--all-targets"), "give either --target NAME (repeatable) or --all-targets, not both"),
    ],
)  # fmt: skip
def test_target_options_are_checked(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    two_country_store(tmp_path / "store")
    for command in ("validate", "plan"):
        run = storecfg(command, "store", *args, cwd=tmp_path)
        assert run.returncode == 1
        assert f"Error: {message}" in run.stderr


def test_targets_are_checked_like_the_rest_of_store_yaml(tmp_path: Path) -> None:
    store = two_country_store(tmp_path / "store")
    edit(store, "store.yaml", "[vars/ca.yaml]", "[vars/ca.yml]")
    edit(store, "store.yaml", "token_env: STORE_TOKEN_US", "token-env: STORE_TOKEN_US")
    run = storecfg("validate", "store", "--var-file", "store/vars/us.yaml", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "store/store.yaml:8:64: SC301 targets.us.token-env: unknown field 'token-env'; did you mean 'token_env'?",
        "store/store.yaml:9:20: SC114 targets.ca.var_files[0]: var file 'vars/ca.yml' does not exist; did you mean 'vars/ca.yaml'?",
    ]  # fmt: skip
    run = storecfg("plan", "store", "--target", "us", cwd=tmp_path)
    assert run.returncode == 1 and "SC114" in run.stderr


def test_all_targets_needs_targets(tmp_path: Path) -> None:
    write_store(tmp_path / "s", BASE)
    run = storecfg("plan", "s", "--all-targets", cwd=tmp_path)
    assert run.returncode == 1
    assert "Error: --all-targets: s/store.yaml defines no targets" in run.stderr


def test_apply_of_a_plan_file_takes_no_target(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("{}", encoding="utf-8")
    run = storecfg("apply", "plan.json", "--target", "us", cwd=tmp_path)
    assert run.returncode == 1
    assert "--target and --all-targets apply to a definition directory" in run.stderr


# ------------------------------------------------------------------ failed plans in Markdown


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_store(tmp_path / "s", BASE)
    return tmp_path


def _md_plan(work: Path, *args: str) -> tuple[int, str, str]:
    env = {"STORECFG_STORE": f"sqlite:///{work / 'store.db'}", "STORECFG_TOKEN": ""}
    run = storecfg("plan", "s", "--format", "markdown", *args, cwd=work, env=env)
    return run.returncode, run.stdout, run.stderr


def test_an_invalid_definition_is_a_markdown_comment_and_exit_1(work: Path) -> None:
    edit(work / "s", "catalog.yaml", "name: Pro\n    sku: sku-pro", "name: Pro\n    sku: sku-prox")
    code, out, err = _md_plan(work)
    assert code == 1
    assert out.startswith("<!-- storecfg-plan: test-store -->\n## storecfg plan: `test-store`\n")
    assert "> **The plan failed: the store definition has 1 error.**" in out
    assert (
        "- `s/catalog.yaml:" in out
        and " SC001 `service_plans.pro.sku`: skus.sku-prox does not exist" in out
    )
    assert "Error: the store definition has 1 error" in err and "SC001" in err


def test_a_protected_resource_is_a_markdown_comment_and_exit_1(work: Path) -> None:
    edit(
        work / "s",
        "storefront.yaml",
        "{id: card, type: credit_card, regions: [US]}",
        "{id: card, type: credit_card, regions: [US], lifecycle: {prevent_destroy: true}}",
    )
    env = {"STORECFG_STORE": f"sqlite:///{work / 'store.db'}"}
    assert storecfg("apply", "s", "--auto-approve", cwd=work, env=env).returncode == 0
    edit(
        work / "s",
        "storefront.yaml",
        "  - {id: card, type: credit_card, regions: [US], lifecycle: {prevent_destroy: true}}\n",
        "",
    )
    code, out, err = _md_plan(work, "--detailed-exitcode")
    assert code == 1
    assert "<!-- storecfg-plan: test-store -->" in out.splitlines()[0]
    assert "prevent\\_destroy" in out and "payment\\_methods.card (delete)" in out
    assert "Error: the plan would destroy resources protected by lifecycle.prevent_destroy" in err


def test_too_many_deletes_is_a_markdown_comment_and_exit_1(work: Path) -> None:
    env = {"STORECFG_STORE": f"sqlite:///{work / 'store.db'}"}
    assert storecfg("apply", "s", "--auto-approve", cwd=work, env=env).returncode == 0
    (work / "s" / "storefront.yaml").write_text(
        (work / "s" / "storefront.yaml")
        .read_text()
        .replace("  - {id: card, type: credit_card, regions: [US]}\n", "")
    )
    code, out, _ = _md_plan(work, "--max-deletes", "0")
    assert code == 1
    assert "more than --max-deletes 0" in out


def test_a_store_that_cannot_be_reached_is_a_markdown_comment(work: Path) -> None:
    env = {**os.environ, "STORECFG_STORE": "http://127.0.0.1:9", "STORECFG_TOKEN": "x"}
    run = storecfg("plan", "s", "--format", "markdown", cwd=work, env=env)
    assert run.returncode == 1
    assert run.stdout.startswith("<!-- storecfg-plan: test-store -->\n")
    assert "The plan failed" in run.stdout
