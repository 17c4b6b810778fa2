"""action.yml run locally, step by step, as a runner would run it.

A pull-request run validates, plans, previews and comments; a run on the main branch
finds the merged pull request's plan (through a fake `gh` that records its arguments)
and applies it with --reviewed. The steps that need options the command line does not
have yet (NOT_YET in test_action.py) are checked as far as they can be; the rest of
their checks switch on by themselves when those options land.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.actions import ActionRun, _github_script, run_action
from support.html import parse
from support.server import storecfg

from .test_action import NOT_YET

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / "action.yml"
HAS_ANNOTATIONS = not any(cmd == "validate" for cmd, _ in NOT_YET)
HAS_REVIEWED = ("apply", "--reviewed") not in NOT_YET

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node for github-script")

FAKE_GH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_GH_LOG"
case "$1 $2" in
  "api repos/"*) echo "$FAKE_GH_PR" ;;
  "run list") echo "$FAKE_GH_RUN" ;;
  "run download")
    while [ $# -gt 0 ]; do [ "$1" = --dir ] && dir="$2"; shift; done
    mkdir -p "$dir" && cp -R "$FAKE_GH_ARTIFACT"/. "$dir"/ ;;
  *) echo "fake gh: unexpected $*" >&2; exit 1 ;;
esac
"""


def _env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_REPOSITORY": "contoso/stores",
        "GITHUB_WORKFLOW_REF": "contoso/stores/.github/workflows/storecfg.yml@refs/heads/main",
        "FAKE_GH_LOG": str(tmp_path / "gh.log"),
        "STORECFG_STORE": f"sqlite:///{tmp_path / 'live.db'}",
    }


def _github(event: str, ref: str, sha: str, pr: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"repository": {"default_branch": "main"}}
    if pr is not None:
        payload["pull_request"] = {"number": pr}
    return {
        "event_name": event,
        "ref": ref,
        "sha": sha,
        "repository": "contoso/stores",
        "workspace": "",
        "token": "ghs_fake",
        "event": payload,
    }


def _run(tmp_path: Path, workspace: Path, github: dict[str, Any], env: dict[str, str], **inputs: str) -> ActionRun:  # fmt: skip
    github["workspace"] = str(workspace)
    for key, value in (("GITHUB_EVENT_NAME", github["event_name"]), ("GITHUB_REF", github["ref"]), ("GITHUB_SHA", github["sha"])):  # fmt: skip
        env[key] = value
    return run_action(
        ACTION,
        workspace=workspace,
        temp=tmp_path / "runner-temp",
        inputs=inputs,
        github=github,
        env=env,
        skip=frozenset({"Install storecfg"}),  # the test's own storecfg is on PATH
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    workspace = tmp_path / "repo"
    made = storecfg("init", str(workspace), "--store-id", "contoso-us")
    assert made.returncode == 0, made.stderr
    return workspace


def test_pull_request_run(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    run = _run(tmp_path, repo, _github("pull_request", "refs/pull/7/merge", "abc", pr=7), env)
    out = tmp_path / "runner-temp" / "storecfg"
    assert run.step("Settings").outputs == {"out": str(out), "mode": "plan"}
    assert "No live store" not in run.step("Settings").stdout

    plan = run.step("Plan")
    assert plan.exit_code == 0, plan.stderr
    assert plan.outputs == {"exitcode": "2", "has-changes": "true"}
    assert json.loads((out / "plan.json").read_text())["store"]["id"] == "contoso-us"
    assert (out / "plan.md").read_text() in run.summary  # the job summary shows the plan

    preview = run.step("Storefront preview")
    assert preview.outputs == {"exitcode": "0"}, preview.stderr
    changes = parse((out / "preview" / "changes.html").read_text())
    assert "New plans (2)" in changes.text()  # compared with the (empty) live store

    uploads = {s.inputs["name"]: s.inputs["path"] for s in run.steps if s.uses.startswith("actions/upload-artifact@")}  # fmt: skip
    assert set(uploads) == {"storecfg-plan", "storecfg-preview"}
    assert f"{out}/plan*.json" in uploads["storecfg-plan"].split("\n")
    assert uploads["storecfg-preview"] == f"{out}/preview"
    for name in ("Find the reviewed plan of the merged pull request", "Apply", "Upload SARIF"):
        assert not run.step(name).ran, name
    assert not (tmp_path / "gh.log").exists()

    validate = run.step("Validate")
    if HAS_ANNOTATIONS:
        assert validate.outputs["exitcode"] == "0" and validate.outputs["sarif"] == "true"
        assert json.loads((out / "storecfg.sarif").read_text())["version"] == "2.1.0"
        assert not run.failed
        assert run.step("Comment the plan on the pull request").exit_code == 0
    else:
        assert "exitcode" in validate.outputs


def test_an_invalid_definition_fails_after_reporting(tmp_path: Path, repo: Path) -> None:
    (repo / "tax.yaml").write_text("tax_rules:\n  - {id: x, region: US, rate: 7}\n")
    env = _env(tmp_path)
    run = _run(tmp_path, repo, _github("pull_request", "refs/pull/7/merge", "abc", pr=7), env)
    assert run.step("Validate").outputs["exitcode"] == "1"
    assert run.step("Plan").outputs["exitcode"] == "1"
    # the plan and the preview are still uploaded, then the job fails, naming why
    assert run.step("Upload the plan").ran and run.step("Upload the storefront preview").ran
    final = run.step("Fail on errors")
    assert final.exit_code == 1
    assert "::error title=storecfg::the store definition is invalid" in final.stdout
    assert run.failed


def test_no_store_configured_is_a_warning(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    del env["STORECFG_STORE"]
    run = _run(tmp_path, repo, _github("pull_request", "refs/pull/7/merge", "abc", pr=7), env)
    assert "::warning title=storecfg::No live store" in run.step("Settings").stdout


def test_store_and_token_inputs_reach_the_environment_masked(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    del env["STORECFG_STORE"]
    run = _run(
        tmp_path,
        repo,
        _github("pull_request", "refs/pull/7/merge", "abc", pr=7),
        env,
        store=f"sqlite:///{tmp_path / 'other.db'}",
        token="s3cr3t-token",
    )
    settings = run.step("Settings")
    assert "::add-mask::s3cr3t-token" in settings.stdout
    assert settings.stdout.count("s3cr3t-token") == 1  # only in the mask command
    assert run.env["STORECFG_TOKEN"] == "s3cr3t-token"
    assert run.env["STORECFG_STORE"].endswith("other.db")
    assert (
        f"compared with sqlite:///{tmp_path / 'other.db'}" in run.step("Storefront preview").stderr
    )


def test_merge_run_applies_the_reviewed_plan(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    # the pull request's run: its plan files become the artifact the merge downloads
    pr_run = _run(tmp_path, repo, _github("pull_request", "refs/pull/7/merge", "abc", pr=7), env)
    assert pr_run.step("Plan").exit_code == 0
    artifact = tmp_path / "artifact"
    shutil.copytree(tmp_path / "runner-temp" / "storecfg", artifact)
    env.update(FAKE_GH_PR="7 headsha7", FAKE_GH_RUN="4242", FAKE_GH_ARTIFACT=str(artifact))

    run = _run(
        tmp_path,
        repo,
        _github("push", "refs/heads/main", "mergesha"),
        env,
        **{"reviewed-plan": "from-pull-request"},
    )
    out = tmp_path / "runner-temp" / "storecfg"
    assert run.step("Settings").outputs["mode"] == "apply"
    for name in ("Plan", "Storefront preview", "Comment the plan on the pull request"):
        assert not run.step(name).ran, name
    found = run.step("Find the reviewed plan of the merged pull request")
    assert found.exit_code == 0, found.stderr
    assert found.outputs == {"path": f"{out}/reviewed"}
    gh_calls = (tmp_path / "gh.log").read_text().splitlines()
    assert gh_calls[0].startswith("api repos/contoso/stores/commits/mergesha/pulls --jq ")
    assert gh_calls[1] == (
        "run list --repo contoso/stores --workflow storecfg.yml --commit headsha7 --event "
        "pull_request --status success --limit 1 --json databaseId --jq .[0].databaseId // empty"
    )
    assert gh_calls[2].split() == [
        "run", "download", "4242", "--repo", "contoso/stores", "--name", "storecfg-plan",
        "--dir", f"{out}/reviewed",
    ]  # fmt: skip
    assert (out / "reviewed" / "plan.json").is_file()
    apply = run.step("Apply")
    assert apply.ran
    if HAS_REVIEWED:
        assert apply.exit_code == 0, apply.stderr
        again = storecfg("plan", ".", "--detailed-exitcode", cwd=repo, env=env)
        assert again.returncode == 0, again.stdout  # the reviewed changes are live
    else:
        assert "--reviewed" in apply.stderr and apply.exit_code != 0


def test_merge_without_a_pull_request_applies_nothing(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    env.update(FAKE_GH_PR="null null")
    run = _run(
        tmp_path, repo, _github("push", "refs/heads/main", "direct"), env,
        **{"reviewed-plan": "from-pull-request"},
    )  # fmt: skip
    found = run.step("Find the reviewed plan of the merged pull request")
    assert found.exit_code == 1
    assert "came from no merged pull request" in found.stdout
    assert not run.step("Apply").ran and run.failed


def test_push_to_another_branch_only_validates(tmp_path: Path, repo: Path) -> None:
    env = _env(tmp_path)
    run = _run(tmp_path, repo, _github("push", "refs/heads/feature", "f00"), env)
    assert run.step("Settings").outputs["mode"] == "plan"
    assert not run.step("Apply").ran
    assert not run.step("Comment the plan on the pull request").ran  # no pull request


# ------------------------------------------------------------------ the comment


def _comment_step() -> dict[str, Any]:
    action = yaml.load(ACTION.read_text(), Loader=yaml.BaseLoader)
    return next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/github-script@"))  # fmt: skip


def _comment(tmp_path: Path, plan_md: str, comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from support.actions import StepResult

    (tmp_path / "plan.md").write_text(plan_md)
    step = StepResult("comment", True, uses="actions/github-script@v7", inputs={"script": _comment_step()["with"]["script"]})  # fmt: skip
    env = {"PLAN_MD": str(tmp_path / "plan.md"), "PREVIEW_ARTIFACT": "storecfg-preview"}
    github = {"repository": "contoso/stores", "event": {"pull_request": {"number": 7}}}
    result = _github_script(step, tmp_path, env, github, comments)
    assert result.exit_code == 0, result.stderr
    calls: list[dict[str, Any]] = json.loads((tmp_path / "calls.json").read_text())
    return [c for c in calls if c["call"] != "paginate"]


MARKER = "<!-- storecfg-plan: contoso-us -->"


def test_comment_is_created_once_then_updated(tmp_path: Path) -> None:
    plan_md = f"{MARKER}\n## storecfg plan\n\n2 to create\n"
    (created,) = _comment(tmp_path, plan_md, [{"id": 1, "body": "LGTM"}])
    assert created["call"] == "createComment"
    assert created["params"]["issue_number"] == 7 and created["params"]["owner"] == "contoso"
    assert created["params"]["body"].startswith(plan_md)
    assert "https://github.test/contoso/stores/actions/runs/42" in created["params"]["body"]
    existing = [
        {"id": 5, "body": "<!-- storecfg-plan: contoso-ca -->\nthe other store"},
        {"id": 6, "body": created["params"]["body"]},
    ]
    (updated,) = _comment(tmp_path, plan_md.replace("2 to create", "1 to update"), existing)
    assert updated["call"] == "updateComment" and updated["params"]["comment_id"] == 6
    assert "1 to update" in updated["params"]["body"]


def test_comment_of_several_targets_is_its_own(tmp_path: Path) -> None:
    both = "<!-- storecfg-plan: contoso-us -->\n<!-- storecfg-plan: contoso-ca -->\n## 2 targets\n"
    existing = [{"id": 5, "body": f"{MARKER}\none store only"}]
    (call,) = _comment(tmp_path, both, existing)
    assert call["call"] == "createComment"
    (call,) = _comment(tmp_path, both.replace("2 targets", "again"), [*existing, {"id": 9, "body": both}])  # fmt: skip
    assert call["call"] == "updateComment" and call["params"]["comment_id"] == 9


def test_marker_inside_a_value_is_not_a_marker(tmp_path: Path) -> None:
    """A plan name holding a marker (shown verbatim in the diff) changes nothing: the plan
    still updates its own comment, and never another store's."""
    spoof = '```diff\n~ name: "Basic <!-- storecfg-plan: contoso-ca -->"\n```\n'
    existing = [
        {"id": 5, "body": "<!-- storecfg-plan: contoso-ca -->\nthe other store"},
        {"id": 6, "body": f"{MARKER}\n## storecfg plan\n\nthe previous plan of this store"},
    ]
    (call,) = _comment(tmp_path, f"{MARKER}\n## storecfg plan\n\n{spoof}", existing)
    assert call["call"] == "updateComment" and call["params"]["comment_id"] == 6
    lone = f"## storecfg plan\n\n{spoof}"  # no marker line of its own: not one of ours
    (call,) = _comment(tmp_path, lone, existing)
    assert call["call"] == "warning"


def test_comment_fits_github_limit(tmp_path: Path) -> None:
    (call,) = _comment(tmp_path, MARKER + "\n" + "x" * 70000, [])
    body = call["params"]["body"]
    assert len(body) <= 65536 and MARKER in body and "cut to fit a comment" in body


def test_no_marker_no_comment(tmp_path: Path) -> None:
    (call,) = _comment(tmp_path, "## a plan without a marker\n", [])
    assert call["call"] == "warning"


# ------------------------------------------------------------------ targets


def test_targets_from_pull_request_to_merge(tmp_path: Path) -> None:
    """One directory, two stores: one comment, a plan file and a preview per target, and
    on merge each target applied with its own reviewed plan file."""
    workspace = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "stores" / "multi-country", workspace)
    env = _env(tmp_path)
    del env["STORECFG_STORE"]
    env.update(
        STORECFG_STORE_US=f"sqlite:///{tmp_path / 'us.db'}",
        STORECFG_STORE_CA=f"sqlite:///{tmp_path / 'ca.db'}",
    )
    pr = _run(
        tmp_path, workspace, _github("pull_request", "refs/pull/8/merge", "abc", pr=8), env,
        targets="all",
    )  # fmt: skip
    out = tmp_path / "runner-temp" / "storecfg"
    assert pr.step("Validate").outputs["exitcode"] == "0", pr.step("Validate").stderr
    assert pr.step("Plan").outputs == {"exitcode": "2", "has-changes": "true"}
    assert sorted(p.name for p in out.glob("plan*")) == ["plan.ca.json", "plan.md", "plan.us.json"]
    assert (out / "preview" / "us" / "index.html").is_file()
    assert (out / "preview" / "ca" / "changes.html").is_file()
    (comment,) = [c for c in pr.api_calls if c["call"] == "createComment"]
    body = comment["params"]["body"]
    assert "<!-- storecfg-plan: northwind-us -->" in body
    assert "<!-- storecfg-plan: northwind-ca -->" in body
    assert not pr.failed, [(s.name, s.stderr[-500:]) for s in pr.steps if s.exit_code]

    artifact = tmp_path / "artifact"
    shutil.copytree(out, artifact)
    env.update(FAKE_GH_PR="8 head8", FAKE_GH_RUN="77", FAKE_GH_ARTIFACT=str(artifact))
    merge = _run(
        tmp_path, workspace, _github("push", "refs/heads/main", "merge8"), env,
        targets="all", **{"reviewed-plan": "from-pull-request"},
    )  # fmt: skip
    apply = merge.step("Apply")
    assert apply.exit_code == 0, apply.stderr
    assert "::group::storecfg apply --target ca" in apply.stdout
    assert "::group::storecfg apply --target us" in apply.stdout
    for target in ("us", "ca"):
        again = storecfg(
            "plan", ".", "--target", target, "--detailed-exitcode", cwd=workspace, env=env
        )
        assert again.returncode == 0, again.stdout + again.stderr
