"""``mkoba bench processor``: business transactions per second through TranProc, and latency.

Method (bench/RESULTS.md records the figures):

- A real ``Platform`` per channel on the embedded default: a temporary SQLite file
  (WAL, synchronous=FULL), the in-process bus, the outbox sender and every extension,
  no demo data. ``customers`` customers are created and funded before the
  clock starts, as the operator's tooling would (directory rows, keyed PIN
  verifiers, e-money issued against the trust account).
- Every measured request is a send-money between two random customers, for a
  random whole amount of 10 to 2,000 shillings: PIN check, tariff and excise,
  KYC limits, linked ledger transfers, receipt, statement lines, two SMS in the
  outbox. PINs are sealed before the clock starts (that is the channel's work).
- ``api``: the channel with a delivery deadline. Phase one commits the legs
  pending; the client then acknowledges delivery, as the native API does after
  writing its response, which posts them. A transaction counts once posted.
  ``system``: the direct path of internal channels (one commit).
- Closed loop: ``clients`` clients each send their next request as soon as the
  last one is done, for ``seconds``: throughput. Open loop: Poisson arrivals at
  half the closed-loop rate, for ``seconds``: latency, measured from each
  request's scheduled arrival (no coordinated omission). ``p50_ms``/``p99_ms``
  are the response latency a customer waits for; ``settled_p99_ms`` includes
  the acknowledgement that posts the money.
- Every request must succeed; at the end no delivery may be left waiting and
  (unless ``--no-reconcile``) ``mkoba reconcile``'s checks must pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import math
import os
import random
import resource
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from mkoba.ledger import Account, AccountFlags, AccountKind, Transfer, TransferResult, limits
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Party,
    PartyKind,
    Pin,
    Purpose,
    Role,
    account_id,
    seal_pin,
)
from mkoba.processor import gc_tuning, ids
from mkoba.processor.request import Channel, Request

CHANNELS = ("api", "system")
STORES = ("sqlite", "postgresql")
PIN = "1357"
# Every customer starts with this much e-money (shillings): sends never run dry.
opening_balance_ksh = 100_000
amount_ksh_min, amount_ksh_max = 10, 2_000
first_msisdn = 254_720_000_000
customers_max = 1_000_000
warm_up_s = 2.0
# Requests generated ahead of a run: the estimated need times this, at most this many.
generate_margin = 1.5
requests_max = 2_000_000
# A request not answered within this long means TranProc is stuck: stop loudly.
request_timeout_s = 60.0
seed = 20_250_601
# The targets (checked in the summary, never in unit tests).
target_tx_per_s = 6_000
target_p99_ms = 50.0


class BenchError(Exception):
    """A run could not measure what it set out to: a refused request, an unbalanced ledger."""


@dataclass(frozen=True, slots=True)
class Config:
    """What to measure: built by the command line from its options."""

    customers: int
    clients: int
    seconds: float
    channels: list[str]
    store: str
    postgres_url: str
    loop: str
    reconcile: bool
    # The bus: memory (in-process), or NATS JetStream (prefix mkoba-bench unless given).
    bus: str = "memory"

    def problems(self) -> list[str]:
        """Why this configuration cannot run; empty when it can."""
        problems = [f"unknown channel {name!r}" for name in self.channels if name not in CHANNELS]
        if not self.channels:
            problems.append("give at least one channel")
        if self.store not in STORES:
            problems.append(f"store must be one of {', '.join(STORES)}")
        if not 2 <= self.customers <= customers_max:
            problems.append(f"customers must be 2..{customers_max:,}")
        if not 1 <= self.clients <= 4096:
            problems.append("clients must be 1..4096")
        if not 0 < self.seconds <= 600:
            problems.append("seconds must be above 0 and at most 600")
        if self.bus != "memory":
            from mkoba.bus import parse_nats_url

            try:
                parse_nats_url(self.bus)
            except ValueError as problem:
                problems.append(f"bus: {problem}")
        if self.loop not in ("uvloop", "asyncio"):
            problems.append("loop must be uvloop or asyncio")
        return problems


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement, as printed in the table and as one JSON line."""

    channel: str
    mode: str
    clients: int
    store: str
    customers: int
    transactions: int
    seconds: float
    tx_per_s: float
    offered_per_s: float
    p50_ms: float
    p99_ms: float
    settled_p50_ms: float
    settled_p99_ms: float
    max_ms: float
    # Process CPU time (all threads, user + system) per transaction: what bounds a
    # GIL-bound process, and less disturbed by other load on the machine than tx/s.
    cpu_ms_per_tx: float
    rss_mb: float

    def as_json(self) -> str:
        """One line of JSON, figures rounded to what they mean."""
        fields = dataclasses.asdict(self)
        for name, value in fields.items():
            if isinstance(value, float):
                fields[name] = round(value, 3 if "_ms" in name else 1)
        return json.dumps(fields)


def run(config: Config, *, console: Console, json_lines: bool = False) -> list[Row]:
    """Measure every channel ``config`` asks for; print a table, or JSON lines to stdout."""
    status = Console(stderr=True)
    problems = config.problems()
    if problems:
        status.print(f"[red]mkoba bench processor:[/red] {'; '.join(problems)}")
        raise SystemExit(2)
    rows: list[Row] = []

    def emit(row: Row) -> None:
        rows.append(row)
        status.print(
            f"{row.channel} {row.mode}: {row.tx_per_s:,.0f} tx/s,"
            f" p50 {row.p50_ms:.1f} ms, p99 {row.p99_ms:.1f} ms"
        )
        if json_lines:
            console.file.write(row.as_json() + "\n")
            console.file.flush()

    # The platform's own warnings (menus offering products not served...) are not results.
    platform_log = logging.getLogger("mkoba")
    level = platform_log.level
    platform_log.setLevel(logging.ERROR)
    # The garbage collector's pace of ``mkoba serve``, for this run only.
    thresholds = gc_tuning.tune()
    try:
        with tempfile.TemporaryDirectory(prefix="mkoba-bench-") as directory:
            coroutine = _bench(config, Path(directory), status, emit)
            if config.loop == "uvloop":
                import uvloop

                uvloop.run(coroutine)
            else:
                asyncio.run(coroutine)
    finally:
        gc.set_threshold(*thresholds)
        platform_log.setLevel(level)
    if not json_lines:
        _print_table(rows, config, console)
    return rows


async def _bench(config: Config, directory: Path, status: Console, emit: Any) -> None:
    # Each channel on a platform and store of its own: a second channel measured on the
    # store and heap the first one grew would read lower for that alone.
    for channel in config.channels:
        folder = directory / channel
        folder.mkdir()
        await _bench_channel(config, channel, folder, status, emit)


def _bus_url(url: str) -> str:
    """The bus for a bench platform: a prefix of its own, so no running mkoba takes its requests."""
    if url == "memory":
        return url
    from urllib.parse import urlsplit

    return url if urlsplit(url).path.strip("/") else url.rstrip("/") + "/mkoba-bench"


async def _bench_channel(
    config: Config, channel: str, directory: Path, status: Console, emit: Any
) -> None:
    from mkoba.app import Platform
    from mkoba.settings import Settings

    url, drop = _store(config, directory)
    settings = Settings.model_validate(
        {
            "db": url,
            "keys_dir": directory / "keys",
            "demo": False,
            "workers": max(64, config.clients),
            "bus": _bus_url(config.bus),
        }
    )
    platform = Platform(settings)
    try:
        await platform.start()
        try:
            with status.status(f"creating and funding {config.customers:,} customers"):
                msisdns = await _populate(platform, config.customers)
            rng = random.Random(seed)
            numbers = iter(range(1, 10**12))
            closed = await _closed(platform, config, channel, msisdns, rng, numbers, status)
            emit(closed)
            emit(await _open(platform, config, channel, closed, msisdns, rng, numbers, status))
            if len(platform.processor.deliveries):
                raise BenchError(f"{len(platform.processor.deliveries)} deliveries still waiting")
        finally:
            await platform.stop()
        if config.reconcile:
            with status.status("reconciling the books"):
                await asyncio.to_thread(_reconcile, url)
    finally:
        drop()
        # The next channel starts from a clean heap too.
        gc.collect()


def _store(config: Config, directory: Path) -> tuple[str, Any]:
    """The store's URL and how to remove it afterwards."""
    if config.store == "sqlite":
        return str(directory / "bench.db"), lambda: None
    import secrets

    import psycopg

    from mkoba.ledger.store.postgres import split_url

    schema = f"mkoba_bench_{secrets.token_hex(6)}"
    dsn, _ = split_url(config.postgres_url)
    separator = "&" if "?" in dsn else "?"

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())

    return f"{dsn}{separator}schema={schema}", drop


def _reconcile(url: str) -> None:
    from mkoba.ledger import open_store
    from mkoba.ledger.reconcile import reconcile

    store = open_store(url)
    try:
        report = reconcile(store)
    finally:
        store.close()
    if not report.ok:
        wrong = [f"{check.name}: {check.problems[:3]}" for check in report.checks if not check.ok]
        raise BenchError(f"the books do not balance after the run: {wrong}")


# -- the world -------------------------------------------------------------------------------


async def _populate(platform: Any, count: int) -> list[str]:
    """``count`` funded customers with PIN ``PIN`` (not timed); their MSISDNs."""
    services = platform.services
    now = platform.clock()
    profile = services.profile(now)
    tier = profile.tiers[-1]
    limit = profile.limits(tier)
    first = services.directory.allocate_id()
    for _ in range(count - 1):
        services.directory.allocate_id()
    parties = [
        Party(
            first + index,
            PartyKind.CUSTOMER,
            f"Customer {index}",
            str(first_msisdn + index),
            kyc_tier=tier,
            created=now,
        )
        for index in range(count)
    ]
    accounts = [
        Account(
            id=account_id(party.id, Purpose.WALLET),
            ledger=profile.ledger,
            currency=profile.currency.code,
            kind=AccountKind.EMONEY,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            balance_max=limit.balance_max,
            code=int(Purpose.WALLET),
            user_data=party.id,
        )
        for party in parties
    ]
    step = limits.batch_transfers_max
    for start in range(0, count, step):
        results = await asyncio.wrap_future(
            services.writer.create_accounts(accounts[start : start + step])
        )
        if not all(result.ok for result in results):
            raise BenchError("could not create the wallets")
    pin = Pin(PIN)
    change = Change(
        parties=tuple(parties),
        accounts=tuple(
            (party.id, Purpose.WALLET, account.id)
            for party, account in zip(parties, accounts, strict=True)
        ),
        roles=tuple((party.id, Role.CUSTOMER, 0) for party in parties),
        credentials=tuple(services.vault.new_credential(party.id, pin, now) for party in parties),
    )
    await services.writer.submit_async([], attach=change.writes())
    services.directory.apply(change)
    trust = account_id(OPERATOR_ID, Purpose.TRUST)
    major = profile.currency.minor_per_major
    # Fee income holds money for commissions, as an operator funds it at launch.
    moves = [(account_id(OPERATOR_ID, Purpose.FEES), 10_000_000 * major)]
    moves += [(account.id, opening_balance_ksh * major) for account in accounts]
    transfers = [
        Transfer(
            ids.leg_id(services.counter.next(), 0, "direct"), trust, target, amount, profile.ledger
        )
        for target, amount in moves
    ]
    for start in range(0, len(transfers), step):
        results = await services.writer.submit_async(transfers[start : start + step])
        if not all(result is TransferResult.OK for result in results):
            raise BenchError("could not fund the wallets")
    return [party.msisdn or "" for party in parties]


def _requests(
    platform: Any,
    channel: str,
    count: int,
    msisdns: Sequence[str],
    rng: random.Random,
    numbers: Iterator[int],
) -> list[Request]:
    """``count`` send-money requests between random customers, PINs sealed (not timed)."""
    key = platform.transport_key
    pin = Pin(PIN)
    requests = []
    for _ in range(count):
        payer, payee = rng.sample(msisdns, 2)
        request_id = f"bench:{channel}:{next(numbers)}"
        amount = rng.randint(amount_ksh_min, amount_ksh_max)
        requests.append(
            Request(
                request_id,
                Channel(channel),
                "send_money",
                payer,
                {"to": payee, "amount": str(amount)},
                seal_pin(pin, key, request_id.encode()),
            )
        )
    return requests


# -- closed loop ------------------------------------------------------------------------------


class _Samples:
    """Latencies (seconds) of completed transactions: answered, and settled (acknowledged)."""

    def __init__(self) -> None:
        self.answered: list[float] = []
        self.settled: list[float] = []
        self.failures: list[str] = []
        self.cpu_started = 0.0


async def _transact(
    platform: Any, request: Request, two_phase: bool, since: float, samples: _Samples
) -> None:
    """One business transaction as a channel does it: the request, then its acknowledgement."""
    response = await platform.request(request)
    answered = time.perf_counter()
    if not response.ok:
        samples.failures.append(f"{request.id}: {response.code} {response.message}")
        return
    if two_phase and not await platform.acknowledge(request.id):
        samples.failures.append(f"{request.id}: the acknowledgement posted nothing")
        return
    samples.answered.append(answered - since)
    samples.settled.append(time.perf_counter() - since)


async def _closed(
    platform: Any,
    config: Config,
    channel: str,
    msisdns: Sequence[str],
    rng: random.Random,
    numbers: Iterator[int],
    status: Console,
) -> Row:
    two_phase = channel == "api"

    async def loop(requests: list[Request], seconds: float) -> tuple[_Samples, float]:
        pending = iter(requests)
        samples = _Samples()
        samples.cpu_started = _cpu_s()
        started = time.perf_counter()
        stop_at = started + seconds

        async def client() -> None:
            for request in pending:
                if time.perf_counter() >= stop_at:
                    return
                await _transact(platform, request, two_phase, time.perf_counter(), samples)

        await asyncio.gather(*(client() for _ in range(config.clients)))
        _check(samples)
        return samples, time.perf_counter() - started

    with status.status(f"{channel}: warming up"):
        warm = _requests(platform, channel, 50_000, msisdns, rng, numbers)
        samples, elapsed = await loop(warm, min(warm_up_s, config.seconds))
    estimate = len(samples.settled) / elapsed
    count = min(requests_max, math.ceil(estimate * config.seconds * generate_margin) + 1_000)
    with status.status(f"{channel}: preparing {count:,} requests"):
        requests = _requests(platform, channel, count, msisdns, rng, numbers)
    gc.collect()
    with status.status(f"{channel}: closed loop, {config.clients} clients, {config.seconds:g} s"):
        samples, elapsed = await loop(requests, config.seconds)
    return _row(config, channel, "closed", samples, elapsed, 0.0)


# -- open loop --------------------------------------------------------------------------------


async def _open(
    platform: Any,
    config: Config,
    channel: str,
    closed: Row,
    msisdns: Sequence[str],
    rng: random.Random,
    numbers: Iterator[int],
    status: Console,
) -> Row:
    rate = closed.tx_per_s / 2
    count = max(1, math.ceil(rate * config.seconds))
    with status.status(f"{channel}: preparing {count:,} requests"):
        requests = _requests(platform, channel, count, msisdns, rng, numbers)
        gaps = [rng.expovariate(rate) for _ in requests]
    gc.collect()
    samples = _Samples()
    tasks: set[asyncio.Task[None]] = set()
    two_phase = channel == "api"
    with status.status(f"{channel}: open loop at {rate:,.0f}/s, {config.seconds:g} s"):
        samples.cpu_started = _cpu_s()
        started = time.perf_counter()
        due = started
        for request, gap in zip(requests, gaps, strict=True):
            due += gap
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(_transact(platform, request, two_phase, due, samples))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.wait_for(asyncio.gather(*tasks), request_timeout_s)
        elapsed = time.perf_counter() - started
    _check(samples)
    return _row(config, channel, "open", samples, elapsed, rate)


# -- reporting --------------------------------------------------------------------------------


def _check(samples: _Samples) -> None:
    if samples.failures:
        raise BenchError(f"{len(samples.failures)} requests failed, e.g. {samples.failures[:3]}")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    assert 0 <= fraction <= 1
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _row(
    config: Config, channel: str, mode: str, samples: _Samples, elapsed: float, offered: float
) -> Row:
    answered = sorted(samples.answered)
    settled = sorted(samples.settled)
    return Row(
        channel=channel,
        mode=mode,
        clients=config.clients if mode == "closed" else 0,
        store=config.store,
        customers=config.customers,
        transactions=len(settled),
        seconds=elapsed,
        tx_per_s=len(settled) / elapsed,
        offered_per_s=offered,
        p50_ms=percentile(answered, 0.50) * 1000,
        p99_ms=percentile(answered, 0.99) * 1000,
        settled_p50_ms=percentile(settled, 0.50) * 1000,
        settled_p99_ms=percentile(settled, 0.99) * 1000,
        max_ms=(settled[-1] if settled else 0.0) * 1000,
        cpu_ms_per_tx=(_cpu_s() - samples.cpu_started) * 1000 / max(1, len(settled)),
        rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _print_table(rows: Sequence[Row], config: Config, console: Console) -> None:
    table = Table(
        title=(
            f"send money through TranProc: {config.store}, {config.customers:,} customers,"
            f" {os.cpu_count()} cores"
        ),
        caption="closed: throughput with --clients clients; open: Poisson arrivals at half that.",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("channel")
    table.add_column("mode")
    for name in ("clients", "tx/s", "p50 ms", "p99 ms", "settled p99 ms", "max ms", "CPU ms/tx"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row.channel,
            row.mode,
            str(row.clients or "-"),
            f"{row.tx_per_s:,.0f}",
            f"{row.p50_ms:.1f}",
            f"{row.p99_ms:.1f}",
            f"{row.settled_p99_ms:.1f}",
            f"{row.max_ms:.1f}",
            f"{row.cpu_ms_per_tx:.2f}",
        )
    console.print(table)
    for row in rows:
        if row.channel != "api":
            continue
        if row.mode == "closed":
            met = row.tx_per_s >= target_tx_per_s
            text = f"api closed loop: {row.tx_per_s:,.0f} tx/s (target {target_tx_per_s:,})"
        else:
            met = row.p99_ms <= target_p99_ms
            text = f"api open loop at half load: p99 {row.p99_ms:.1f} ms (target {target_p99_ms:g})"
        console.print(f"{'[green]met' if met else '[red]not met'}[/]: {text}")
