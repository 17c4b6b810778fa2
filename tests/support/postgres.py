"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free loopback port.

One cluster per test session (per xdist worker), in a temporary directory that is
removed afterwards; one database per test. The server runs with durability off
(fsync, synchronous_commit): the tests check semantics, not crash safety. PostgreSQL
refuses to run as root, so under root the cluster belongs to an unprivileged system
user (`postgres` when the package made one, else `storecfg-test`, created here).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the cluster's superuser (trusted on loopback: the cluster lives only for the tests)
SUPERUSER = "storecfg"
TEST_USER = "storecfg-test"


class Unavailable(Exception):
    """PostgreSQL cannot be had here; the message says why."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: on the PATH, else Debian's versioned
    /usr/lib/postgresql/N/bin (the newest)."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(os.path.realpath(initdb)).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()),
        key=lambda p: _version_key(p.parent.name),
    )
    if candidates:
        return candidates[-1]
    raise Unavailable(
        "PostgreSQL is not installed: no initdb/pg_ctl on the PATH or under "
        "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _os_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", TEST_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    useradd = shutil.which("useradd")
    if useradd is None:
        raise Unavailable("running as root, and there is no postgres user nor useradd to make one")
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise Unavailable(f"cannot create the user {TEST_USER}: {result.stderr.strip()}")
    return pwd.getpwnam(TEST_USER)


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int
    user: pwd.struct_passwd | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, args: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C"},
            **kwargs,
        )

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, name: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def start_replica(self) -> Cluster:
        """A hot standby of this cluster (pg_basebackup, then streaming replication)
        on a port of its own: it answers reads only."""
        replica = Cluster(self.bindir, _new_root(self.user), 0, self.user)
        backup = replica._run(
            [
                str(self.bindir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-D",
                str(replica.data),
                "--write-recovery-conf",
                "--wal-method=stream",
                "--no-sync",
            ]
        )
        if backup.returncode != 0:
            shutil.rmtree(replica.root, ignore_errors=True)
            raise Unavailable(f"pg_basebackup failed: {backup.stderr.strip()}")
        _start(replica, durable=False)
        return replica

    def stop(self) -> None:
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster:
    """initdb and start a cluster; raises Unavailable saying why it cannot.

    The tests' cluster does not sync to disk at all. A `durable` one (for benchmarks)
    syncs its WAL as PostgreSQL does by default but does not wait for it at each commit
    (synchronous_commit=off): the same promise as the SQLite engine's WAL with
    synchronous=NORMAL, where a crash of the machine may lose the last commits but
    never corrupts the database."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable("psycopg is not installed: pip install 'storecfg[postgres]'") from None
    bindir = find_bindir()
    user = _os_user()
    root = _new_root(user)
    cluster = Cluster(bindir, root, 0, user)
    init = cluster._run(
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    _start(cluster, durable=durable)
    return cluster


def _new_root(user: pwd.struct_passwd | None) -> Path:
    root = Path(tempfile.mkdtemp(prefix="storecfg-pg-", dir="/tmp" if user else None))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    return root


def _start(cluster: Cluster, *, durable: bool) -> None:
    """Start the cluster's server on a free loopback port."""
    last = ""
    for _ in range(5):  # a free port may be taken between asking and listening
        cluster.port = _free_port()
        options = " ".join(
            [
                f"-p {cluster.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={cluster.root}",
                *(
                    ["-c synchronous_commit=off", "-c shared_buffers=256MB"]
                    if durable
                    else ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
                ),
                "-c max_connections=300",
            ]
        )
        started = cluster._run(
            [
                str(cluster.bindir / "pg_ctl"),
                "-D",
                str(cluster.data),
                "-l",
                str(cluster.root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        )
        if started.returncode == 0:
            return
        log = cluster.root / "server.log"
        last = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
    shutil.rmtree(cluster.root, ignore_errors=True)
    raise Unavailable(f"PostgreSQL did not start: {last.strip()}")


@dataclass
class Bouncer:
    """PgBouncer in transaction mode in front of a cluster: consecutive transactions of
    one client may run on different server connections, as in production."""

    cluster: Cluster
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_pgbouncer(cluster: Cluster) -> Bouncer:
    """PgBouncer (pool_mode = transaction, 2 server connections per database) on a free
    port; raises Unavailable when it is not installed or does not start."""
    exe = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if exe is None:
        raise Unavailable("PgBouncer is not installed (Debian: apt-get install pgbouncer)")
    root = _new_root(cluster.user)
    (root / "users.txt").write_text(f'"{SUPERUSER}" ""\n')
    last = ""
    for _ in range(5):
        port = _free_port()
        (root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={cluster.port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {root / 'users.txt'}\n"
            "pool_mode = transaction\n"
            "default_pool_size = 2\n"
            "max_client_conn = 500\n"
            "server_reset_query =\n"
        )
        if cluster.user is not None:
            for path in root.iterdir():
                os.chown(path, cluster.user.pw_uid, cluster.user.pw_gid)
        kwargs: dict[str, Any] = {}
        if cluster.user is not None:
            kwargs = {"user": cluster.user.pw_uid, "group": cluster.user.pw_gid, "extra_groups": []}
        log = open(root / "pgbouncer.log", "wb")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(
            [exe, str(root / "pgbouncer.ini")],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            **kwargs,
        )
        log.close()
        for _ in range(100):
            if process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return Bouncer(cluster, root, port, process)
            except OSError:
                import time

                time.sleep(0.05)
        process.kill()
        process.wait()
        last = (root / "pgbouncer.log").read_text(errors="replace")[-1000:]
    shutil.rmtree(root, ignore_errors=True)
    raise Unavailable(f"PgBouncer did not start: {last.strip()}")
