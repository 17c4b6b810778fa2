"""Start the real reference server as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def storecfg(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m storecfg ...`) and capture its output."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "storecfg", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Server:
    url: str
    db: str | Path
    process: subprocess.Popen[str]
    tokens: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    def token(self, store_id: str) -> str:
        if store_id not in self.tokens:
            result = storecfg("token", "create", "--db", str(self.db), "--store", store_id)
            assert result.returncode == 0, result.stderr
            self.tokens[store_id] = result.stdout.strip()
        return self.tokens[store_id]

    def env(self, store_id: str) -> dict[str, str]:
        return {"STORECFG_STORE": self.url, "STORECFG_TOKEN": self.token(store_id)}

    def client(self, store_id: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token(store_id)}"},
            timeout=30,
        )

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""


@contextmanager
def running_server(
    directory: Path,
    *,
    stores: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    db: str | Path | None = None,
    name: str = "server",
) -> Iterator[Server]:
    """A `storecfg serve` process on a free port; stopped with SIGTERM afterwards.

    `db` defaults to a SQLite file in `directory`; a postgresql:// URL lets several
    servers (each with its own `name`, which names its log) share one database.
    """
    db = db if db is not None else directory / "server.db"
    for store_id in stores:
        result = storecfg("token", "create", "--db", str(db), "--store", store_id)
        assert result.returncode == 0, result.stderr
    port = free_port()
    log_path = directory / f"{name}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "storecfg",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise RuntimeError(f"server did not start: {log_path.read_text()}")
        time.sleep(0.05)
    server = Server(url, db, process, log_path=log_path)
    try:
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
