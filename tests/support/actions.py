"""Run a composite GitHub Action's steps locally, the way a runner would, for tests.

`run_action` walks `runs.steps` in order: it evaluates `if:` conditions and `${{ }}`
expressions (the small part of the expression language action.yml uses), runs `run:`
steps with `bash --noprofile --norc -eo pipefail` and GitHub's environment files
(GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY), and records `uses:` steps without
running them, except actions/github-script, whose script runs in Node against a fake
GitHub API that records the calls.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class StepResult:
    name: str
    ran: bool
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    uses: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepResult]
    failed: bool
    env: dict[str, str]
    summary: str
    api_calls: list[dict[str, Any]]

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


class _Context:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def lookup(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return ""
        return node

    def evaluate(self, expr: str, status_ok: bool) -> Any:
        """The subset of GitHub's expression language that action.yml uses."""
        python = expr
        python = re.sub(r"\balways\(\)", "True", python)
        python = re.sub(r"\bsuccess\(\)", repr(status_ok), python)
        python = re.sub(r"\bfailure\(\)", repr(not status_ok), python)
        python = python.replace("&&", " and ").replace("||", " or ")
        python = re.sub(r"!(?!=)", " not ", python)
        names: dict[str, Any] = {}

        def name(match: re.Match[str]) -> str:
            key = f"_v{len(names)}"
            names[key] = self.lookup(match.group(0))
            return key

        python = re.sub(r"(?<!['\w])(inputs|github|steps|env|runner)(\.[\w-]+)+", name, python)
        return eval(python, {"__builtins__": {}, "True": True, "False": False}, names)

    def substitute(self, text: str, status_ok: bool = True) -> str:
        def one(match: re.Match[str]) -> str:
            value = self.evaluate(match.group(1), status_ok)
            if isinstance(value, bool):
                return "true" if value else "false"
            return "" if value is None else str(value)

        return _EXPR.sub(one, text)


def _read_kv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                key, _, value = line.partition("=")
                out[key] = value
    return out


_GITHUB_SCRIPT_HARNESS = """
const fs = require('fs');
const calls = [];
const comments = JSON.parse(process.env.FAKE_COMMENTS || '[]');
const record = (name) => async (params) => {
  calls.push({call: name, params});
  return {data: {id: 999, html_url: 'https://github.test/c/999'}};
};
const github = {
  rest: {issues: {
    listComments: record('listComments'),
    updateComment: record('updateComment'),
    createComment: record('createComment'),
  }},
  paginate: async (fn, params) => { calls.push({call: 'paginate', params}); return comments; },
};
const context = JSON.parse(process.env.FAKE_CONTEXT);
const core = {
  info: (m) => console.log('info: ' + m),
  warning: (m) => { calls.push({call: 'warning', message: m}); },
};
(async () => {
  const script = fs.readFileSync(process.env.SCRIPT_FILE, 'utf8');
  const fn = new (Object.getPrototypeOf(async function () {}).constructor)(
    'github', 'context', 'core', 'require', script);
  await fn(github, context, core, require);
  fs.writeFileSync(process.env.CALLS_FILE, JSON.stringify(calls));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def run_action(
    action_file: Path,
    *,
    workspace: Path,
    temp: Path,
    inputs: dict[str, str],
    github: dict[str, Any],
    env: dict[str, str],
    skip: frozenset[str] = frozenset(),
    comments: list[dict[str, Any]] | None = None,
) -> ActionRun:
    """Run the action's steps; `skip` names steps not to run (for example the install)."""
    action = yaml.load(action_file.read_text(), Loader=yaml.BaseLoader)
    defaults = {k: v.get("default", "") for k, v in action.get("inputs", {}).items()}
    temp.mkdir(parents=True, exist_ok=True)
    ctx = _Context({"inputs": {}, "github": github, "steps": {}, "env": {}})
    # input defaults may be expressions themselves (github.token)
    ctx.data["inputs"] = {
        k: ctx.substitute(inputs.get(k, v)) if isinstance(v, str) else v
        for k, v in defaults.items()
    }
    for key in inputs:
        assert key in defaults, f"unknown input {key}"
    job_env = dict(env)
    summary_file = temp / "step_summary.md"
    results: list[StepResult] = []
    api_calls: list[dict[str, Any]] = []
    failed = False
    for index, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {index}")
        condition = step.get("if", "success()")
        condition = _EXPR.sub(lambda m: m.group(1), condition)
        if not re.search(r"\b(always|success|failure|cancelled)\(\)", condition):
            condition = f"success() && ({condition})"
        if name in skip or not ctx.evaluate(condition, not failed):
            results.append(StepResult(name, ran=False))
            continue
        step_env = {k: ctx.substitute(v, not failed) for k, v in step.get("env", {}).items()}
        if "uses" in step:
            with_ = {k: ctx.substitute(v, not failed) for k, v in step.get("with", {}).items()}
            result = StepResult(name, ran=True, uses=step["uses"], inputs=with_)
            if step["uses"].startswith("actions/github-script@"):
                result = _github_script(result, temp, {**job_env, **step_env}, github, comments)
                calls_file = temp / "calls.json"
                if calls_file.exists():
                    api_calls.extend(json.loads(calls_file.read_text()))
                    calls_file.unlink()
            results.append(result)
            failed = failed or result.exit_code != 0
            continue
        output_file, env_file = temp / f"output-{index}", temp / f"env-{index}"
        script = temp / f"step-{index}.sh"
        script.write_text(ctx.substitute(step["run"], not failed))
        cwd = ctx.substitute(step.get("working-directory", str(workspace)))
        full_env = {
            **job_env,
            **step_env,
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(env_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_ACTION_PATH": str(action_file.parent),
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        outputs = _read_kv(output_file)
        job_env.update(_read_kv(env_file))
        if step.get("id"):
            ctx.data["steps"][step["id"]] = {
                "outputs": outputs,
                "outcome": "success" if done.returncode == 0 else "failure",
            }
        results.append(
            StepResult(name, True, done.returncode, done.stdout, done.stderr, outputs=outputs)
        )
        failed = failed or done.returncode != 0
    summary = summary_file.read_text() if summary_file.exists() else ""
    return ActionRun(results, failed, job_env, summary, api_calls)


def _github_script(
    result: StepResult,
    temp: Path,
    env: dict[str, str],
    github: dict[str, Any],
    comments: list[dict[str, Any]] | None,
) -> StepResult:
    node = shutil.which("node")
    assert node, "node is needed to run actions/github-script steps"
    script_file, harness = temp / "github-script.js", temp / "harness.js"
    script_file.write_text(result.inputs["script"])
    harness.write_text(_GITHUB_SCRIPT_HARNESS)
    owner, repo = str(github.get("repository", "o/r")).split("/")
    context = {
        "repo": {"owner": owner, "repo": repo},
        "runId": 42,
        "serverUrl": "https://github.test",
        "payload": github.get("event", {}),
    }
    done = subprocess.run(
        [node, str(harness)],
        env={
            **os.environ,
            **env,
            "SCRIPT_FILE": str(script_file),
            "CALLS_FILE": str(temp / "calls.json"),
            "FAKE_CONTEXT": json.dumps(context),
            "FAKE_COMMENTS": json.dumps(comments or []),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    result.exit_code, result.stdout, result.stderr = done.returncode, done.stdout, done.stderr
    return result
