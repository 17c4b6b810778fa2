"""What `apply TARGET` applies: a saved plan file or a definition directory, and the
combinations of options each allows."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError


def is_plan_file(target: Path, *, targets_given: bool) -> bool:
    """Whether TARGET is a saved plan file (else a definition directory, or its
    store.yaml). A plan file already names its store, so targets do not apply to it."""
    if not target.exists():
        raise UsageError(f"{target}: no such store directory or plan file")
    planfile = target.is_file() and target.name != "store.yaml"
    if targets_given and planfile:
        raise UsageError(
            "--target and --all-targets apply to a definition directory; a plan file "
            "already names its store"
        )
    return planfile


def check_reviewed_target(target: Path, *, planfile: bool) -> None:
    """--reviewed compares a new plan of a directory with the reviewed one."""
    if planfile:
        raise UsageError(
            "--reviewed PLANFILE checks a definition directory against a reviewed plan: "
            f"give the directory, not {target}"
        )


def check_plan_file_alone(*, variables_given: bool) -> None:
    """A plan file is applied exactly as it was made: no variables."""
    if variables_given:
        raise UsageError(
            "--var, --var-json and --var-file apply to a definition directory; a plan file is "
            "applied exactly as it was made"
        )


def check_can_confirm(command: str = "apply", alternative: str = "") -> None:
    """Asking for 'yes' needs a terminal; without one the user must say --auto-approve."""
    if not sys.stdin.isatty():
        raise UsageError(
            f"{command} asks for confirmation on a terminal; without one, pass --auto-approve"
            + alternative
        )
