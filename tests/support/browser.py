"""Headless Chromium driven over the DevTools protocol, for tests of generated pages.

`Chromium` starts the browser with `--remote-debugging-pipe` (JSON messages ending
in NUL on file descriptors 3 and 4) and opens pages in a tab whose network events it
records: `visit(url)` returns every URL the page asked for, and `evaluate(expr)` runs
an expression in the page (DevTools evaluation is not subject to the page's CSP).
Only what the page itself requests is recorded, not the browser's own background
traffic.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 60.0


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Visit:
    url: str
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


class Chromium:
    def __init__(self, executable: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="storecfg-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "about:blank",
        ]
        self._log = open(os.path.join(self.profile, "stderr.log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', executable, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ protocol

    def _send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium exited: {self._stderr()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._read(deadline)
            if message is None:
                raise TimeoutError(f"no answer to {method}")
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self._events
        ):
            message = self._read(deadline)
            if message is None:
                raise TimeoutError(f"no {method}")
            self._events.append(message)

    # ------------------------------------------------------------------ pages

    def visit(self, url: str) -> tuple[Visit, str]:
        """Open url in a new tab until its load event; returns what it requested and the
        tab's session (for evaluate)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]  # fmt: skip
        self.call("Network.enable", session=session)
        self.call("Page.enable", session=session)
        self.call("Runtime.enable", session=session)
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self._wait_for("Page.loadEventFired", session)
        visit = Visit(url)
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            if event.get("method") == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif event.get("method") == "Runtime.consoleAPICalled":
                visit.console.append(json.dumps(params.get("args")))
            elif event.get("method") == "Log.entryAdded":
                visit.console.append(params.get("entry", {}).get("text", ""))
        return visit, session

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    # ------------------------------------------------------------------ lifetime

    def _stderr(self) -> str:
        self._log.flush()
        with open(self._log.name, "rb") as fh:
            return fh.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        try:
            self._send("Browser.close")
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            self._log.close()
            os.close(self._to_browser)
            os.close(self._from_browser)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
