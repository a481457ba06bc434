"""``mkoba bench daraja``: STK push to callback round trips, beside the stateless daraja-mock.

Method (bench/RESULTS.md records the figures):

- A real ``mkoba serve`` (uvicorn, SQLite in a temporary directory, demo data),
  started here on a free port, the sandbox answering every demo customer's
  prompt at once (``daraja_sandbox_msisdns=2547120*``, no delay) with the PIN.
- Each virtual client is one demo customer with money and one keep-alive
  connection: it pushes KES 1 to paybill 174379 and waits for the
  ``stkCallback`` at a loopback listener in this process. A round trip is
  push sent to callback received: HTTP, OAuth-checked push, the prompt stored,
  the PIN checked by TranProc, the payment committed and posted, the callback
  rendered in the commit, sent from the outbox, received.
- Phase 1 (saturation): ``--clients`` clients back to back: round trips per second.
- Phase 2 (half load): paced to half that rate; p99 there is the service figure.
- The peer, daraja-mock 1.0.5 (from PyPI, installed only as a peer into
  ``var/bench-peers``; its licence forbids copying its code), runs the same
  clients. It stores nothing and sends no callback, so a client learns a
  push's outcome by querying: its round trip is the push and the STK query
  (``tx_per_s``); its push answers alone are reported too (``push_per_s``).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

from mkoba.bench.daraja_phases import Phase, measure
from mkoba.bench.daraja_servers import PEER, serve_mkoba, serve_peer, serve_split

CUSTOMERS = 1000
FIRST_CUSTOMER = 254712000001
PIN = "1357"
CONSUMER_KEY = "mkobaSandboxConsumerKey0000000000000000000000001"
CONSUMER_SECRET = "mkobaSandboxConsumerSecret000000000000000000000000000000000000001"  # noqa: S105
# A client holds at least this (minor units): thousands of KES 1 pushes.
FUNDS_MIN = 500_000


async def _customers(url: str, count: int) -> list[int]:
    """Demo customers with money (read through the native API, untimed)."""
    found: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
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
            if len(found) >= count:
                return found[:count]
    if not found:
        raise RuntimeError("no demo customer has money")
    return found


def _token(url: str) -> str:
    answer = httpx.get(
        f"{url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
        timeout=10.0,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _figures(saturated: Phase, half: Phase, pushes: Phase | None) -> dict[str, object]:
    cpu = saturated.cpu_ms_per_round_trip()
    return {
        "tx_per_s": round(saturated.per_s, 1),
        "push_per_s": round((pushes or saturated).pushes_per_s, 1),
        "p99_ms": round(half.percentile(0.99), 2),
        "p50_ms": round(half.percentile(0.50), 2),
        "half_load_tx_per_s": round(half.per_s, 1),
        "saturated_p50_ms": round(saturated.percentile(0.50), 2),
        "saturated_p99_ms": round(saturated.percentile(0.99), 2),
        "failed": saturated.failed + half.failed,
        "failures": dict(saturated.failures + half.failures),
        # At saturation: the CPU the server (and anything else running) spent per round
        # trip, and the load generator's; the machine's cores are shared between them.
        "server_cpu_ms_per_rt": round(cpu[0], 3) if cpu else None,
        "generator_cpu_ms_per_rt": round(cpu[1], 3) if cpu else None,
    }


def run(
    seconds: float,
    clients: int,
    peer: bool,
    console: Console,
    json_lines: bool,
    split: str | None = None,
) -> dict[str, object]:
    """Both servers, both phases; the figures (also printed).

    ``split``: a NATS server URL; mkoba then runs as a core and a front process.
    """
    with tempfile.TemporaryDirectory(prefix="mkoba-bench-daraja-") as name:
        folder = Path(name)
        serving = serve_split(folder, split) if split else serve_mkoba(folder)
        with serving as url:
            customers = uvloop.run(_customers(url, clients))
            ours = measure(url, _token(url), customers, True, seconds)
        theirs = None
        if peer:
            with serve_peer(folder, console) as url:
                theirs = measure(url, "mock", customers, False, seconds)
    result: dict[str, object] = {
        "what": "STK push until the client knows the outcome: the callback (mkoba),"
        " the STK query after the push (daraja-mock, which sends none)",
        **_figures(*ours),
        "clients": len(customers),
        "seconds": seconds,
        "processes": "core + front on NATS" if split else "one",
    }
    if theirs is not None:
        peer_figures = _figures(*theirs)
        result["peer"] = {"name": PEER, **peer_figures}
        result["ratio"] = round(ours[0].per_s / max(theirs[0].per_s, 1e-9), 2)
        push_only = theirs[2] or theirs[0]
        result["ratio_to_push_answers"] = round(
            ours[0].per_s / max(push_only.pushes_per_s, 1e-9), 2
        )
    if json_lines:
        print(json.dumps(result))
        return result
    table = Table(
        title="STK push until the outcome is known: mkoba (callback), daraja-mock (query)"
    )
    for column in ("server", "phase", "round trips/s", "pushes/s", "p50 ms", "p99 ms", "failed"):
        table.add_column(column, justify="right")
    for server, phases in (("mkoba", ours), (PEER, theirs)):
        if phases is None:
            continue
        for phase in phases:
            if phase is None:
                continue
            table.add_row(
                server,
                phase.name,
                f"{phase.per_s:,.0f}",
                f"{phase.pushes_per_s:,.0f}",
                f"{phase.percentile(0.5):.1f}",
                f"{phase.percentile(0.99):.1f}",
                str(phase.failed),
            )
    console.print(table)
    for server, phases in (("mkoba", ours), (PEER, theirs)):
        failures: Counter[str] = sum(
            (phase.failures for phase in phases or () if phase is not None), Counter()
        )
        if failures:
            reasons = ", ".join(f"{reason}: {count}" for reason, count in failures.most_common())
            console.print(f"{server} failures: {reasons}")
    if "ratio" in result:
        console.print(
            f"mkoba / daraja-mock: {result['ratio']}x round trips"
            f" ({result['ratio_to_push_answers']}x its push answers alone)"
        )
    return result
