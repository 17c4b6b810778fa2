"""`storecfg init`: a starter store that validates, plans and applies as it is, with
editor modelines, a .gitignore and a workflow, and that never overwrites a file
without --force."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from storecfg.kit.init import ACTION, default_store_id
from support.server import storecfg

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


@pytest.fixture
def env() -> dict[str, str]:
    return {"STORECFG_STORE": "", "STORECFG_TOKEN": ""}


def test_starter_validates_plans_applies_and_previews(tmp_path: Path, env: dict[str, str]) -> None:
    made = storecfg("init", "shop", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert "Created a starter store in shop" in made.stderr
    shop = tmp_path / "shop"

    validated = storecfg("validate", "shop", cwd=tmp_path, env=env)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout == ""  # not even a warning
    planned = storecfg("plan", "shop", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert planned.returncode == 2, planned.stderr  # everything to create
    assert "service_plans.m365-business-basic-annual" in planned.stdout
    applied = storecfg("apply", "shop", "--auto-approve", cwd=tmp_path, env=env)
    assert applied.returncode == 0, applied.stderr
    again = storecfg("plan", "shop", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    previewed = storecfg("preview", "shop", "-o", "preview", cwd=tmp_path, env=env)
    assert previewed.returncode == 0, previewed.stderr
    assert (tmp_path / "preview" / "scenario-default-order.html").is_file()

    store = yaml.safe_load((shop / "store.yaml").read_text())
    assert store["store"]["id"] == "shop"
    assert (shop / ".gitignore").read_text().splitlines()[-1] == ".storecfg/"


def test_every_yaml_file_names_a_schema_that_is_there(tmp_path: Path, env: dict[str, str]) -> None:
    assert storecfg("init", "shop", cwd=tmp_path, env=env).returncode == 0
    shop = tmp_path / "shop"
    definitions = [p for p in shop.rglob("*.yaml") if ".github" not in p.parts]
    assert len(definitions) >= 9
    for path in definitions:
        first = path.read_text().splitlines()[0]
        match = MODELINE.match(first)
        assert match, f"{path}: {first}"
        schema = (path.parent / match.group(1)).resolve()
        assert schema.is_file(), f"{path}: {schema}"
        expected = "store.schema.json" if path.name == "store.yaml" else "definition.schema.json"
        assert schema.name == expected
        json.loads(schema.read_text())


def test_workflow_uses_the_action_on_pull_requests_and_pushes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert storecfg("init", "shop", cwd=tmp_path, env=env).returncode == 0
    workflow = yaml.load(
        (tmp_path / "shop" / ".github" / "workflows" / "storecfg.yml").read_text(),
        Loader=yaml.BaseLoader,  # YAML 1.1 would read the key `on` as True
    )
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert set(jobs) == {"plan", "apply"}
    for job in jobs.values():
        steps = job["steps"]
        assert steps[0]["uses"].startswith("actions/checkout@")
        assert steps[1]["uses"] == ACTION
        assert steps[1]["with"]["path"] == "."
        assert set(job["env"]) == {"STORECFG_STORE", "STORECFG_TOKEN"}
    assert jobs["plan"]["permissions"]["pull-requests"] == "write"
    assert jobs["apply"]["steps"][1]["with"]["reviewed-plan"] == "from-pull-request"
    assert jobs["apply"]["permissions"]["actions"] == "read"
    assert jobs["apply"]["concurrency"]["cancel-in-progress"] == "false"


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    shop = tmp_path / "shop"
    (shop / "catalog").mkdir(parents=True)
    (shop / "catalog" / "plans.yaml").write_text("# mine\n")
    (shop / ".gitignore").write_text("node_modules/\n")
    result = storecfg("init", "shop", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "catalog/plans.yaml" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr
    assert (shop / "catalog" / "plans.yaml").read_text() == "# mine\n"
    assert sorted(p.relative_to(shop).as_posix() for p in shop.rglob("*")) == [
        ".gitignore",
        "catalog",
        "catalog/plans.yaml",
    ]
    forced = storecfg("init", "shop", "--force", cwd=tmp_path, env=env)
    assert forced.returncode == 0, forced.stderr
    assert "service_plans:" in (shop / "catalog" / "plans.yaml").read_text()
    # .gitignore is added to, never replaced, and only once
    assert (shop / ".gitignore").read_text().splitlines() == [
        "node_modules/",
        "# storecfg's local state: the embedded store, snapshots, journals, the compile cache",
        ".storecfg/",
    ]
    assert storecfg("init", "shop", "--force", cwd=tmp_path, env=env).returncode == 0
    assert (shop / ".gitignore").read_text().count(".storecfg/") == 1


def test_store_id_and_name_options(tmp_path: Path, env: dict[str, str]) -> None:
    result = storecfg(
        "init", "x", "--store-id", "contoso-us", "--name", 'Contoso: "Cloud" #1', cwd=tmp_path, env=env
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    compiled = storecfg("compile", "x", cwd=tmp_path, env=env)
    assert compiled.returncode == 0, compiled.stderr
    doc = json.loads(compiled.stdout)
    assert doc["store"]["id"] == "contoso-us"
    assert doc["store"]["name"] == 'Contoso: "Cloud" #1'
    assert (
        doc["resources"]["terms"]["terms-of-sale"]["title"] == 'Contoso: "Cloud" #1 terms of sale'
    )
    bad = storecfg("init", "y", "--store-id", "Contoso US", cwd=tmp_path, env=env)
    assert bad.returncode == 1 and "invalid store ID 'Contoso US'" in bad.stderr
    assert not (tmp_path / "y").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contoso-us", "contoso-us"),
        ("Contoso US", "contoso-us"),
        ("__", "my-store"),
        ("ÄÖ", "my-store"),
    ],
)
def test_default_store_id(tmp_path: Path, name: str, expected: str) -> None:
    assert default_store_id(tmp_path / name) == expected


def test_inside_a_repository_the_workflow_names_the_store_directory(
    tmp_path: Path, env: dict[str, str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = storecfg("init", "stores/us", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "move stores/us/.github/workflows/storecfg.yml to" in result.stderr
    workflow = yaml.safe_load((tmp_path / "stores/us/.github/workflows/storecfg.yml").read_text())
    assert workflow["jobs"]["plan"]["steps"][1]["with"]["path"] == "stores/us"
