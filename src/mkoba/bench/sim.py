"""``mkoba bench sim``: secured SIM transactions per second, SIM -> SMSC -> mkoba -> SMSC -> SIM.

Method (bench/RESULTS.md records the figures):

- The SMSC is the npm ``smpp`` server of the tests (tests/channels/sms/peer, ``npm ci``
  there first), started on free ports. A real ``mkoba serve`` (uvicorn, SQLite in a
  temporary directory, demo data) binds to it (``MKOBA_SMPP``).
- Before the server starts, ``mkoba sims provision`` gives the first demo customers a
  SIM each on its store. Of those, ``--users`` holding at least Ksh1,000 (read through
  the API, untimed) are the phones, in a ring: each sends Ksh1 to the next, so every
  balance stays level. Their keys come from the master key in the server's keys
  directory, as a personaliser's do.
- Each phone is a closed-loop user: its SIM seals "send Ksh1, PIN" (AES-GCM, its own
  counter; ``sim_envelope``), the phone sends it as SIM data MO through the peer's
  control API, the response SMS mkoba submits reach it on the peer's push stream, and
  the SIM joins and opens them: PoR OK and TranProc's code ``ok`` is a success, anything
  else a failure with its reason. Latency is from the MO to the opened answer.
- A warm-up, then rounds of: saturated (no pause) and paced at half the saturated
  rate, where p50/p99 are the service figures. The best saturated round is reported
  with the half-load phase after it, and the CPU each process spent per transaction.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

from mkoba.bench.errors import BenchError
from mkoba.bench.http import Connection
from mkoba.bench.measure import cpu_s, machine_busy_s, phase_percentile, process_tree_cpu_s
from mkoba.bench.servers import mkoba_serve
from mkoba.bench.sim_link import PeerLink, send_sim_data
from mkoba.bench.sim_phones import SHORT_CODE, Outcome, SimPhone, provision
from mkoba.bench.smsc_peer import PeerPorts, running_peer
from mkoba.parties import SecretKey

FIRST_CUSTOMER = 254712000001
CUSTOMERS = 1000
PIN = "1357"
AMOUNT = "1"  # Ksh1: free to send, and the ring keeps balances level
FUNDS_MIN = 100_000  # minor units: Ksh1,000, far more than a ring ever drifts
# Where the server keeps the SIM master key (docs/sim.md, "Keys").
MASTER_KEY_FILE = "sim-master.key"
answer_timeout_s = 10.0
bind_timeout_s = 30.0


@dataclass
class Phase:
    """What one phase measured."""

    load: str
    seconds: float
    done: int
    failed: int
    latencies_ms: list[float] = field(repr=False)
    failures: dict[str, int] = field(default_factory=dict)
    # The SMSC's counters over the phase: submit_sm, deliver_sm to mkoba (MO and receipts).
    submits: int = 0
    delivers: int = 0
    answer_sms: int = 0  # of the submits, SIM data SMS to the phones (the rest are texts)
    # CPU seconds over the phase: mkoba serve, the SMSC peer, this bench; the machine's.
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def tx_per_s(self) -> float:
        """Transactions that succeeded, per second."""
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """A latency percentile (ms), MO sent to answer opened."""
        return phase_percentile(self.latencies_ms, fraction)


@dataclass
class World:
    """The running pieces a phase needs."""

    link: PeerLink
    peer: PeerPorts
    server_pid: int
    phones: list[SimPhone]
    payees: list[str]
    control: httpx.AsyncClient


async def _funded(url: str, numbers: list[str], wanted: int) -> list[str]:
    """The first ``wanted`` of ``numbers`` holding ``FUNDS_MIN`` (read through the API)."""
    found: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        for start in range(0, len(numbers), 32):
            batch = numbers[start : start + 32]
            answers = await asyncio.gather(
                *(client.post("/api/v1/balance", json={"msisdn": n, "pin": PIN}) for n in batch)
            )
            for number, answer in zip(batch, answers, strict=True):
                ok = answer.status_code == 200
                if ok and answer.json()["data"]["balance_minor"] >= FUNDS_MIN:
                    found.append(number)
            if len(found) >= wanted:
                return found[:wanted]
    raise BenchError(f"only {len(found)} of {len(numbers)} SIM holders can pay; {wanted} wanted")


async def _bound(control: httpx.AsyncClient) -> None:
    """Wait until mkoba has bound to the SMSC (it binds after it answers /health)."""
    deadline = time.monotonic() + bind_timeout_s
    while time.monotonic() < deadline:
        if (await control.get("/stats")).json()["sessions"] >= 1:
            return
        await asyncio.sleep(0.1)
    raise BenchError("mkoba serve never bound to the SMSC peer")


async def _answer(phone: SimPhone, inbox: asyncio.Queue[bytes]) -> Outcome:
    """The outcome of the phone's last request, once its answer has come and opened."""
    deadline = time.monotonic() + answer_timeout_s
    while True:
        remaining = deadline - time.monotonic()
        try:
            user_data = await asyncio.wait_for(inbox.get(), remaining)
        except TimeoutError:
            return Outcome(f"no answer in {answer_timeout_s:.0f} s")
        outcome = phone.receive(user_data)
        if outcome is not None:
            return outcome


def _cpu(world: World) -> dict[str, float]:
    server = process_tree_cpu_s(world.server_pid)
    peer = process_tree_cpu_s(world.peer.pid)
    machine = machine_busy_s()
    return {
        "mkoba": server if server is not None else 0.0,
        "smsc": peer if peer is not None else 0.0,
        "bench": cpu_s(),
        "machine": machine if machine is not None else 0.0,
    }


async def _phase(world: World, load: str, seconds: float, rate: float) -> Phase:
    latencies: list[float] = []
    counts = [0, 0]
    failures: dict[str, int] = {}
    interval_s = len(world.phones) / rate if rate else 0.0

    async def user(phone: SimPhone, payee: str) -> None:
        connection = Connection(world.link.host, world.link.port)
        await connection.open()
        inbox = world.link.inbox(phone.msisdn)
        next_at = time.perf_counter()
        try:
            while time.perf_counter() < stop_at:
                if interval_s:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at = max(next_at + interval_s, time.perf_counter() - interval_s)
                user_data = phone.send_money(payee, AMOUNT)
                started = time.perf_counter()
                why = await send_sim_data(connection, phone.msisdn, SHORT_CODE, user_data)
                if not why:
                    outcome = await _answer(phone, inbox)
                    why = outcome.failure
                latencies.append((time.perf_counter() - started) * 1000)
                counts[1 if why else 0] += 1
                if why:
                    failures[why] = failures.get(why, 0) + 1
        finally:
            await connection.close()

    before_stats = (await world.control.get("/stats")).json()
    before_cpu = _cpu(world)
    before_pushed = world.link.pushed
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(user(p, payee) for p, payee in zip(world.phones, world.payees, strict=True))
    )
    elapsed = time.perf_counter() - started
    after_cpu = _cpu(world)
    after_stats = (await world.control.get("/stats")).json()
    delivered = ("mo", "receipts")
    return Phase(
        load,
        elapsed,
        counts[0],
        counts[1],
        latencies,
        failures,
        submits=after_stats["submits"] - before_stats["submits"],
        delivers=sum(after_stats[k] - before_stats[k] for k in delivered),
        answer_sms=world.link.pushed - before_pushed,
        cpu={name: after_cpu[name] - before_cpu[name] for name in after_cpu},
    )


async def _menu_version(url: str) -> int:
    """The customer menu the server serves now (its SIMs run it: nothing to push)."""
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        answer = await client.get("/ussd/menus")
        answer.raise_for_status()
        return int(answer.json()["menus"]["customer"]["version"])


async def _run(
    url: str,
    peer: PeerPorts,
    server_pid: int,
    cards: dict[str, str],
    master: SecretKey,
    users: int,
    seconds: float,
    rounds: int,
) -> list[Phase]:
    numbers = await _funded(url, list(cards), users)
    menu = await _menu_version(url)
    phones = [SimPhone(number, cards[number], master, PIN, menu) for number in numbers]
    if users > 1:
        payees = numbers[1:] + numbers[:1]
    else:  # one phone pays someone who holds no SIM of the bench's
        payees = [str(FIRST_CUSTOMER + CUSTOMERS - 1)]
    async with httpx.AsyncClient(base_url=peer.control_url, timeout=30.0) as control:
        await control.post("/config", json={"keep": False})  # nobody reads it back
        await _bound(control)
        link = PeerLink("127.0.0.1", peer.control)
        await link.open()
        world = World(link, peer, server_pid, phones, payees, control)
        try:
            phases = [await _phase(world, "warm-up", min(2.0, seconds), 0.0)]
            for _ in range(rounds):
                saturated = await _phase(world, "saturation", seconds, 0.0)
                phases.append(saturated)
                half = max(saturated.tx_per_s / 2, 0.5)
                phases.append(await _phase(world, "half load", seconds, half))
        finally:
            await link.close()
    return phases


def _measure(users: int, seconds: float, rounds: int, smpp_window: int | None) -> list[Phase]:
    candidates = [str(FIRST_CUSTOMER + i) for i in range(min(CUSTOMERS, 3 * users + 8))]
    with tempfile.TemporaryDirectory(prefix="mkoba-bench-sim-") as name:
        folder = Path(name)
        db = str(folder / "mkoba.db")
        cards = provision(db, candidates)
        with running_peer() as peer:
            env = {"MKOBA_SMPP": peer.smpp_url}
            if smpp_window is not None:
                env["MKOBA_SMPP_WINDOW"] = str(smpp_window)
            with mkoba_serve(folder, db, "all", "memory", env) as (url, pid):
                master = SecretKey((folder / "keys" / MASTER_KEY_FILE).read_bytes())
                return uvloop.run(_run(url, peer, pid, cards, master, users, seconds, rounds))


def _result(phases: list[Phase], users: int, seconds: float) -> dict[str, Any]:
    measured = phases[1:]
    best = max(range(0, len(measured), 2), key=lambda i: measured[i].tx_per_s)
    saturated, half = measured[best], measured[best + 1]
    failures: dict[str, int] = {}
    for phase in phases:
        for why, count in phase.failures.items():
            failures[why] = failures.get(why, 0) + count
    done = max(saturated.done, 1)
    return {
        "tx_per_s": round(saturated.tx_per_s, 1),
        "p50_ms": round(half.percentile(0.50), 2),
        "p99_ms": round(half.percentile(0.99), 2),
        "half_load_tx_per_s": round(half.tx_per_s, 1),
        "saturated_p50_ms": round(saturated.percentile(0.50), 2),
        "saturated_p99_ms": round(saturated.percentile(0.99), 2),
        "failed": sum(phase.failed for phase in phases),
        "failures": failures,
        "done": sum(phase.done for phase in phases),
        "users": users,
        "seconds": seconds,
        "rounds": [round(p.tx_per_s, 1) for p in measured if p.load == "saturation"],
        "submit_sm_per_tx": round(saturated.submits / done, 2),
        "answer_sms_per_tx": round(saturated.answer_sms / done, 2),
        "deliver_sm_per_tx": round(saturated.delivers / done, 2),
        "cpu_ms_per_tx": {
            name: round(spent * 1000 / done, 3) for name, spent in saturated.cpu.items()
        },
        "machine_busy_cores": round(saturated.cpu.get("machine", 0.0) / saturated.seconds, 2),
    }


def run(
    users: int,
    seconds: float,
    rounds: int,
    smpp_window: int | None,
    console: Console,
    json_lines: bool,
) -> dict[str, Any]:
    """Measure; the figures as a table or one JSON object (also returned)."""
    result = _result(_measure(users, seconds, rounds, smpp_window), users, seconds)
    if json_lines:
        print(json.dumps(result))
        return result
    table = Table(title="Secured SIM transactions through the SMSC (send Ksh1, closed loop)")
    for column in ("users", "tx/s (best round)", "rounds", "p50 ms ½", "p99 ms ½", "failed"):
        table.add_column(column, justify="right")
    table.add_row(
        str(users),
        f"{result['tx_per_s']:,.0f}",
        str(result["rounds"]),
        f"{result['p50_ms']:.1f}",
        f"{result['p99_ms']:.1f}",
        str(result["failed"]),
    )
    console.print(table)
    if result["failures"]:
        console.print(f"failures: {result['failures']}")
    cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in result["cpu_ms_per_tx"].items())
    console.print(
        f"per transaction at saturation: CPU ms {cpu}; submit_sm {result['submit_sm_per_tx']}"
        f" ({result['answer_sms_per_tx']} to the SIM),"
        f" deliver_sm {result['deliver_sm_per_tx']}; machine busy"
        f" {result['machine_busy_cores']} cores"
    )
    console.print("target: at least 1,000 tx/s, p99 at most 100 ms at half load (issue 18)")
    return result
