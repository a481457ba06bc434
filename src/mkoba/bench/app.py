"""``mkoba bench app``: QR payments through the validation server and TranProc, beside native sends.

Method (bench/RESULTS.md records the figures):

- A real ``mkoba serve`` (uvicorn, SQLite in a temporary directory, demo data) on a
  free port. Demo customers with money are the payers; each is paired with another
  demo customer, the payee. Every phone is bound as a person binds it (SMS code,
  PIN, device key), untimed.
- ``native``: each virtual user sends Ksh1 with ``POST /api/v1/send-money`` (PIN).
- ``app``: each virtual user pays Ksh1 codes its payee issued just before the phase
  (``POST /app/api/v1/codes``, untimed): one signed ``POST /app/api/v1/pay`` with the
  PIN, through the validation server (signature, counter, code, one-time token) and
  TranProc. This is the payment; showing a code happens before the payer arrives. The
  payer's requests are signed ahead (the phone signs on the phone): the timed phase
  measures the platform, not the load generator's ECDSA signing on the shared cores.
- ``app_flow``: the whole exchange per payment, as two phones do it: issue, read, pay.
- The modes alternate within one run (rounds), each saturated (closed loop, no pause)
  and then paced at half its saturated rate, where p99 is the service figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

from mkoba.bench.app_phones import PREFIX, Phone
from mkoba.bench.http import Connection
from mkoba.bench.measure import phase_percentile
from mkoba.bench.servers import free_port, running

CUSTOMERS = 1000
FIRST_CUSTOMER = 254712000001
PIN = "1357"
# Ksh1: free to send, so a payer's money lasts thousands of payments.
AMOUNT_MINOR = 100
# Payers hold at least this (minor units): thousands of payments of Ksh1.
FUNDS_MIN = 500_000
MODES = ("native", "app", "app_flow")


@dataclass
class Phase:
    """What one mode measured in one phase."""

    mode: str
    load: str
    seconds: float
    done: int
    failed: int
    latencies_ms: list[float] = field(repr=False)
    # Why the failed payments failed: "status code", counted.
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def tx_per_s(self) -> float:
        """Payments completed per second."""
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """A latency percentile (ms) of one payment's timed request(s)."""
        return phase_percentile(self.latencies_ms, fraction)


@dataclass
class Pair:
    """A payer and a payee, bound, with codes the payee issued for the payer to pay."""

    payer: Phone
    payee: Phone
    # The payer's pay requests for those codes, signed ahead (body, headers), next last.
    pays: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@contextlib.contextmanager
def serve(console: Console) -> Iterator[tuple[str, Path]]:
    """A fresh ``mkoba serve`` with demo data; its URL and keys directory."""
    with tempfile.TemporaryDirectory(prefix="mkoba-bench-app-") as folder:
        keys = Path(folder) / "keys"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MKOBA_")}
        env.update(MKOBA_KEYS_DIR=str(keys), MKOBA_LOG_LEVEL="warning", MKOBA_CONSOLE_PORT="0")
        env.update(MKOBA_RISK_RULES="false")  # the channel measured, not the rules
        command = [sys.executable, "-c", "from mkoba.cli import main; main()", "serve"]
        command += ["--db", str(Path(folder) / "mkoba.db"), "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        with running(command, env, Path(folder) / "serve.log", url, "/health") as (url, pid):
            console.print(f"[dim]mkoba serve on {url} (pid {pid})[/dim]")
            yield url, keys


async def _payers(client: httpx.AsyncClient, wanted: int) -> list[str]:
    """Demo customers holding enough to pay (read through the API, untimed)."""
    found: list[str] = []
    for start in range(0, CUSTOMERS, 50):
        numbers = [str(FIRST_CUSTOMER + i) for i in range(start, min(CUSTOMERS, start + 50))]
        answers = await asyncio.gather(
            *(client.post("/api/v1/balance", json={"msisdn": n, "pin": PIN}) for n in numbers)
        )
        for number, answer in zip(numbers, answers, strict=True):
            if answer.status_code == 200 and answer.json()["data"]["balance_minor"] >= FUNDS_MIN:
                found.append(number)
        if len(found) >= wanted:
            return found[:wanted]
    raise RuntimeError(f"only {len(found)} demo customers can pay; {wanted} wanted")


async def _pairs(url: str, keys: Path, users: int) -> list[Pair]:
    """``users`` payer/payee pairs, every phone bound."""
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        payers = await _payers(client, users)
        taken = set(payers)
        payees = [str(n) for n in range(FIRST_CUSTOMER, FIRST_CUSTOMER + CUSTOMERS)]
        payees = [n for n in payees if n not in taken][:users]
        pairs = [Pair(Phone(a), Phone(b)) for a, b in zip(payers, payees, strict=True)]
        phones = [phone for pair in pairs for phone in (pair.payer, pair.payee)]
        for start in range(0, len(phones), 16):
            await asyncio.gather(*(p.enrol(client, keys, PIN) for p in phones[start : start + 16]))
    return pairs


async def _issue(pair: Pair, connection: Connection) -> str:
    status, body = await pair.payee.call(
        connection, "/codes", {"amount": AMOUNT_MINOR, "reference": "BENCH"}
    )
    if status != 201:
        raise RuntimeError(f"issuing a code failed: {status} {body}")
    return str(body["payload"])


Step = Callable[[Pair, Connection, list[float]], Awaitable[str]]


async def _native(pair: Pair, connection: Connection, latencies: list[float]) -> str:
    body = json.dumps(
        {
            "msisdn": pair.payer.msisdn,
            "pin": PIN,
            "to": pair.payee.msisdn,
            "amount_minor": AMOUNT_MINOR,
        }
    ).encode()
    started = time.perf_counter()
    status, answer = await connection.post(
        "/api/v1/send-money", body, {"Content-Type": "application/json"}
    )
    latencies.append((time.perf_counter() - started) * 1000)
    return _outcome(status, answer)


async def _app(pair: Pair, connection: Connection, latencies: list[float]) -> str:
    if not pair.pays:
        raise RuntimeError("the payer ran out of codes: issue more before the phase")
    body, headers = pair.pays.pop()
    started = time.perf_counter()
    status, answer = await connection.post(PREFIX + "/pay", body, headers)
    latencies.append((time.perf_counter() - started) * 1000)
    return _outcome(status, answer)


async def _app_flow(pair: Pair, connection: Connection, latencies: list[float]) -> str:
    started = time.perf_counter()
    payload = await _issue(pair, connection)
    status, answer = await pair.payer.call(connection, "/codes/read", {"payload": payload})
    if status == 200:
        status, answer = await pair.payer.call(connection, "/pay", {"payload": payload, "pin": PIN})
    latencies.append((time.perf_counter() - started) * 1000)
    return _outcome(status, answer)


def _outcome(status: int, answer: Any) -> str:
    """'' for a success, else why it failed: the status and the answer's code."""
    if status == 200:
        return ""
    if isinstance(answer, bytes):
        with contextlib.suppress(ValueError):
            answer = json.loads(answer)
    code = ""
    if isinstance(answer, dict):
        code = str(answer.get("code") or answer.get("error", {}).get("code", ""))
    return f"{status} {code}".strip()


STEPS: dict[str, Step] = {"native": _native, "app": _app, "app_flow": _app_flow}


async def _phase(
    mode: str, load: str, url: str, pairs: list[Pair], seconds: float, rate: float
) -> Phase:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    counts = [0, 0]
    failures: dict[str, int] = {}
    interval_s = len(pairs) / rate if rate else 0.0
    step = STEPS[mode]

    async def user(pair: Pair) -> None:
        connection = Connection(host, port)
        await connection.open()
        next_at = time.perf_counter()
        try:
            while time.perf_counter() < stop_at:
                if interval_s:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at = max(next_at + interval_s, time.perf_counter() - interval_s)
                why = await step(pair, connection, latencies)
                counts[1 if why else 0] += 1
                if why:
                    failures[why] = failures.get(why, 0) + 1
        finally:
            await connection.close()

    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(user(pair) for pair in pairs))
    elapsed = time.perf_counter() - started
    return Phase(mode, load, elapsed, counts[0], counts[1], latencies, failures)


async def _stock(url: str, pairs: list[Pair], each: int) -> None:
    """Each payee issues ``each`` codes for its payer, and the payer signs a pay request
    for each ahead (untimed): as a phone signs on the phone, the load generator's own
    ECDSA signing is kept out of the timed phase, which measures the platform."""
    parts = urlsplit(url)

    async def payee(pair: Pair) -> None:
        connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        await connection.open()
        try:
            codes = [await _issue(pair, connection) for _ in range(each)]
        finally:
            await connection.close()
        path = PREFIX + "/pay"
        signed = []
        for payload in codes:  # in the order they are paid: counters go up
            body = json.dumps({"payload": payload, "pin": PIN}).encode()
            signed.append((body, pair.payer.headers("POST", path, body)))
        pair.pays = signed[::-1]  # popped from the end

    await asyncio.gather(*(payee(pair) for pair in pairs))


async def _run(url: str, keys: Path, users: int, seconds: float, rounds: int) -> list[Phase]:
    pairs = await _pairs(url, keys, users)
    phases: list[Phase] = []
    await _phase("native", "warm-up", url, pairs, min(2.0, seconds), 0.0)
    for _ in range(rounds):
        for mode in MODES:
            if mode == "app":  # enough codes for a saturated phase at native speed and more
                native = max((p.tx_per_s for p in phases if p.mode == "native"), default=500.0)
                await _stock(url, pairs, int(native * seconds * 1.5 / users) + 20)
            saturated = await _phase(mode, "saturation", url, pairs, seconds, 0.0)
            phases.append(saturated)
            if mode == "app":
                await _stock(url, pairs, int(saturated.tx_per_s * seconds / users) + 20)
            phases.append(
                await _phase(mode, "half load", url, pairs, seconds, saturated.tx_per_s / 2)
            )
    return phases


def _best(phases: list[Phase], mode: str) -> tuple[Phase, Phase]:
    """A mode's best saturated phase and the half-load phase after it."""
    ordered = [p for p in phases if p.mode == mode]
    index = max(range(0, len(ordered), 2), key=lambda i: ordered[i].tx_per_s)
    return ordered[index], ordered[index + 1]


def _merged(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for one in counts:
        for why, count in one.items():
            merged[why] = merged.get(why, 0) + count
    return merged


def run(users: int, seconds: float, rounds: int, console: Console, json_lines: bool) -> None:
    """Every mode, alternating; the figures as a table or JSON lines."""
    with serve(console) as (url, keys):
        phases = uvloop.run(_run(url, keys, users, seconds, rounds))
    results = []
    for mode in MODES:
        saturated, half = _best(phases, mode)
        results.append(
            {
                "mode": mode,
                "tx_per_s": round(saturated.tx_per_s, 1),
                "p99_ms": round(half.percentile(0.99), 2),
                "p50_ms": round(half.percentile(0.50), 2),
                "saturated_p99_ms": round(saturated.percentile(0.99), 2),
                "failed": sum(p.failed for p in phases if p.mode == mode),
                "failures": _merged(p.failures for p in phases if p.mode == mode),
                "users": users,
                "seconds": seconds,
                "rounds": [
                    round(p.tx_per_s, 1)
                    for p in phases
                    if p.mode == mode and p.load == "saturation"
                ],
            }
        )
    app, native = float(str(results[1]["tx_per_s"])), float(str(results[0]["tx_per_s"]))
    ratio = app / native if native else 0.0
    if json_lines:
        for result in results:
            print(json.dumps(result))
        print(json.dumps({"app_vs_native": round(float(ratio), 3)}))
        return
    table = Table(title="QR payments through the validation server vs native sends (Ksh1 each)")
    for column in ("mode", "tx/s (best round)", "rounds", "p50 ms ½", "p99 ms ½", "failed"):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            str(result["mode"]),
            f"{result['tx_per_s']:,.0f}",
            str(result["rounds"]),
            f"{result['p50_ms']:.1f}",
            f"{result['p99_ms']:.1f}",
            str(result["failed"]),
        )
    console.print(table)
    for result in results:
        if result["failures"]:
            console.print(f"{result['mode']} failures: {result['failures']}")
    console.print(f"app / native: {ratio:.2f}x (target at least 0.80x; p99 at most 50 ms)")
