"""``mkoba bench ussd``: complete send-money USSD sessions through the HTTP endpoint.

Method (bench/RESULTS.md records the figures):

- A real ``mkoba serve`` (uvicorn, SQLite in a temporary directory, demo data),
  started here on a free port, or an already running server (``--url``).
- Each virtual user holds one keep-alive connection and plays the Africa's
  Talking gateway: dial ``*334#``, ``1`` Send Money, the recipient, the amount
  (the server looks the name up: Hakikisha), the PIN. Five hops; the last runs
  send_money through TranProc and the ledger, and the answer acknowledges it.
- Senders are the demo customers holding at least Ksh5,000 (read through the
  API before the clock starts), recipients any demo customer, Ksh10 a time.
- Phase 1 (saturation): ``--users`` users, no pause: the most hops per second.
- Phase 2 (half load): the same users paced to half that rate; latency
  percentiles there are the service figures (p99 at most 50 ms is the target).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

from mkoba.bench.http import Connection
from mkoba.bench.measure import phase_percentile
from mkoba.bench.servers import free_port

CUSTOMERS = 1000
FIRST_CUSTOMER = 254712000001
PIN = "1357"
AMOUNT = "10"
# Both languages' final screen starts with the amount.
SUCCESS = b"END Ksh10.00 "
# Senders hold at least this (minor units): enough for a few hundred Ksh10 sends.
FUNDS_MIN = 500_000
server_start_timeout_s = 60.0


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    seconds: float
    hops: int
    sessions: int
    failed_sessions: int
    latencies_ms: list[float] = field(repr=False)

    @property
    def hops_per_s(self) -> float:
        """Hops answered per second."""
        return self.hops / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """A latency percentile (ms)."""
        return phase_percentile(self.latencies_ms, fraction)


@contextlib.contextmanager
def serve(console: Console) -> Iterator[str]:
    """A fresh ``mkoba serve`` on a free port with a temporary store; its URL."""
    with tempfile.TemporaryDirectory(prefix="mkoba-bench-ussd-") as folder:
        port = free_port()
        env = dict(
            os.environ,
            MKOBA_KEYS_DIR=str(Path(folder) / "keys"),
            MKOBA_LOG_LEVEL="warning",
            MKOBA_CONSOLE_PORT="0",
            MKOBA_RISK_RULES="false",  # the channel measured, not the rules
        )
        command = [
            sys.executable,
            "-c",
            "from mkoba.cli import main; main()",
            "serve",
            "--db",
            str(Path(folder) / "mkoba.db"),
            "--port",
            str(port),
        ]
        log = open(Path(folder) / "serve.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_up(url, process)
            console.print(f"[dim]mkoba serve on {url} (pid {process.pid})[/dim]")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + server_start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mkoba serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("mkoba serve did not come up")


async def _user(
    index: int,
    senders: list[int],
    host: str,
    port: int,
    stop_at: float,
    interval_s: float,
    latencies: list[float],
    counts: list[int],
) -> None:
    """One virtual user: sessions back to back until ``stop_at``."""
    connection = Connection(host, port)
    await connection.open()
    session = 0
    next_hop = time.perf_counter()
    try:
        while time.perf_counter() < stop_at:
            sender = senders[(index * 7919 + session) % len(senders)]
            recipient = FIRST_CUSTOMER + (sender - FIRST_CUSTOMER + 1) % CUSTOMERS
            session_id = f"bench-{index}-{session}-{uuid.uuid4().hex[:8]}"
            inputs = ["1", "0" + str(recipient)[3:], AMOUNT, PIN]
            path: list[str] = []
            answer = b""
            for step in range(len(inputs) + 1):
                if step:
                    path.append(inputs[step - 1])
                if interval_s:
                    delay = next_hop - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_hop = max(next_hop + interval_s, time.perf_counter() - interval_s)
                body = urlencode(
                    {
                        "sessionId": session_id,
                        "serviceCode": "*334#",
                        "phoneNumber": f"+{sender}",
                        "networkCode": "63902",
                        "text": "*".join(path),
                    }
                ).encode()
                started = time.perf_counter()
                status, answer = await connection.post_form("/ussd/at", body)
                latencies.append((time.perf_counter() - started) * 1000)
                counts[0] += 1
                if status != 200 or (answer.startswith(b"END ") and step < len(inputs)):
                    break
            counts[1] += 1
            if not answer.startswith(SUCCESS):
                counts[2] += 1
            session += 1
    finally:
        await connection.close()


async def _phase(
    name: str, url: str, senders: list[int], users: int, seconds: float, rate: float
) -> Phase:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    counts = [0, 0, 0]
    interval_s = users / rate if rate else 0.0
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(
            _user(i, senders, host, port, stop_at, interval_s, latencies, counts)
            for i in range(users)
        )
    )
    elapsed = time.perf_counter() - started
    return Phase(name, elapsed, counts[0], counts[1], counts[2], latencies)


async def _senders(url: str) -> list[int]:
    """Demo customers holding enough for a few thousand sends (read through the API, untimed).

    The demo's history leaves balances uneven (and agents' floats too low to cash
    everyone in), so the bench sends from whoever has the money.
    """
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        found: list[int] = []
        for start in range(0, CUSTOMERS, 50):
            numbers = [FIRST_CUSTOMER + i for i in range(start, min(CUSTOMERS, start + 50))]
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/balance", json={"msisdn": str(n), "pin": PIN})
                    for n in numbers
                )
            )
            for number, answer in zip(numbers, answers, strict=True):
                ok = answer.status_code == 200
                if ok and answer.json()["data"]["balance_minor"] >= FUNDS_MIN:
                    found.append(number)
    if len(found) < 2:
        raise RuntimeError("no demo customer has money to send")
    return found


def run(
    url: str | None,
    users: int,
    seconds: float,
    console: Console,
    json_lines: bool,
) -> dict[str, float]:
    """Both phases; the figures (also printed)."""
    with contextlib.ExitStack() as stack:
        target = url or stack.enter_context(serve(console))
        senders = uvloop.run(_senders(target))
        uvloop.run(_phase("warm-up", target, senders, users, min(2.0, seconds), 0.0))
        saturated = uvloop.run(_phase("saturation", target, senders, users, seconds, 0.0))
        rate = saturated.hops_per_s / 2
        half = uvloop.run(_phase("half load", target, senders, users, seconds, rate))
    result = {
        "hops_per_s": round(saturated.hops_per_s, 1),
        "sessions_per_s": round(saturated.sessions / saturated.seconds, 1),
        "p99_ms": round(half.percentile(0.99), 2),
        "p50_ms": round(half.percentile(0.50), 2),
        "half_load_hops_per_s": round(half.hops_per_s, 1),
        "saturated_p50_ms": round(saturated.percentile(0.50), 2),
        "saturated_p99_ms": round(saturated.percentile(0.99), 2),
        "failed_sessions": saturated.failed_sessions + half.failed_sessions,
        "sessions": saturated.sessions + half.sessions,
        "users": users,
        "seconds": seconds,
    }
    if json_lines:
        print(json.dumps(result))
        return result
    table = Table(title="USSD send-money sessions (5 hops each) through POST /ussd/at")
    for column in ("phase", "hops/s", "sessions/s", "p50 ms", "p99 ms", "failed"):
        table.add_column(column, justify="right")
    for phase in (saturated, half):
        table.add_row(
            phase.name,
            f"{phase.hops_per_s:,.0f}",
            f"{phase.sessions / phase.seconds:,.0f}",
            f"{phase.percentile(0.5):.1f}",
            f"{phase.percentile(0.99):.1f}",
            str(phase.failed_sessions),
        )
    console.print(table)
    return result
