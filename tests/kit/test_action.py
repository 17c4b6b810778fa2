"""The repository's kit files: the composite GitHub Action, the pre-commit hooks and the
shell completion. Each `storecfg ...` command they run is checked against the real
command line, so a renamed option cannot leave them behind."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from storecfg.cli import cli
from support.server import storecfg

REPO = Path(__file__).resolve().parents[2]

#: Options SPEC.md gives these commands that the command line does not have yet. The
#: action uses them as SPEC.md names them; each entry must still be missing (the test
#: below fails once one exists, so the entry goes with the change that adds the option).
NOT_YET: dict[tuple[str, str], str] = {}

OPERATORS = {"||", "&&", ";", "|", ">", ">>", "2>", "2>&1", ")"}


def load_action() -> dict[str, Any]:
    # BaseLoader: every scalar a string, as GitHub reads the file (no YAML 1.1 booleans)
    data: dict[str, Any] = yaml.load((REPO / "action.yml").read_text(), Loader=yaml.BaseLoader)
    return data


def run_scripts() -> list[tuple[str, str]]:
    return [(s.get("name", "?"), s["run"]) for s in load_action()["runs"]["steps"] if "run" in s]


def _arrays(script: str) -> dict[str, list[str]]:
    """Shell arrays built in a script (`NAME=(...)`, `NAME+=(...)`): name -> all tokens."""
    arrays: dict[str, list[str]] = {}
    for name, body in re.findall(r"\b(\w+)\+?=\(([^)]*)\)", script):
        arrays.setdefault(name, []).extend(shlex.split(body))
    return arrays


def storecfg_commands(script: str) -> list[list[str]]:
    """Every `storecfg ...` command of a script, arrays expanded to what they may hold."""
    arrays = _arrays(script)
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for i, token in enumerate(tokens):
            if token != "storecfg" or (
                i and tokens[i - 1] not in {*OPERATORS, "then", "do", "else"}
            ):
                continue
            command: list[str] = []
            for word in tokens[i + 1 :]:
                if word in OPERATORS:
                    break
                array = re.fullmatch(r"\$\{(\w+)\[@\]\}", word)
                command.extend(arrays.get(array.group(1), []) if array else [word])
            commands.append(command)
    return commands


def resolve(words: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The click command the words name, its name path, and the rest of the words."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"storecfg {' '.join(path + rest[:1])}: no such command"
        command, path = sub, [*path, rest.pop(0)]
    return command, path, rest


def options_of(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def unknown_options(words: list[str]) -> list[str]:
    """Options (and choice values) in `storecfg WORDS` that the CLI does not have."""
    command, path, rest = resolve(words)
    known = options_of(command)
    if command is not cli:
        known.update({k: v for k, v in options_of(cli).items() if k in ("--store", "--no-color")})
    problems = []
    for i, word in enumerate(rest):
        if not word.startswith("-") or word == "-":
            continue
        option = known.get(word)
        if option is None:
            problems.append(f"{' '.join(path)} {word}")
            continue
        if isinstance(option.type, click.Choice) and i + 1 < len(rest):
            value = rest[i + 1]
            if not value.startswith("$") and value not in option.type.choices:
                problems.append(f"{' '.join(path)} {word} {value}")
    return problems


def test_the_action_is_a_composite_action_with_documented_inputs() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"path", "targets", "store", "token", "reviewed-plan", "github-token"} <= set(inputs)
    for name, spec in inputs.items():
        assert spec.get("description"), name
    text = (REPO / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z0-9-]+)", text))
    assert used <= set(inputs), used - set(inputs)
    assert set(inputs) <= used, set(inputs) - used  # every input does something
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w/-]+@v\d+", step["uses"]), step["uses"]
        else:
            assert step["shell"] == "bash", step.get("name")
    # inputs reach scripts through the environment only: an expression inside a script
    # would let a branch name or a file name inject shell code
    for name, script in run_scripts():
        assert "${{" not in script, name


def _has(command: list[str], *words: str) -> bool:
    """Whether words occur in the command, in this order and next to each other."""
    n = len(words)
    return any(tuple(command[i : i + n]) == words for i in range(len(command) - n + 1))


def test_the_action_does_what_a_review_flow_needs() -> None:
    commands = [c for _, script in run_scripts() for c in storecfg_commands(script)]

    def some(*checks: tuple[str, ...]) -> bool:
        return any(all(_has(c, *check) for check in checks) for c in commands)

    # annotations and SARIF, for the directory or its targets
    for target in (("--target", "$t"), ("--all-targets",)):
        assert some(("validate", "$DIR"), target, ("--format", "github"))
        assert some(("validate", "$DIR"), target, ("--format", "sarif"), ("-o",))
        assert some(("plan", "$DIR"), target, ("--format", "markdown"), ("--detailed-exitcode",))
    assert some(("plan",), ("-o",))  # the plan files, uploaded for the merge
    assert some(("preview", "$DIR"), ("--target", "$t"), ("-o",), ("--compare-live",))
    assert some(("preview", "$DIR"), ("--all-targets",), ("-o",))
    # on the main branch: the reviewed plan, per target
    assert some(("apply", "$DIR", "--reviewed"), ("--auto-approve",))
    assert some(("apply", "$DIR", "--target", "$t", "--reviewed"), ("--auto-approve",))
    text = (REPO / "action.yml").read_text()
    assert "<!-- storecfg-plan: " in text  # finds its own comment by the plan's marker
    assert "actions/upload-artifact@v4" in text and "actions/github-script@v7" in text


def test_every_storecfg_command_of_the_action_exists() -> None:
    commands = [(name, c) for name, script in run_scripts() for c in storecfg_commands(script)]
    assert len(commands) >= 8
    problems = [p for _, words in commands for p in unknown_options(words)]
    missing = sorted(set(problems) - {" ".join(k) for k in NOT_YET})
    assert not missing, f"action.yml uses options the CLI does not have: {missing}"


def test_options_not_yet_in_the_cli_are_still_missing() -> None:
    for (command, option), where in NOT_YET.items():
        found, _, _ = resolve(command.split())
        assert option not in options_of(found), (
            f"storecfg {command} {option} exists now ({where}): remove it from NOT_YET"
        )


def test_the_checker_catches_a_wrong_option() -> None:
    script = 'args+=(--targett x)\nstorecfg plan "$DIR" "${args[@]}" --format html || rc=$?\n'
    (words,) = storecfg_commands(script)
    assert unknown_options(words) == ["plan --targett", "plan --format html"]
    assert unknown_options(["validate", "x", "--json"]) == []
    assert storecfg_commands('echo "storecfg apply --nope"') == []


def test_the_pre_commit_hook() -> None:
    hooks = yaml.load((REPO / ".pre-commit-hooks.yaml").read_text(), Loader=yaml.BaseLoader)
    (hook,) = [h for h in hooks if h["id"] == "storecfg-validate"]
    assert hook["language"] == "python"
    assert hook["pass_filenames"] == "false"  # validate takes directories, not files
    entry = shlex.split(hook["entry"])
    assert entry[0] == "storecfg"
    assert unknown_options([*entry[1:], *hook.get("args", [])]) == []
    assert re.search(hook["files"], "stores/us/catalog/plans.yaml")
    assert re.search(hook["files"], "store.yml") and not re.search(hook["files"], "README.md")


def test_the_hook_entry_runs(tmp_path: Path) -> None:
    """What pre-commit runs in a store repository: the entry and args, at its root."""
    hooks = yaml.load((REPO / ".pre-commit-hooks.yaml").read_text(), Loader=yaml.BaseLoader)
    hook = hooks[0]
    assert storecfg("init", "repo", cwd=tmp_path).returncode == 0
    args = [*shlex.split(hook["entry"])[1:], *hook["args"]]
    assert storecfg(*args, cwd=tmp_path / "repo").returncode == 0
    (tmp_path / "repo" / "tax.yaml").write_text("tax_rules:\n  - {id: x, region: US, rate: 7}\n")
    failed = storecfg(*args, cwd=tmp_path / "repo")
    assert failed.returncode == 1 and "tax.yaml:2:" in failed.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion(shell: str) -> None:
    script = storecfg(env={"_STORECFG_COMPLETE": f"{shell}_source"})
    assert script.returncode == 0
    assert f"_STORECFG_COMPLETE={shell}_complete" in script.stdout
    assert f"_STORECFG_COMPLETE={shell}_source storecfg" in (REPO / "docs" / "cli.md").read_text()


def test_completion_offers_commands_and_options() -> None:
    words = storecfg(
        env={"_STORECFG_COMPLETE": "bash_complete", "COMP_WORDS": "storecfg pre", "COMP_CWORD": "1"}
    )
    assert words.stdout.split() == ["plain,preview"]
    options = storecfg(
        env={
            "_STORECFG_COMPLETE": "bash_complete",
            "COMP_WORDS": "storecfg preview x --comp",
            "COMP_CWORD": "3",
        }
    )
    assert options.stdout.split() == ["plain,--compare-live"]
