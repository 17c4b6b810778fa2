"""The commands' work, called directly: which stores a run uses, what `apply TARGET`
applies, --db."""

from __future__ import annotations

from pathlib import Path

import pytest

from apply.stores import BASE, write_store
from storecfg.errors import UsageError
from storecfg.workflows.apply import check_plan_file_alone, check_reviewed_target, is_plan_file
from storecfg.workflows.database import db_target, existing_db
from storecfg.workflows.targets import Targets, Variables, runs, target_path
from storecfg.workflows.validate import validate_directories


def test_a_target_plan_file_gets_the_target_name_before_its_extension() -> None:
    assert target_path(Path("out/plan.json"), "us") == Path("out/plan.us.json")
    assert target_path(Path("plan"), "ca") == Path("plan.ca")


def test_several_targets() -> None:
    assert not Targets().given() and not Targets().several()
    assert Targets(("us",)).given() and not Targets(("us", "us")).several()
    assert Targets(("us", "ca")).several() and Targets(all=True).several()
    assert not Variables().given() and Variables(overrides=("a=1",)).given()


def test_without_targets_one_run_with_the_given_var_files(tmp_path: Path) -> None:
    write_store(tmp_path / "s", BASE)
    [run] = runs(tmp_path / "s", Targets(), (Path("v.yaml"),))
    assert run.name is None and run.target is None and run.var_files == (Path("v.yaml"),)


def test_plan_file_or_directory(tmp_path: Path) -> None:
    write_store(tmp_path / "s", BASE)
    planfile = tmp_path / "plan.json"
    planfile.write_text("{}")
    assert is_plan_file(planfile, targets_given=False)
    assert not is_plan_file(tmp_path / "s", targets_given=True)
    assert not is_plan_file(tmp_path / "s" / "store.yaml", targets_given=False)
    with pytest.raises(UsageError, match="no such store directory or plan file"):
        is_plan_file(tmp_path / "missing", targets_given=False)
    with pytest.raises(UsageError, match="a plan file already names its store"):
        is_plan_file(planfile, targets_given=True)
    with pytest.raises(UsageError, match="give the directory, not"):
        check_reviewed_target(planfile, planfile=True)
    with pytest.raises(UsageError, match="applied exactly as it was made"):
        check_plan_file_alone(variables_given=True)
    check_plan_file_alone(variables_given=False)


def test_db_names_a_file_in_a_directory_that_exists(tmp_path: Path) -> None:
    assert db_target(f"sqlite:///{tmp_path / 'a.db'}") == str(tmp_path / "a.db")
    assert db_target("postgresql://u@h:5432/d") == "postgresql://u@h:5432/d"
    with pytest.raises(UsageError, match="does not exist"):
        db_target(str(tmp_path / "nope" / "a.db"))
    with pytest.raises(UsageError, match="is a directory"):
        db_target(str(tmp_path))
    with pytest.raises(UsageError, match="give a SQLite file path"):
        db_target("mysql://h/d")
    with pytest.raises(UsageError, match="no such database file"):
        existing_db(str(tmp_path / "a.db"))


def test_validate_reports_each_problem_once_and_a_missing_directory_first(
    tmp_path: Path,
) -> None:
    write_store(tmp_path / "s", BASE)
    checks = list(
        validate_directories([tmp_path / "missing", tmp_path / "s"], Targets(), Variables())
    )
    assert [c.error is not None for c in checks] == [True, False]
    assert checks[0].failed(strict=False) and not checks[1].failed(strict=False)
    assert checks[1].label == str(tmp_path / "s") and checks[1].result is not None
