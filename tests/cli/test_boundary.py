"""The one error boundary: what a command raises becomes a message and an exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from storecfg.cli.boundary import Boundary
from storecfg.errors import DefinitionError, Diagnostic, SourceLocation, StoreError, UsageError


class Locked(StoreError):
    exit_code = 3


def _group(body: BaseException | int | None) -> click.Group:
    @click.group(cls=Boundary)
    def root() -> None:
        pass

    @root.command()
    @click.option("--count", type=int, default=1)
    def run(count: int) -> int | None:
        if isinstance(body, BaseException):
            raise body
        return body

    return root


def _invoke(body: BaseException | int | None, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(_group(body), ["run", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_command_returns_its_exit_code() -> None:
    assert _invoke(2)[0] == 2
    assert _invoke(None)[0] == 0


def test_a_storecfg_error_is_its_message_lines_and_hint() -> None:
    exc = UsageError("no such directory", hint="give a directory", lines=["first\x1b[31m"])
    code, out, err = _invoke(exc)
    assert code == 1 and out == ""
    assert err == "Error: no such directory\n  first\\x1b[31m\n  give a directory\n"


def test_an_error_keeps_its_own_exit_code() -> None:
    assert _invoke(Locked("the store is locked"))[0] == 3


def test_a_definition_error_lists_its_diagnostics_first() -> None:
    diag = Diagnostic("SC001", "missing reference", SourceLocation("s/a.yaml", 3, 5), "skus.x")
    code, _, err = _invoke(DefinitionError([diag]))
    assert code == 1
    assert err == (
        "s/a.yaml:3:5: SC001 skus.x: missing reference\nError: the store definition has 1 error\n"
    )


def test_ctrl_c_is_130_with_a_hint() -> None:
    code, _, err = _invoke(KeyboardInterrupt())
    assert code == 130
    assert err.startswith("Error: interrupted (Ctrl-C)\n  Writes already sent")


def test_a_bug_is_one_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORECFG_DEBUG", raising=False)
    code, _, err = _invoke(ZeroDivisionError("division by zero"))
    assert code == 1
    assert err.startswith("Error: internal error: ZeroDivisionError: division by zero\n")
    assert "Traceback" not in err


def test_usage_errors_exit_1_not_2() -> None:
    code, _, err = _invoke(None, "--count", "many")
    assert code == 1 and "Invalid value for '--count'" in err
    result = CliRunner().invoke(_group(None), ["nosuch"])
    assert result.exit_code == 1 and "No such command" in result.stderr


def test_an_os_error_names_its_path_and_is_not_called_a_bug() -> None:
    code, _, err = _invoke(PermissionError(13, "Permission denied", "/srv/plans/p.json"))
    assert code == 1
    assert err.startswith("Error: ") and err.endswith("srv/plans/p.json: Permission denied\n")
    code, _, err = _invoke(OSError(28, "No space left on device"))
    assert code == 1 and "No space left on device" in err and "bug" not in err


def test_output_paths_the_machine_refuses_are_named(tmp_path: Path) -> None:
    """Through the real CLI: an output path under a file, and a full device."""
    env = {**os.environ, "NO_COLOR": "1"}
    cli = [sys.executable, "-m", "storecfg"]
    made = subprocess.run([*cli, "init", "s", "--store-id", "s"], cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert made.returncode == 0, made.stderr
    run = subprocess.run([*cli, "plan", "s", "-o", "s/store.yaml/p.json"], cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 1
    assert "s/store.yaml" in run.stderr and "bug" not in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "s" / "store.yaml").is_dir()
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            run = subprocess.run([*cli, "compile", "s"], cwd=tmp_path, env=env, stdout=full, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert run.returncode == 1
        assert "No space left" in run.stderr and "bug" not in run.stderr
