"""Fixtures for end-to-end tests: one store definition, one live store, on both drivers.

`target` is parametrized over the embedded store (`sqlite:///...`) and the real
reference server (`storecfg serve` on loopback, one per test session; each test gets
its own store ID and token). The test runs in its own working directory, so the
`.storecfg/` state (snapshots, journal) is the test's own.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storecfg.cli import cli
from storecfg.model import LiveState
from storecfg.store.driver import StoreDriver, open_store
from storecfg.store.records import ApplyRecord, SnapshotMeta
from support.server import Server, running_server, storecfg

from .stores import BASE, STORE_YAML, write_store

_ids = itertools.count(1)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Target:
    """A working directory with a store definition `s/` and the live store it plans against."""

    driver_name: str
    workdir: Path
    url: str
    store_id: str
    env: dict[str, str] = field(default_factory=dict)
    server: Server | None = None

    @property
    def store_dir(self) -> Path:
        return self.workdir / "s"

    def write(self, files: dict[str, str] | None = None) -> Path:
        files = dict(files if files is not None else BASE)
        files["store.yaml"] = files.get("store.yaml", STORE_YAML).replace(
            "id: test-store", f"id: {self.store_id}"
        )
        return write_store(self.store_dir, files)

    def cli(self, *args: str, input: str | None = None) -> Result:
        """The CLI in this process (fast); stdin is not a terminal."""
        old = os.getcwd()
        os.chdir(self.workdir)
        try:
            result = CliRunner().invoke(
                cli,
                list(args),
                input=input,
                env={**self.env, "NO_COLOR": "1"},
                catch_exceptions=False,
            )
        finally:
            os.chdir(old)
        return Result(result.exit_code, result.stdout, result.stderr)

    def run(self, *args: str, input: str | None = None, timeout: float = 120) -> Result:
        """The real CLI in a subprocess."""
        done = storecfg(*args, cwd=self.workdir, env=self.env, input=input, timeout=timeout)
        return Result(done.returncode, done.stdout, done.stderr)

    def driver(self) -> StoreDriver:
        return open_store(self.url, token=self.env.get("STORECFG_TOKEN"))

    def read(self) -> LiveState:
        driver = self.driver()
        try:
            return driver.read_all(self.store_id)
        finally:
            driver.close()

    def put(self, kind: str, rid: str, change: dict[str, Any]) -> int:
        """An out-of-band edit (somebody in the control panel); returns the new revision."""
        driver = self.driver()
        try:
            item = driver.get(self.store_id, kind, rid)
            assert item is not None
            item = driver.put(
                self.store_id, kind, rid, {**item.spec, **change}, if_match=item.revision
            )
            return item.revision
        finally:
            driver.close()

    def snapshots(self) -> list[SnapshotMeta]:
        """The store's snapshots, oldest first."""
        driver = self.driver()
        try:
            items, _ = driver.list_snapshots(self.store_id, limit=1000)
        finally:
            driver.close()
        return items[::-1]

    def applies(self) -> list[ApplyRecord]:
        """The store's apply records, newest first."""
        driver = self.driver()
        try:
            return driver.list_applies(self.store_id, limit=1000)[0]
        finally:
            driver.close()

    def db_path(self) -> Path:
        """The database file that holds the live store (the server's, over HTTP)."""
        if self.server is not None:
            return self.server.db
        return Path(self.url.removeprefix("sqlite:///"))

    def journals(self) -> list[Path]:
        return sorted((self.workdir / ".storecfg" / "journal" / self.store_id).glob("*.jsonl"))


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as server:
        yield server


def make_target(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Target:
    workdir = tmp_path / "work"
    workdir.mkdir()
    store_id = f"store-{next(_ids)}-{os.getpid()}"
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
        target = Target(name, workdir, url, store_id, {"STORECFG_STORE": url})
    else:
        server: Server = request.getfixturevalue("http_server")
        target = Target(name, workdir, server.url, store_id, server.env(store_id), server)
    target.write()
    return target


@pytest.fixture(params=["sqlite", "http"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return make_target(request.param, tmp_path, request)


@pytest.fixture
def sqlite_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return make_target("sqlite", tmp_path, request)


@pytest.fixture
def http_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return make_target("http", tmp_path, request)
