"""SPEC section 2's output conventions, from outside: what a script sees of storecfg."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_reader_that_goes_away_is_no_internal_error(store_dir: Path) -> None:
    # `storecfg ... | head -1` and the like: the pipe closes before storecfg writes
    for args in (["validate", "store", "--json"], ["compile", "store"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "storecfg", *args],
            cwd=store_dir.parent,
            env={**os.environ, "NO_COLOR": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # long before the interpreter has started
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=60)
        assert "internal error" not in stderr and "Traceback" not in stderr, stderr
        assert "BrokenPipe" not in stderr, stderr
        assert code == 1, (args, code, stderr)


def test_drift_on_a_terminal_is_coloured_not_escaped(store_dir: Path) -> None:
    import pexpect

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "storecfg", "drift", "store"],
        cwd=str(store_dir.parent),
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    out = str(child.before)
    assert child.exitstatus == 0, out
    assert "\\x1b" not in out  # no escape code shown as text
    assert "\x1b[1mstorecfg drift for store acme-eu\x1b[0m" in out
    assert "\x1b[32mNo drift" in out
