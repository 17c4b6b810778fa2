"""A `storecfg serve` process whose PostgreSQL database goes away (docs/limits.md).

The server reaches the database through a TCP relay that the test cuts, as a stopped
or unreachable PostgreSQL would: requests must then be answered `503` naming the
database, soon enough that a client (the CLI waits 30 s for an answer) hears the
server's reason rather than its own timeout.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from support.server import running_server

STORE = "shop"
#: what a client waits at most here: less than the CLI's 30 s, more than the server's bound
CLIENT_WAIT = 20.0


class Relay:
    """Forwards TCP connections from a loopback port to `target` until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        self.open = False
        with suppress(OSError):  # wakes the accepting thread: the port stops listening
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@contextmanager
def relay_to(url: str) -> Iterator[tuple[Relay, str]]:
    """A relay to the database of a postgresql://USER@127.0.0.1:PORT/DB URL, and the
    same URL through the relay."""
    head, _, rest = url.rpartition("@")
    hostport, _, database = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    relay = Relay((host, int(port)))
    try:
        yield relay, f"{head}@127.0.0.1:{relay.port}/{database}"
    finally:
        relay.cut()


def test_a_server_whose_database_is_gone_answers_503_before_clients_give_up(
    tmp_path: Path, pg_url: str
) -> None:
    with relay_to(pg_url) as (relay, url), running_server(tmp_path, db=url) as server:
        token = server.token(STORE)
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=CLIENT_WAIT,
        ) as client:
            assert client.get(f"/v1/stores/{STORE}").status_code == 200
            relay.cut()  # PostgreSQL stopped, or its host unreachable
            for path in (f"/v1/stores/{STORE}", f"/v1/stores/{STORE}/skus"):
                response = client.get(path)  # a ReadTimeout here fails the test
                assert response.status_code == 503, response.text
                assert response.json()["error"] == "unavailable"
                assert "unavailable" in response.json()["message"]
                assert "password" not in response.text
            # and the server keeps running: nothing else broke
            assert server.process.poll() is None
