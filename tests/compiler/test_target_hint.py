"""`validate` without a target, on a definition whose targets set the variables:
the undefined-variable errors say how to choose a target (through the real CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storecfg.compiler.targets import target_hint

from .conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stores" / "multi-country"
HINT = (
    "; store.yaml defines targets (us, ca) whose var files set variables: "
    "give --target NAME or --all-targets"
)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "mc")
    return tmp_path / "mc"


def test_undefined_variables_without_a_target_name_the_targets(store: Path) -> None:
    result = run_cli("validate", "mc", cwd=store.parent)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and all(" SC201 " in line for line in lines)
    assert all(line.endswith(HINT) for line in lines)
    first = "mc/store.yaml:13:7: SC201 store.id: undefined variable vars.store_id; "
    assert any(line.startswith(first) for line in lines), lines
    assert "Traceback" not in result.stderr


def test_the_hint_is_in_json_output_too(store: Path) -> None:
    result = run_cli("validate", "mc", "--format", "json", cwd=store.parent)
    assert result.returncode == 1
    assert '--target NAME or --all-targets"' in result.stdout


@pytest.mark.parametrize(
    "args", [("--target", "us"), ("--all-targets",), ("--var-file", "mc/vars/ca.yaml")]
)
def test_with_a_target_there_is_nothing_to_hint(store: Path, args: tuple[str, ...]) -> None:
    assert run_cli("validate", "mc", *args, cwd=store.parent).returncode == 0


def test_a_variable_no_target_sets_is_not_blamed_on_the_target(store: Path) -> None:
    """With a target chosen, an undefined variable is the definition's own mistake."""
    plans = store / "catalog" / "microsoft-365.yaml"
    plans.write_text(
        plans.read_text().replace("(vars.cost.business_basic", "(vars.costs.business_basic", 1)
    )
    result = run_cli("validate", "mc", "--target", "us", cwd=store.parent)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if " SC201 " in line]
    assert len(lines) == 1
    assert "vars.costs" in lines[0] and "--all-targets" not in lines[0]


def test_no_hint_without_targets_that_set_variables(tmp_path: Path) -> None:
    assert target_hint(None, tmp_path, []) == ""
    assert target_hint({"us": {"store_url_env": "URL_US"}}, tmp_path, []) == ""
    targets = {"us": {"var_files": ["vars/us.yaml"]}, "ca": {"var_files": ["vars/ca.yaml"]}}
    assert target_hint(targets, tmp_path, [tmp_path / "vars" / "ca.yaml"]) == ""
    assert target_hint(targets, tmp_path, [tmp_path / "other.yaml"]) == HINT


def test_many_targets_are_counted_not_listed(tmp_path: Path) -> None:
    targets = {f"t{i:02}": {"var_files": [f"vars/t{i:02}.yaml"]} for i in range(12)}
    hint = target_hint(targets, tmp_path, [])
    assert "(t00, t01, t02, t03, t04, t05, t06, t07, t08, t09 and 2 more)" in hint
