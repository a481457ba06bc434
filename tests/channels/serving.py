"""A real ``mkoba serve`` in a subprocess, for tests that talk to it as the world does.

Each server gets a free port, a temporary store (SQLite) and keys, demo data,
and any extra ``MKOBA_*`` settings; it is stopped by its pid. ``rows`` reads its
database directly (SQLite in WAL mode lets a reader in while the server writes).
``handset`` pairs a test with one simulated handset, ``handsets`` with all of
them, as a developer holding the server's keys directory may.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mkoba.parties import InvalidMsisdn, normalize_msisdn
from mkoba.parties.handsets import HandsetKey

start_timeout_s = 90.0
KENYA = Path(__file__).parents[2] / "src/mkoba/catalog/profiles/kenya.yaml"


@dataclass
class Served:
    """A running server: where it answers, its store and its log."""

    url: str
    db: Path
    log: Path
    pid: int

    @property
    def keys(self) -> Path:
        """The server's keys directory."""
        return self.db.parent / "keys"

    def handset(self, msisdn: str) -> dict[str, str]:
        """The header of ``msisdn``'s simulated handset (canonical number), as ``mkoba phone``."""
        return HandsetKey.load(self.keys).credential(msisdn).header()

    @property
    def handsets(self) -> httpx.Auth:
        """An ``auth`` for a client that plays every handset: each reads its own inbox."""
        return _Handsets(HandsetKey.load(self.keys))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows from the server's database (read-only)."""
        connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return list(connection.execute(sql, tuple(params)))
        finally:
            connection.close()


_HANDSET_PATH = re.compile(r"^/api/v1/(?:sms|stk)/([0-9+]+)(?:/pending)?$")


class _Handsets(httpx.Auth):
    """Signs a request for a number's inbox or prompts with that number's credential."""

    def __init__(self, key: HandsetKey) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        found = _HANDSET_PATH.match(request.url.path)
        if found is not None:
            with contextlib.suppress(InvalidMsisdn):  # not a number: the server says so
                request.headers.update(self.key.credential(normalize_msisdn(found[1])).header())
        yield request


def free_port() -> int:
    """A TCP port nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def profile_with(folder: Path, **deadlines: int) -> Path:
    """The Kenya profile with other response-delivery deadlines (e.g. ``sms=2``)."""
    text = KENYA.read_text(encoding="utf-8")
    for channel, seconds in deadlines.items():
        text, count = re.subn(rf"(\n\s+{channel}: )[0-9]+", rf"\g<1>{seconds}", text, count=1)
        assert count == 1, channel
    path = folder / "kenya-test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def serve(
    folder: Path,
    log_name: str = "serve.log",
    *,
    until: str = "/health",
    **settings: str,
) -> Iterator[Served]:
    """``mkoba serve`` on a free port until the block ends (its output in ``log_name``).

    It has started once ``until`` answers 200: ``/health`` (every part works) by
    default, ``/health/live`` for a process that cannot be ready yet (a front with
    no core).
    """
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
    env.update({f"MKOBA_{key.upper()}": value for key, value in settings.items()})
    env.setdefault("MKOBA_KEYS_DIR", str(folder / "keys"))
    env.setdefault("MKOBA_CONSOLE_PORT", "0")  # any free port: servers may run side by side
    log = folder / log_name
    db = folder / "mkoba.db"
    command = [
        sys.executable,
        "-c",
        "from mkoba.cli import main; main()",
        "serve",
        "--db",
        str(db),
        "--port",
        str(port),
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + until, process, log)
        yield Served(url, db, log, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mkoba serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"mkoba serve did not come up: {log.read_text(errors='replace')[-2000:]}")
