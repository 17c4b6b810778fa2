"""Which stores a command works on: the definition's own store, or the targets
store.yaml defines (each with its var files, store URL and token)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..apply.workflow import Settings
    from ..compiler.targets import Target


@dataclass(frozen=True)
class Variables:
    """Template variables given on the command line (--var-file, --var, --var-json)."""

    files: tuple[Path, ...] = ()
    overrides: tuple[str, ...] = ()
    json: tuple[str, ...] = ()

    def given(self) -> bool:
        return bool(self.files or self.overrides or self.json)


@dataclass(frozen=True)
class Targets:
    """The targets asked for on the command line (--target NAME..., --all-targets)."""

    names: tuple[str, ...] = ()
    all: bool = False

    def given(self) -> bool:
        return bool(self.names or self.all)

    def several(self) -> bool:
        """Whether the run makes one document of several targets."""
        return self.all or len(set(self.names)) > 1


def select_targets(directory: Path, asked: Targets) -> list[Target] | None:
    """The targets asked for (None when no target option was given)."""
    if not asked.given():
        return None
    from ..compiler.result import find_store_file
    from ..compiler.targets import select_targets as select

    return select(find_store_file(directory), asked.names, asked.all)


@dataclass(frozen=True)
class Run:
    """One store a command works on: the definition's (no target), or one target's."""

    name: str | None
    #: the target's var files, then the ones given on the command line
    var_files: tuple[Path, ...]
    target: Target | None = None


def runs(directory: Path, asked: Targets, var_files: Sequence[Path]) -> list[Run]:
    """One run without targets, else one per target asked for."""
    targets = select_targets(directory, asked)
    if targets is None:
        return [Run(None, tuple(var_files))]
    return [Run(t.name, (*t.var_files, *var_files), t) for t in targets]


@dataclass
class StoreChoice:
    """How a command reaches its store: the settings without a target, and what a
    target's settings are made of (each made when its target is reached, so a missing
    variable fails that target only)."""

    #: the settings without a target (the store from --store, $STORECFG_STORE or the default)
    default: Callable[[], Settings]
    #: --store as given on the command line (it overrides every target's store)
    given_url: str | None = None
    #: settings a target's store is used with
    target_options: dict[str, Any] = field(default_factory=dict)

    def settings(self, run: Run) -> Settings:
        if run.target is None:
            return self.default()
        return self.target_settings(run.target)

    def target_settings(self, target: Target) -> Settings:
        from ..apply.workflow import Settings

        url = target.store_url(self.given_url, os.environ)
        token = target.token(url, os.environ)
        return Settings(
            store_url=url,
            store_explicit=bool(self.given_url),
            token=token,
            **self.target_options,
        )


def target_path(path: Path, name: str) -> Path:
    """A target's own plan file: plan.json -> plan.us.json; plan -> plan.us."""
    return path.with_name(f"{path.stem}.{name}{path.suffix}")
