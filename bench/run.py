"""Benchmark storecfg on generated stores, as a user sees it.

Every command runs in a fresh process (interpreter start included) and is timed by
wall clock; its peak RSS comes from os.wait4(), which reports the resource usage of
exactly that child. Times are compared with a floor F measured in the same run:
loading the same YAML files once with PyYAML's C loader, also in a fresh process.

    python bench/run.py --plans 5000 [--plans 20000] [--skip-http] [--postgres [URL]]
                        [--markdown out.md] [--json out.json] [--compare OLD.json]

The runner generates the stores into a temporary directory, starts the reference
server itself on a free loopback port with a new token, and removes everything
afterwards (unless --keep). The results are also written to bench/out/latest.json.

With --postgres the HTTP stages run again with the server on PostgreSQL, and a load
test compares one SQLite server, one PostgreSQL server and two PostgreSQL servers on
one database under concurrent clients. Without a URL a throwaway cluster is started
(initdb + pg_ctl, as the tests do); with one, each measurement gets a new database
created there (the user needs CREATEDB).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from generate import STORE_ID, GeneratedStore, generate_store

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
GROWTH_FROM, GROWTH_TO = 2_000, 20_000
#: sizes from this one on are judged by the "aim" targets (the musts of 20,000 plans),
#: smaller ones by "must"
AIM_FROM = 20_000

FLOOR_CODE = """\
import sys, yaml
for path in sys.argv[1:]:
    with open(path, "rb") as fh:
        yaml.load(fh, Loader=yaml.CSafeLoader)
"""

# ------------------------------------------------------------------------ targets

Level = Literal["must", "aim"]


@dataclass(frozen=True)
class Target:
    unit: str  # "F", "writes/s", "MiB" or "x"
    must: float
    aim: float

    @property
    def higher_is_better(self) -> bool:
        return self.unit in ("writes/s", "gain")

    def threshold(self, level: Level) -> float:
        return self.must if level == "must" else self.aim

    def met(self, value: float, level: Level) -> bool:
        limit = self.threshold(level)
        return value >= limit if self.higher_is_better else value <= limit

    def describe(self, level: Level) -> str:
        sign = "≥" if self.higher_is_better else "≤"
        label = "must" if level == "must" else "must at 20k"
        return f"{sign} {fmt_value(self.threshold(level), self.unit)} ({label})"


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    target: Target | None = None


STAGES = {
    s.key: s
    for s in (
        Stage("floor", "F: YAML load, PyYAML CSafeLoader"),
        Stage("validate", "validate", Target("F", 2.0, 0.7)),
        Stage("plan-empty", "plan, empty store", Target("F", 2.5, 1.0)),
        Stage("apply-embedded", "apply, embedded store", Target("F", 4.0, 1.6)),
        Stage("noop-cold", "no-op plan, cold cache"),
        Stage("noop-warm", "no-op plan, warm cache", Target("F", 1.0, 0.1)),
        Stage("apply-http", "apply over HTTP", Target("writes/s", 800, 2_000)),
        Stage("noop-http", "no-op plan over HTTP (warm cache)", Target("F", 2.0, 0.25)),
        Stage("serve", "storecfg serve (whole HTTP run)"),
        Stage("peak-rss", "peak RSS of any command", Target("MiB", 400, 250)),
        Stage("growth", "plan time growth, 2k → 20k plans", Target("x", 12, 10.5)),
        Stage("apply-http-pg", "apply over HTTP, PostgreSQL ÷ SQLite", Target("ratio", 1.5, 1.25)),
        Stage(
            "noop-http-pg", "no-op plan over HTTP, PostgreSQL ÷ SQLite", Target("ratio", 1.5, 1.25)
        ),
        Stage("load-write", "server writes, 8 clients"),
        Stage(
            "load-write-gain", "server writes: 2 PostgreSQL servers ÷ 1", Target("gain", 1.0, 1.3)
        ),
        Stage("load-read", "server plan reads, 8 clients"),
        Stage(
            "load-read-gain",
            "server plan reads: 2 PostgreSQL servers ÷ 1",
            Target("gain", 1.0, 1.3),
        ),
    )
}


def fmt_value(value: float, unit: str) -> str:
    if unit == "F":
        return f"{value:.2f} F"
    if unit == "writes/s":
        return f"{value:,.0f} writes/s"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if unit == "x":
        return f"{value:.1f}×"
    if unit in ("ratio", "gain"):
        return f"{value:.2f}×"
    if unit == "pages/s":
        return f"{value:,.0f} pages/s"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.2f} {unit}"


# ---------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Sample:
    """One process: wall time from spawn to exit, CPU time (user + system), peak RSS."""

    seconds: float
    cpu_seconds: float
    rss_mib: float
    exit_code: int


class CommandFailed(Exception):
    def __init__(self, what: str, command: str, log: Path, exit_code: int) -> None:
        tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
        super().__init__(f"{what}: exit {exit_code}, expected otherwise")
        self.what, self.command, self.exit_code = what, command, exit_code
        self.tail = "\n".join(tail)


def spawn_and_wait(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float
) -> Sample:
    """Run `cmd` to completion with output to `log`; its own wall time and peak RSS."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(seconds, cpu, usage.ru_maxrss / 1024, proc.returncode)  # maxrss is in KiB


@dataclass
class Row:
    """One line of the results table."""

    stage: str
    plans: int | str
    seconds: float | None = None
    cpu_seconds: float | None = None
    rss_mib: float | None = None
    value: float | None = None
    unit: str = ""
    level: Level | None = None
    note: str = ""

    @property
    def id(self) -> str:
        suffix = f"/{self.level}" if self.stage == "growth" else ""
        return f"{self.stage}@{self.plans}{suffix}"

    @property
    def target(self) -> Target | None:
        return STAGES[self.stage].target

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.value is None or self.level is None:
            return None
        return self.target.met(self.value, self.level)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data |= {"id": self.id, "label": STAGES[self.stage].label, "passed": self.passed}
        if self.target and self.level:
            data |= {"target": self.target.threshold(self.level)}
        return data


@dataclass
class Failure:
    stage: str
    plans: int
    message: str
    command: str
    tail: str


@dataclass
class Server:
    url: str
    token: str
    pid: int = 0
    #: peak RSS of the server process, known once it has stopped
    rss_mib: float = 0.0

    def cpu_seconds(self) -> float | None:
        """CPU time the server has used so far (Linux only)."""
        return process_cpu_seconds(self.pid)


@dataclass
class Bench:
    """Runs the stages for each store size and collects rows."""

    work: Path
    repeat: int
    timeout: float
    skip_http: bool
    storecfg: list[str]
    rows: list[Row] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    stores: dict[int, GeneratedStore] = field(default_factory=dict)
    #: where PostgreSQL databases come from (--postgres), else None
    postgres: PgDatabases | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORECFG_")}
        # as installed: byte code written once and reused (an installed wheel ships it)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env | {"NO_COLOR": "1"}

    def run(
        self,
        what: str,
        args: Sequence[str],
        *,
        cwd: Path,
        expect: Sequence[int] = (0,),
        env: dict[str, str] | None = None,
        prepare: Callable[[], None] | None = None,
        repeat: int | None = None,
        program: Sequence[str] | None = None,
    ) -> Sample:
        """Run a command `repeat` times: the fastest wall and CPU times, the highest RSS."""
        cmd = [*(self.storecfg if program is None else program), *args]
        cwd.mkdir(parents=True, exist_ok=True)
        samples = []
        for i in range(repeat or self.repeat):
            if prepare:
                prepare()
            log = cwd / f"{what}-{i}.log"
            sample = spawn_and_wait(
                cmd, cwd=cwd, env=env or self.env, log=log, timeout=self.timeout
            )
            if sample.exit_code not in expect:
                raise CommandFailed(what, reproduction(cmd, cwd), log, sample.exit_code)
            samples.append(sample)
        return Sample(
            min(s.seconds for s in samples),
            min(s.cpu_seconds for s in samples),
            max(s.rss_mib for s in samples),
            samples[0].exit_code,
        )

    @contextlib.contextmanager
    def stage(self, key: str, plans: int) -> Iterator[None]:
        """Record a failing command instead of stopping the whole run."""
        print(f"  {STAGES[key].label} ...", file=sys.stderr, flush=True)
        try:
            yield
        except CommandFailed as exc:
            self.failures.append(Failure(key, plans, str(exc), exc.command, exc.tail))
            print(f"    FAILED: {exc}\n    {exc.command}", file=sys.stderr)

    def add(self, key: str, plans: int, sample: Sample, floor: float, note: str = "") -> None:
        """A row for a stage measured in F."""
        self.add_sample(key, plans, sample, sample.seconds / floor, "F", note)

    def add_sample(
        self, key: str, plans: int, sample: Sample, value: float, unit: str, note: str = ""
    ) -> None:
        row = Row(
            key,
            plans,
            seconds=sample.seconds,
            cpu_seconds=sample.cpu_seconds,
            rss_mib=sample.rss_mib,
            value=value,
            unit=unit,
            level=None if key == "floor" else level_for(plans),
            note=note,
        )
        self.rows.append(row)

    def store(self, plans: int) -> GeneratedStore:
        """The generated store of this size (generated on first use)."""
        if plans not in self.stores:
            print(f"{plans:,} plans: generating the store ...", file=sys.stderr, flush=True)
            self.stores[plans] = generate_store(self.work / f"plans-{plans}" / "store", plans)
        return self.stores[plans]

    def measure_size(self, plans: int) -> None:
        """All stages for one store size."""
        base = self.work / f"plans-{plans}"
        store = self.store(plans)
        src = str(store.root)
        files = [str(p) for p in sorted(store.files)]
        floor = self.run(
            "floor", ["-c", FLOOR_CODE, *files], cwd=base / "floor", program=[sys.executable]
        )
        note = f"{len(files)} files, {store.bytes / 2**20:.1f} MiB, {store.resources:,} resources"
        self.add_sample("floor", plans, floor, 1.0, "F", note)
        F = floor.seconds

        embedded = base / "embedded"
        state = embedded / ".storecfg"
        plan = ["plan", src, "--detailed-exitcode"]
        with self.stage("validate", plans):
            checked = base / "validate"
            validate = ["validate", src]
            sample = self.run(
                "validate", validate, cwd=checked, prepare=clear(checked / ".storecfg")
            )
            self.add("validate", plans, sample, F)
        with self.stage("plan-empty", plans):
            sample = self.run("plan-empty", plan, cwd=embedded, expect=(2,), prepare=clear(state))
            self.add("plan-empty", plans, sample, F)
        with self.stage("apply-embedded", plans):
            apply = ["apply", src, "--auto-approve"]
            sample = self.run("apply-embedded", apply, cwd=embedded, prepare=clear(state))
            self.add("apply-embedded", plans, sample, F)
            with self.stage("noop-cold", plans):
                sample = self.run("noop-cold", plan, cwd=embedded, prepare=clear(state / "cache"))
                self.add("noop-cold", plans, sample, F)
            with self.stage("noop-warm", plans):
                self.add("noop-warm", plans, self.run("noop-warm", plan, cwd=embedded), F)
        if not self.skip_http:
            self.measure_http(plans, store, base / "http", F)
            if self.postgres is not None:
                self.measure_http(plans, store, base / "http-pg", F, engine="postgresql")
        measured = [r for r in self.rows if r.plans == plans and r.stage != "floor" and r.rss_mib]
        if measured:
            top = max(measured, key=lambda r: r.rss_mib or 0)
            self.rows.append(
                Row(
                    "peak-rss",
                    plans,
                    rss_mib=top.rss_mib,
                    value=top.rss_mib,
                    unit="MiB",
                    level=level_for(plans),
                    note=f"in: {STAGES[top.stage].label}",
                )
            )

    def measure_http(
        self,
        plans: int,
        store: GeneratedStore,
        base: Path,
        floor: float,
        *,
        engine: str = "sqlite",
    ) -> None:
        """Apply into a fresh reference server (one per repetition), then no-op plans.
        On PostgreSQL the rows say how much longer each took than on SQLite."""
        src = str(store.root)
        applies: list[tuple[Sample, float | None]] = []  # with the server's CPU time
        noop: Sample | None = None
        serve_rss = 0.0
        pg = engine == "postgresql"
        with self.stage("apply-http-pg" if pg else "apply-http", plans):
            for i in range(self.repeat):
                db = self.postgres.new() if pg and self.postgres else None
                with self.server(base / f"server-{i}", db=db) as server:
                    env = self.env | {"STORECFG_TOKEN": server.token}
                    client = base / f"client-{i}"
                    apply = ["apply", src, "--auto-approve", "--store", server.url]
                    cpu_before = server.cpu_seconds()
                    sample = self.run("apply-http", apply, cwd=client, env=env, repeat=1)
                    cpu_after = server.cpu_seconds()
                    server_cpu = None
                    if cpu_before is not None and cpu_after is not None:
                        server_cpu = cpu_after - cpu_before
                    applies.append((sample, server_cpu))
                    if i == self.repeat - 1:
                        with self.stage("noop-http-pg" if pg else "noop-http", plans):
                            plan = ["plan", src, "--store", server.url, "--detailed-exitcode"]
                            noop = self.run("noop-http", plan, cwd=client, env=env)
                serve_rss = max(serve_rss, server.rss_mib)
        if pg:
            self.add_ratios(plans, store, applies, noop)
            return
        if applies:
            best, server_cpu = min(applies, key=lambda a: a[0].seconds)
            rate = store.resources / best.seconds
            note = f"{store.resources:,} writes, {best.seconds / floor:.2f} F"
            if server_cpu is not None:
                note += f", server CPU {server_cpu:.2f} s"
            self.add_sample("apply-http", plans, best, rate, "writes/s", note)
        if noop:
            self.add("noop-http", plans, noop, floor)
        if serve_rss:
            self.rows.append(Row("serve", plans, rss_mib=serve_rss))

    def add_ratios(
        self,
        plans: int,
        store: GeneratedStore,
        applies: list[tuple[Sample, float | None]],
        noop: Sample | None,
    ) -> None:
        """PostgreSQL's HTTP rows: its time over SQLite's, measured just before."""
        mine = {r.stage: r for r in self.rows if r.plans == plans}
        if applies and "apply-http" in mine and mine["apply-http"].seconds:
            best, server_cpu = min(applies, key=lambda a: a[0].seconds)
            ratio = best.seconds / (mine["apply-http"].seconds or 1)
            note = f"{store.resources / best.seconds:,.0f} writes/s"
            if server_cpu is not None:
                note += f", server CPU {server_cpu:.2f} s"
            self.add_sample("apply-http-pg", plans, best, ratio, "ratio", note)
        if noop and "noop-http" in mine and mine["noop-http"].seconds:
            ratio = noop.seconds / (mine["noop-http"].seconds or 1)
            self.add_sample("noop-http-pg", plans, noop, ratio, "ratio")

    def measure_load(self) -> None:
        """Concurrent clients straight at the store API (no CLI, no compile): 8 stores,
        one client each, spread over the servers. Writes are batches of 100 service
        plans; reads are what a plan reads (a page of revisions and hashes). One SQLite
        server, one PostgreSQL server, then two PostgreSQL servers on one database."""
        assert self.postgres is not None
        base = self.work / "load"
        results: dict[str, tuple[float, float]] = {}
        for label, engine, count in (
            ("SQLite, 1 server", "sqlite", 1),
            ("PostgreSQL, 1 server", "postgresql", 1),
            ("PostgreSQL, 2 servers", "postgresql", 2),
        ):
            print(f"  load: {label} ...", file=sys.stderr, flush=True)
            where = base / f"{engine}-{count}"
            where.mkdir(parents=True, exist_ok=True)
            db = self.postgres.new() if engine == "postgresql" else str(where / "server.db")
            tokens = load_tokens(db)
            with contextlib.ExitStack() as stack:
                servers = [
                    stack.enter_context(self.server(where / f"server-{n}", db=db))
                    for n in range(count)
                ]
                urls = [s.url for s in servers]
                writes, write_cores = busy(servers, urls, tokens, "write")
                reads, read_cores = busy(servers, urls, tokens, "read")
            results[label] = (writes, reads)
            self.rows.append(
                Row(
                    "load-write",
                    label,
                    value=writes,
                    unit="writes/s",
                    note=f"{LOAD_WRITE_NOTE}; servers busy {write_cores:.2f} cores",
                )
            )
            self.rows.append(
                Row(
                    "load-read",
                    label,
                    value=reads,
                    unit="pages/s",
                    note=f"{LOAD_READ_NOTE}; servers busy {read_cores:.2f} cores",
                )
            )
        one, two = results["PostgreSQL, 1 server"], results["PostgreSQL, 2 servers"]
        for key, i in (("load-write-gain", 0), ("load-read-gain", 1)):
            self.rows.append(
                Row(
                    key,
                    "8 stores",
                    value=two[i] / one[i],
                    unit="gain",
                    level="must",
                    note=f"{one[i]:,.0f} → {two[i]:,.0f} per second",
                )
            )

    @contextlib.contextmanager
    def server(self, base: Path, db: str | None = None) -> Iterator[Server]:
        """A `storecfg serve` on a free loopback port, with a token for the store; on a
        SQLite file of its own, or on the database `db` (which others may share)."""
        base.mkdir(parents=True, exist_ok=True)
        db = db or str(base / "server.db")
        create = [*self.storecfg, "token", "create", "--db", str(db), "--store", STORE_ID]
        done = subprocess.run(create, env=self.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            (base / "token.log").write_text(done.stderr)
            raise CommandFailed(
                "token create", reproduction(create, base), base / "token.log", done.returncode
            )
        port = free_port()
        server = Server(f"http://127.0.0.1:{port}", done.stdout.strip())
        serve = [*self.storecfg, "serve", "--db", str(db), "--port", str(port), "--quiet"]
        log_path = base / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                serve, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            server.pid = proc.pid
            try:
                if not wait_healthy(server.url, proc):
                    raise CommandFailed(
                        "serve", reproduction(serve, base), log_path, proc.poll() or 0
                    )
                yield server
            finally:
                proc.send_signal(signal.SIGTERM)
                killer = threading.Timer(20, proc.kill)
                killer.start()
                try:
                    _, status, usage = os.wait4(proc.pid, 0)
                finally:
                    killer.cancel()
                proc.returncode = os.waitstatus_to_exitcode(status)
                server.rss_mib = usage.ru_maxrss / 1024

    def measure_growth(self) -> None:
        """Plan against an empty store at GROWTH_FROM and at GROWTH_TO plans, the runs
        interleaved so that a change in the machine's load hits both sizes alike."""
        sizes = (GROWTH_FROM, GROWTH_TO)
        samples: dict[int, list[Sample]] = {n: [] for n in sizes}
        with self.stage("growth", GROWTH_TO):
            for _ in range(self.repeat):
                for n in sizes:
                    cwd = self.work / f"plans-{n}" / "growth"
                    plan = ["plan", str(self.store(n).root), "--detailed-exitcode"]
                    sample = self.run(
                        "growth",
                        plan,
                        cwd=cwd,
                        expect=(2,),
                        prepare=clear(cwd / ".storecfg"),
                        repeat=1,
                    )
                    samples[n].append(sample)
        if not all(samples.values()):
            return
        small, big = (min(samples[n], key=lambda s: s.seconds) for n in sizes)
        small_cpu, big_cpu = (min(s.cpu_seconds for s in samples[n]) for n in sizes)
        note = (
            f"{small.seconds:.2f} s → {big.seconds:.2f} s; "
            f"CPU {small_cpu:.2f} s → {big_cpu:.2f} s ({big_cpu / small_cpu:.1f}×)"
        )
        for level in ("must", "aim"):
            sizes_label = f"{GROWTH_FROM:,}→{GROWTH_TO:,}"
            ratio = big.seconds / small.seconds
            self.rows.append(
                Row("growth", sizes_label, value=ratio, unit="x", level=level, note=note)
            )


# ------------------------------------------------------------------------ PostgreSQL

LOAD_CLIENTS = 8
LOAD_BATCHES = 12  # per client, of LOAD_BATCH writes each
LOAD_BATCH = 100
LOAD_READS = 40  # pages per client
LOAD_WRITE_NOTE = (
    f"{LOAD_CLIENTS} clients × {LOAD_BATCHES} batches of {LOAD_BATCH} service plans, one store each"
)
LOAD_READ_NOTE = f"{LOAD_CLIENTS} clients × {LOAD_READS} pages of up to 1,000 revisions and hashes"


class PgDatabases:
    """Fresh PostgreSQL databases: on a throwaway cluster (`url` None), or created on
    the server `url` names (dropped again at the end)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.cluster: Any = None
        self.made: list[str] = []
        if url is None:
            sys.path.insert(0, str(HERE.parent / "tests"))
            from support.postgres import start_cluster

            self.cluster = start_cluster(durable=True)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def admin_url(self) -> str:
        return self.cluster.url() if self.cluster else str(self.url)

    def url_of(self, name: str) -> str:
        if self.cluster:
            return str(self.cluster.url(name))
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(str(self.url))
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def new(self) -> str:
        name = f"storecfg_bench_{len(self.made)}_{os.getpid()}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.url_of(name)

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_url()) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def close(self) -> None:
        for name in self.made:
            with contextlib.suppress(Exception):
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self.cluster:
            self.cluster.stop()


def load_tokens(db: str) -> dict[str, str]:
    """A token for each load store, and the SKU its plans refer to."""
    from storecfg.store.storage import Storage

    storage = Storage(db)
    try:
        tokens = {}
        for i in range(LOAD_CLIENTS):
            store = f"load-{i}"
            tokens[store] = storage.create_token(store, "bench")
            sku = {"name": "SKU", "vendor": "Microsoft", "source": "distributor"}
            storage.put(store, "skus", "sku", sku, if_none_match="*")
        return tokens
    finally:
        storage.close()


def _load_plan(n: int) -> dict[str, Any]:
    return {
        "name": f"Plan {n}",
        "sku": "sku",
        "subscription_period": {"length": 1, "unit": "year"},
        "billing_period": {"length": 1, "unit": "month"},
        "price": {"setup": "0.00", "recurring": f"{5 + n % 40}.00"},
        "resources": [
            {
                "id": "seats",
                "name": "Extra seats",
                "unit": "seat",
                "included": 1,
                "min": 1,
                "max": 300,
                "price": {"setup": "0.00", "recurring": "4.00"},
            }
        ],
    }


def busy(
    servers: Sequence[Server], urls: Sequence[str], tokens: dict[str, str], what: str
) -> tuple[float, float]:
    """`run_load`'s rate, and the CPU the servers used meanwhile, in cores (their CPU
    seconds over the wall time): how close the servers are to what the machine has."""
    before = [s.cpu_seconds() or 0.0 for s in servers]
    start = time.perf_counter()
    result = run_load(urls, tokens, what)
    wall = time.perf_counter() - start
    used = sum((s.cpu_seconds() or 0.0) - b for s, b in zip(servers, before, strict=True))
    return result, used / wall


def run_load(urls: Sequence[str], tokens: dict[str, str], what: str) -> float:
    """Writes per second (`write`) or pages per second (`read`) that the servers at
    `urls` answer for one client per store, clients spread over the servers."""
    import httpx

    stores = sorted(tokens)
    bodies = {
        store: [
            json.dumps(
                {
                    "operations": [
                        {
                            "op": "put",
                            "kind": "service_plans",
                            "id": f"p{b}-{j}",
                            "spec": _load_plan(j),
                            "if_none_match": "*",
                        }
                        for j in range(LOAD_BATCH)
                    ]
                }
            ).encode()
            for b in range(LOAD_BATCHES)
        ]
        for store in stores
    }
    barrier = threading.Barrier(len(stores) + 1)
    errors: list[str] = []

    def client(i: int, store: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[store]}", "Content-Type": "application/json"}
        with httpx.Client(base_url=urls[i % len(urls)], headers=headers, timeout=120) as http:
            barrier.wait()
            if what == "write":
                for body in bodies[store]:
                    r = http.post(f"/v1/stores/{store}/batch", content=body)
                    if r.status_code != 200 or b'"error"' in r.content:
                        errors.append(f"{store}: {r.status_code} {r.text[:300]}")
                        return
            else:
                for _ in range(LOAD_READS):
                    r = http.get(
                        f"/v1/stores/{store}/service_plans",
                        params={"view": "meta", "limit": 1000},
                    )
                    if r.status_code != 200:
                        errors.append(f"{store}: {r.status_code} {r.text[:300]}")
                        return

    threads = [threading.Thread(target=client, args=(i, store)) for i, store in enumerate(stores)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError("load test failed: " + "; ".join(errors[:3]))
    done = LOAD_BATCHES * LOAD_BATCH if what == "write" else LOAD_READS
    return len(stores) * done / elapsed


def clear(path: Path) -> Callable[[], None]:
    """A `prepare` step that removes a directory (the state, or only its cache)."""
    return lambda: shutil.rmtree(path, ignore_errors=True)


def reproduction(cmd: Sequence[str], cwd: Path) -> str:
    shown = shlex.join(cmd)
    if len(shown) > 400:
        shown = shown[:400] + " ..."
    return f"cd {shlex.quote(str(cwd))} && {shown}"


def level_for(plans: int) -> Level:
    return "aim" if plans >= AIM_FROM else "must"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process, from /proc (None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
            if r.status == 200:
                return True
        time.sleep(0.05)
    return False


def find_storecfg() -> list[str]:
    """The console script next to this interpreter (what a user runs), else `-m`."""
    script = Path(sys.executable).parent / "storecfg"
    return [str(script)] if script.exists() else [sys.executable, "-m", "storecfg"]


# ------------------------------------------------------------------------- output

HEADERS = ("measurement", "plans", "wall", "CPU", "peak RSS", "result", "target", "status", "notes")


def table_cells(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    cells: list[tuple[str, ...]] = []
    for row in rows:
        status = {True: "PASS", False: "FAIL", None: ""}[row.passed]
        target = row.target.describe(row.level) if row.target and row.level else ""
        result = fmt_value(row.value, row.unit) if row.value is not None else ""
        if row.stage == "floor" and row.seconds is not None:
            result = f"F = {row.seconds:.2f} s"
        cells.append(
            (
                STAGES[row.stage].label,
                f"{row.plans:,}" if isinstance(row.plans, int) else row.plans,
                f"{row.seconds:.2f} s" if row.seconds is not None else "",
                f"{row.cpu_seconds:.2f} s" if row.cpu_seconds is not None else "",
                f"{row.rss_mib:,.0f} MiB" if row.rss_mib is not None else "",
                result,
                target,
                status,
                row.note,
            )
        )
    return cells


def render_text(rows: Sequence[Row]) -> str:
    cells = [HEADERS, *table_cells(rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    right = {1, 2, 3, 4, 5}
    out = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(HEADERS))) + "|",
    ]
    out += [
        "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        for cells in table_cells(rows)
    ]
    return (
        f"Measured {meta['date']} on {meta['machine']} (Python {meta['python']}, "
        f"storecfg {meta['storecfg']} at {meta['commit']}); best of {meta['repeat']} "
        f"runs per command, load average before the run {meta['load_before']}.\n\n"
        + "\n".join(out)
        + "\n"
    )


def render_comparison(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Each measurement of `new` that `old` has too: the result (wall time for the
    floor) before and after, and after/before."""
    before = {r["id"]: r for r in old["rows"]}
    lines = [("measurement", "plans", "before", "after", "after/before", "CPU before", "CPU after")]
    for row in new["rows"]:
        prev = before.get(row["id"])
        if prev is None or (row["level"] == "aim" and row["stage"] == "growth"):
            continue
        if row["stage"] == "floor":
            pair = [(r["seconds"], "s") for r in (prev, row)]
        else:
            pair = [(r["value"], r["unit"]) for r in (prev, row)]
        if any(value is None for value, _ in pair):
            continue
        (was, unit), (now, _) = pair
        cpus = [f"{r['cpu_seconds']:.2f} s" if r.get("cpu_seconds") else "" for r in (prev, row)]
        plans = f"{row['plans']:,}" if isinstance(row["plans"], int) else row["plans"]
        shown = [fmt_value(v, unit) for v in (was, now)]
        lines.append((row["label"], plans, *shown, f"{now / was:.2f}" if was else "", *cpus))
    widths = [max(len(c[i]) for c in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines
    )


def rows_from_json(data: dict[str, Any]) -> list[Row]:
    fields = Row.__dataclass_fields__
    return [Row(**{k: v for k, v in r.items() if k in fields}) for r in data["rows"]]


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "src") else "")


def metadata(args: argparse.Namespace, storecfg: Sequence[str]) -> dict[str, Any]:
    version = subprocess.run(
        [*storecfg, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "storecfg": version.split()[-1] if version else "?",
        "commit": git_commit(),
        "repeat": args.repeat,
        "plans": args.plans,
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark storecfg on generated stores.",
        epilog="Exit status: 0 when every command behaved, 1 when one failed "
        "(and with --check, when a target was missed).",
    )
    parser.add_argument(
        "--plans",
        type=int,
        action="append",
        metavar="N",
        help="store size in service plans; repeatable (default 5000)",
    )
    parser.add_argument("--skip-http", action="store_true", help="no server stages")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="",
        metavar="URL",
        help="also run the server stages on PostgreSQL, and the load test (1 SQLite "
        "server, 1 and 2 PostgreSQL servers); without URL on a throwaway cluster",
    )
    parser.add_argument(
        "--no-growth",
        action="store_true",
        help=f"do not measure plan time at {GROWTH_FROM:,} and {GROWTH_TO:,} plans",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="R",
        help="runs per command; the fastest counts (default 3)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the table as Markdown")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="OLD.json",
        help="print before/after ratios against earlier results",
    )
    parser.add_argument(
        "--load",
        type=Path,
        metavar="RESULTS.json",
        help="do not measure: report saved results (with --markdown, --compare)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.plans = sorted(set(args.plans or [5000]))
    if args.repeat < 1 or any(n < 1 for n in args.plans):
        parser.error("--plans and --repeat must be at least 1")

    failures: list[Failure] = []
    if args.load:
        results = json.loads(args.load.read_text())
        rows = rows_from_json(results)
    else:
        storecfg = find_storecfg()
        meta = metadata(args, storecfg)
        work = Path(tempfile.mkdtemp(prefix="storecfg-bench-"))
        bench = Bench(work, args.repeat, args.timeout, args.skip_http, storecfg)
        if args.postgres is not None:
            bench.postgres = PgDatabases(args.postgres or None)
            meta["postgresql"] = bench.postgres.version()
        try:
            for plans in args.plans:
                bench.measure_size(plans)
            if bench.postgres is not None:
                bench.measure_load()
            if not args.no_growth:
                bench.measure_growth()
        finally:
            if bench.postgres is not None:
                bench.postgres.close()
            if args.keep:
                print(f"work directory kept: {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
        rows, failures = bench.rows, bench.failures
        results = {
            "meta": meta,
            "rows": [r.to_json() for r in rows],
            "failures": [asdict(f) for f in failures],
        }
        OUT.mkdir(exist_ok=True)
        (OUT / "latest.json").write_text(json.dumps(results, indent=2) + "\n")

    print(render_text(rows))
    for failure in failures:
        print(
            f"\nFAILED {failure.stage} at {failure.plans:,} plans: {failure.message}\n"
            f"  reproduce: {failure.command}\n"
            + "\n".join(f"  | {line}" for line in failure.tail.splitlines())
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(render_markdown(rows, results["meta"]))
    if args.compare:
        print("\n" + render_comparison(json.loads(args.compare.read_text()), results))
    missed = any(r.passed is False for r in rows)
    return 1 if failures or (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
