"""The command line as a whole: help, version, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from apply.stores import BASE, edit, write_store
from storecfg import __version__
from storecfg.cli import cli
from support.server import running_server, storecfg


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


COMMANDS = list(_commands(cli))


def test_every_command_is_listed() -> None:
    assert set(COMMANDS) == {
        ("validate",), ("compile",), ("plan",), ("apply",), ("adopt",), ("export",),
        ("backup",), ("backup", "list"), ("backup", "show"), ("backup", "diff"),
        ("backup", "restore"), ("drift",), ("lock",), ("lock", "show"), ("lock", "release"),
        ("serve",), ("token",), ("token", "create"), ("token", "list"), ("token", "revoke"),
        ("preview",), ("init",), ("schema",), ("migrate",),
    }  # fmt: skip


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "storecfg")
def test_help(command: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        result = CliRunner().invoke(cli, [*command, flag], prog_name="storecfg")
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Usage: {' '.join(('storecfg', *command))} ")
        assert "Options:" in result.output and "Traceback" not in result.output


def test_help_and_version_of_the_installed_command() -> None:
    result = storecfg("--help")
    assert result.returncode == 0
    assert "Keep a reseller's online store in git" in result.stdout
    for name in ("validate", "plan", "apply", "export", "backup", "lock", "serve", "token"):
        assert f"\n  {name} " in result.stdout
    result = storecfg("--version")
    assert (result.returncode, result.stdout) == (0, f"storecfg, version {__version__}\n")
    console_script = Path(sys.executable).with_name("storecfg")
    if console_script.exists():
        done = subprocess.run([console_script, "--version"], capture_output=True, text=True)
        assert done.stdout == f"storecfg, version {__version__}\n"


# ------------------------------------------------------------------ exit codes


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STORECFG_STORE", raising=False)
    monkeypatch.delenv("STORECFG_TOKEN", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    write_store(tmp_path / "s", BASE)
    return tmp_path


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, list(args), input=input, catch_exceptions=False, prog_name="storecfg"
    )
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_exit_codes_through_a_store_lifecycle(work: Path) -> None:
    assert run("validate", "s")[0] == 0
    assert run("compile", "s")[0] == 0
    assert run("plan", "s")[0] == 0  # changes, but no --detailed-exitcode
    assert run("plan", "s", "--detailed-exitcode")[0] == 2
    assert run("apply", "s")[0] == 1  # no terminal, no --auto-approve
    assert run("apply", "s", "--auto-approve")[0] == 0
    assert run("apply", "s", "--auto-approve")[0] == 0  # nothing to do
    assert run("plan", "s", "--detailed-exitcode")[0] == 0
    edit(work / "s", "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    assert run("plan", "s", "--detailed-exitcode", "-o", "p.json")[0] == 2
    assert run("apply", "p.json")[0] == 0
    assert run("apply", "p.json")[0] == 1  # applied already
    assert run("export", "-o", "out")[0] == 0
    assert run("export", "-o", "out")[0] == 1  # store.yaml exists; --force overwrites
    assert run("export", "-o", "out", "--force")[0] == 0
    code, out, _ = run("backup", "list", "--json")
    backups = [b["id"] for b in json.loads(out)]
    assert code == 0 and len(backups) == 2
    assert run("backup", "show", backups[0])[0] == 0
    assert run("backup", "diff", backups[0], backups[1])[0] == 0
    assert run("backup", "restore", backups[1])[0] == 1  # no terminal, no --auto-approve
    assert run("backup", "restore", backups[1], "--auto-approve")[0] == 0
    assert run("lock", "show")[0] == 0
    assert run("lock", "release", "nope")[0] == 1
    assert run("token", "create", "--db", "server.db", "--store", "shop")[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--bogus", "s"),
        ("plan", "s", "--format", "yaml"),
        ("plan", "s", "--max-deletes", "-1"),
        ("apply",),
        ("apply", "s", "--parallelism", "0"),
        ("frobnicate",),
        ("backup",),
        ("backup", "show"),
    ],
)
def test_usage_errors_exit_1_not_2(work: Path, args: tuple[str, ...]) -> None:
    # 2 means "changes" for plan --detailed-exitcode; a typo must not look like that
    code, _, err = run(*args)
    assert code == 1, err
    assert "Usage: storecfg" in err or "Error:" in err


def _corrupt_db(path: Path) -> str:
    path.write_bytes(b"this is not a database" * 100)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("validate", "missing"), "missing"),
        (("plan", "missing"), "missing"),
        (("plan", "s", "--store", "ftp://example.com"), "unsupported store URL"),
        (("plan", "s", "--store", "http://127.0.0.1:9"), "127.0.0.1:9"),
        (("plan", "s", "--store", "CORRUPT"), "bad.db: file is not a database"),
        (("plan", "s", "--var", "no-equals-sign"), "--var needs KEY=VALUE"),
        (
            ("apply", "s", "--auto-approve", "--lock-timeout", "soon"),
            "--lock-timeout takes a duration",
        ),
        (("apply", "missing.json"), "missing.json: no such store directory or plan file"),
        (("apply", "missing", "--auto-approve"), "missing: no such store directory or plan file"),
        (("apply", "garbage.json"), "is not a storecfg plan file"),
        (("backup", "show", "20990101T000000Z-r1"), "no backup"),
        (("backup", "restore", "20990101T000000Z-r1", "--auto-approve"), "no backup"),
        (("backup", "diff", "20990101T000000Z-r1"), "no backup"),
        (("lock", "release", "some-id", "--store-id", "shop"), "there is no store 'shop'"),
        (("lock", "show"), "holds no store yet; give --store-id"),
        (("token", "create", "--db", "t.db", "--store", "Bad Store"), "invalid store ID"),
        (("export", "--store-id", "shop", "-o", "s"), "there is no store 'shop'"),
    ],
)
def test_errors_are_one_message_never_a_traceback(
    work: Path, args: tuple[str, ...], message: str
) -> None:
    (work / "garbage.json").write_text("{not json")
    args = tuple(_corrupt_db(work / "bad.db") if a == "CORRUPT" else a for a in args)
    code, out, err = run(*args)
    assert code == 1, (out, err)
    assert err.startswith("Error: ") or "\nError: " in err, err
    assert message in err


def test_definition_errors_exit_1_with_positions(work: Path) -> None:
    edit(
        work / "s",
        "catalog.yaml",
        'sku: sku-pro\n    subscription_period: {length: 1, unit: year}\n    billing_period: {length: 1, unit: month}\n    price: {setup: "0.00", recurring: "40.00"}',
        'sku: sku-nope\n    subscription_period: {length: 1, unit: year}\n    billing_period: {length: 1, unit: month}\n    price: {setup: "0.00", recurring: "40.00"}',
    )
    for command in ("validate", "compile", "plan"):
        code, out, err = run(command, "s")
        assert code == 1
        assert "s/catalog.yaml:" in out + err and "service_plans.pro" in out + err
    code, _, err = run("apply", "s", "--auto-approve")
    assert code == 1 and "Error: the store definition has 1 error" in err


def test_errors_from_the_real_command_have_no_traceback(tmp_path: Path) -> None:
    write_store(tmp_path / "s", BASE)
    (tmp_path / "bad.db").write_bytes(b"x" * 4096)
    cases = [
        ("plan", "s", "--store", "http://127.0.0.1:9"),
        ("plan", "s", "--store", f"sqlite:///{tmp_path / 'bad.db'}"),
        ("apply", "nothing-here"),
        ("plan", "--nope"),
    ]
    for args in cases:
        result = storecfg(*args, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
        assert "Error" in result.stderr


def test_http_auth_errors_name_no_token(tmp_path: Path) -> None:
    write_store(tmp_path / "s", BASE)
    with running_server(tmp_path, stores=["test-store", "other"]) as server:
        wrong = server.token("other")
        cases = {
            "": "401",
            "sct_not-a-real-token": "401",
            wrong: "403",
        }
        for token, status in cases.items():
            env = {"STORECFG_STORE": server.url, "STORECFG_TOKEN": token}
            result = storecfg("apply", "s", "--auto-approve", cwd=tmp_path, env=env)
            assert result.returncode == 1, result.stderr
            assert status in result.stderr and "Traceback" not in result.stderr
            if token:
                assert token not in result.stderr + result.stdout
        # nothing was written with the wrong token
        env = {"STORECFG_STORE": server.url, "STORECFG_TOKEN": server.token("test-store")}
        result = storecfg("plan", "s", "--detailed-exitcode", cwd=tmp_path, env=env)
        assert result.returncode == 2 and "Plan: 20 to create" in result.stdout


def test_no_color_unless_a_terminal(work: Path) -> None:
    _, out, _ = run("plan", "s")
    assert "\x1b[" not in out
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    result = subprocess.run(
        [sys.executable, "-m", "storecfg", "plan", "s"], cwd=work, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0 and "\x1b[" not in result.stdout


def test_debug_shows_the_traceback_of_a_bug(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storecfg.apply.workflow as workflow

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(workflow, "plan_directory", broken)
    result = CliRunner().invoke(cli, ["plan", "s"])
    assert result.exit_code == 1
    assert "Error: internal error: RuntimeError: boom" in result.stderr
    assert "This is a bug in storecfg; rerun with STORECFG_DEBUG=1" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.setenv("STORECFG_DEBUG", "1")
    result = CliRunner().invoke(cli, ["plan", "s"])
    assert isinstance(result.exception, RuntimeError)


def test_sqlite_file_that_is_a_directory(work: Path) -> None:
    (work / "adir").mkdir()
    code, _, err = run("plan", "s", "--store", f"sqlite:///{work / 'adir'}")
    assert code == 1 and "Error:" in err


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    import pexpect

    child = pexpect.spawn(sys.executable, ["-m", "storecfg", *args], cwd=str(cwd), env=env,
                          encoding="utf-8", timeout=60)  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def test_colors_on_a_terminal_unless_turned_off(tmp_path: Path) -> None:
    write_store(tmp_path / "s", BASE)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\x1b[32;1m  + skus.sku-basic\x1b[0m" in _on_a_terminal(["plan", "s"], tmp_path, env)
    assert "\x1b[" not in _on_a_terminal(["plan", "s", "--no-color"], tmp_path, env)
    assert "\x1b[" not in _on_a_terminal(["plan", "s"], tmp_path, {**env, "NO_COLOR": "1"})
    # JSON and Markdown never carry colors
    out = _on_a_terminal(["plan", "s", "--format", "markdown"], tmp_path, env)
    assert "<!-- storecfg-plan: test-store -->" in out and "\x1b[" not in out
