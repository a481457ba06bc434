"""``mkoba bench daraja``: STK push to callback round trips, beside the stateless daraja-mock.

Method (bench/RESULTS.md records the figures):

- A real ``mkoba serve`` (uvicorn, SQLite in a temporary directory, demo data),
  started here on a free port, the sandbox answering every demo customer's
  prompt at once (``daraja_sandbox_msisdns=2547120*``, no delay) with the PIN.
  ``--store postgresql`` serves a scratch PostgreSQL schema instead (dropped
  after); ``--split nats://...`` measures each store again as two processes, a
  core and a Daraja front on a NATS prefix of their own. Each form gets a fresh
  store; ``--rounds`` repeats them all, interleaved; each result names its form
  and its round trips over the first form's (``form_ratio``).
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
from collections.abc import Sequence
from pathlib import Path

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

from mkoba.bench.daraja_phases import Phase, measure
from mkoba.bench.daraja_servers import PEER, serve_mkoba, serve_peer, serve_split
from mkoba.bench.stores import scratch_store

CUSTOMERS = 1000
FIRST_CUSTOMER = 254712000001
PIN = "1357"
CONSUMER_KEY = "mkobaSandboxConsumerKey0000000000000000000000001"
CONSUMER_SECRET = "mkobaSandboxConsumerSecret000000000000000000000000000000000000001"  # noqa: S105
# A client holds at least this (minor units): thousands of KES 1 pushes.
FUNDS_MIN = 500_000
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


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
    servers = saturated.servers_cpu_ms_per_round_trip()
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
        # The mkoba (or peer) processes' own CPU, commit processes included; not the
        # database's or NATS's.
        "servers_own_cpu_ms_per_rt": round(servers, 3) if servers is not None else None,
    }


def run(
    seconds: float,
    clients: int,
    peer: bool,
    console: Console,
    json_lines: bool,
    split: str | None = None,
    stores: Sequence[str] = ("sqlite",),
    rounds: int = 1,
    postgres_url: str = DEFAULT_POSTGRES,
) -> list[dict[str, object]]:
    """Every form, round after round, then the peer; one result per form and round.

    ``stores``: each is measured with ``mkoba serve`` in one process; ``split`` (a
    NATS server URL): each again as a core and a front process on it.
    """
    forms = [(store, False) for store in stores] + [(store, True) for store in stores if split]
    results: list[dict[str, object]] = []
    phases: list[tuple[str, int, tuple[Phase, Phase, Phase | None]]] = []
    customers: list[int] = []
    for round_number in range(1, rounds + 1):
        first: float | None = None
        for store, is_split in forms:
            with (
                tempfile.TemporaryDirectory(prefix="mkoba-bench-daraja-") as name,
                scratch_store(store, postgres_url) as db,
            ):
                folder = Path(name)
                serving = serve_split(folder, db, split) if split and is_split else None
                with serving or serve_mkoba(folder, db) as url:
                    customers = uvloop.run(_customers(url, clients))
                    ours = measure(url, _token(url), customers, True, seconds)
            form = f"{store}, {'core + front on NATS' if is_split else 'one process'}"
            first = first or ours[0].per_s
            result: dict[str, object] = {
                "what": "STK push until the client knows the outcome: the callback (mkoba),"
                " the STK query after the push (daraja-mock, which sends none)",
                **_figures(*ours),
                "clients": len(customers),
                "seconds": seconds,
                "store": store,
                "processes": "core + front on NATS" if is_split else "one",
                "form": form,
                "round": round_number,
                "form_ratio": round(ours[0].per_s / max(first, 1e-9), 3),
            }
            results.append(result)
            phases.append((form, round_number, ours))
    if peer:
        with (
            tempfile.TemporaryDirectory(prefix="mkoba-bench-daraja-") as name,
            serve_peer(Path(name), console) as url,
        ):
            theirs = measure(url, "mock", customers, False, seconds)
        _compare_to_peer(results, theirs)
        phases.append((PEER, 1, theirs))
    if json_lines:
        for result in results:
            print(json.dumps(result))
        return results
    _print(console, phases, results, rounds)
    return results


def _compare_to_peer(
    results: list[dict[str, object]], theirs: tuple[Phase, Phase, Phase | None]
) -> None:
    """Each result's ratio to daraja-mock's round trips (and to its push answers alone)."""
    peer_figures = _figures(*theirs)
    push_only = theirs[2] or theirs[0]
    for result in results:
        ours = float(result["tx_per_s"])  # type: ignore[arg-type]
        result["peer"] = {"name": PEER, **peer_figures}
        result["ratio"] = round(ours / max(theirs[0].per_s, 1e-9), 2)
        result["ratio_to_push_answers"] = round(ours / max(push_only.pushes_per_s, 1e-9), 2)


def _print(
    console: Console,
    phases: list[tuple[str, int, tuple[Phase, Phase, Phase | None]]],
    results: list[dict[str, object]],
    rounds: int,
) -> None:
    table = Table(
        title="STK push until the outcome is known: mkoba (callback), daraja-mock (query)"
    )
    for column in (
        "server",
        "round",
        "phase",
        "round trips/s",
        "pushes/s",
        "p50 ms",
        "p99 ms",
        "failed",
    ):
        table.add_column(column, justify="right")
    for server, round_number, measured in phases:
        for phase in measured:
            if phase is None:
                continue
            table.add_row(
                server,
                str(round_number),
                phase.name,
                f"{phase.per_s:,.0f}",
                f"{phase.pushes_per_s:,.0f}",
                f"{phase.percentile(0.5):.1f}",
                f"{phase.percentile(0.99):.1f}",
                str(phase.failed),
            )
    console.print(table)
    for server, _, measured in phases:
        failures: Counter[str] = sum(
            (phase.failures for phase in measured if phase is not None), Counter()
        )
        if failures:
            reasons = ", ".join(f"{reason}: {count}" for reason, count in failures.most_common())
            console.print(f"{server} failures: {reasons}")
    sums: dict[str, float] = {}
    for result in results:
        form = str(result["form"])
        sums[form] = sums.get(form, 0.0) + float(result["tx_per_s"])  # type: ignore[arg-type]
    first = next(iter(sums), None)
    for form, total in sums.items():
        if form != first and first is not None:
            console.print(
                f"{form} / {first}: [bold]{total / sums[first]:.2f}x[/] round trips"
                f" ({total / rounds:,.0f}/s a round; the sums of {rounds} round(s))"
            )
    for result in results:
        if "ratio" in result:
            console.print(
                f"{result['form']}, round {result['round']} / daraja-mock: {result['ratio']}x"
                f" round trips ({result['ratio_to_push_answers']}x its push answers alone)"
            )
