"""``mkoba bench ledger``: durable transfers per second, per store, batch size and workload.

Method (bench/RESULTS.md records the figures):

- A real ``LedgerWriter`` on a real store: a temporary SQLite file with the
  store's own durability (WAL, synchronous=FULL), or a fresh PostgreSQL schema
  ``mkoba_bench_<random>`` that is dropped afterwards.
- Accounts are created and funded, and every transfer is generated, before the
  clock starts. Only submit-to-durable-acknowledgement is timed.
- Batch size is transfers per ``submit()`` call. Submits stay in flight up to a
  window of about ``window_transfers`` (at least ``window_submits_min``
  submits), so batch 1 is about 8,190 concurrent single-transfer requests. The
  writer's group commit coalesces them.
- Every result must be OK; anything else stops the run.
- ``hot`` counts transfers (legs), not payments; a hot submit holds whole
  payments, so batch 1 submits one payment of two legs.
- ``naive`` (naive.py) applies the same transfers, one payment per database
  transaction with row locks, on the same store kind. It has no batch dimension.
  Each ledger figure is divided by the naive figure of the same shape.
- A measurement first runs ``warm_up_windows`` windows to estimate the rate. It
  then pre-generates ``generate_margin`` times the transfers that ``seconds``
  should take, submits until ``seconds`` have passed, and counts the transfers
  acknowledged. The naive baseline draws from a pool sized for
  ``naive_payments_per_s_max``, also until ``seconds``.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import math
import os
import random
import resource
import secrets
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from mkoba.bench import workload
from mkoba.bench.naive import NaiveLedger, Payment, PostgresNaive, SqliteNaive
from mkoba.ledger import LedgerWriter, Transfer, TransferResult, limits, open_store
from mkoba.ledger.store.base import check_identifier
from mkoba.ledger.store.postgres import split_url

STORES = ("sqlite", "postgresql")
WORKLOADS = ("uniform", "hot", "naive")
# Transfers in flight at once: about one full batch, and never fewer than two submits,
# so that the writer always has a batch to decide while the previous one commits.
window_transfers = limits.batch_transfers_max
window_submits_min = 2
# The most transfers one measurement pre-generates (about 200 bytes each in memory).
measurement_transfers_max = 2_000_000
# The rate is estimated on this many windows, and the measurement pre-generates this
# many times what the estimate says ``seconds`` needs (it stops at ``seconds``).
warm_up_windows = 2
generate_margin = 2.0
# The naive baseline warms up on this many payments, then draws from a pool sized for
# this rate (far above what a transaction per payment reaches) and stops at ``seconds``.
naive_warmup_payments = 200
naive_payments_per_s_max = 20_000
naive_clients_postgres = 8
# A submit not acknowledged within this long means the writer is stuck: stop loudly.
ack_timeout_s = 120.0
seed = 254_712_345_678
# Targets of the issue, checked in the summary (never in unit tests).
target_batch = limits.batch_transfers_max
target_sqlite_transfers_per_s = 100_000
target_hot_vs_uniform = 0.9
target_vs_naive = 50.0


class BenchError(Exception):
    """A benchmark run could not measure what it set out to: a failed transfer, a bad store."""


@dataclass(frozen=True, slots=True)
class Config:
    """What to measure: built by the command line from its options."""

    stores: list[str]
    batches: list[int]
    workloads: list[str]
    accounts: int
    seconds: float
    postgres_url: str

    def problems(self) -> list[str]:
        """Why this configuration cannot run; empty when it can."""
        problems = [f"unknown store {name!r}" for name in self.stores if name not in STORES]
        problems += [
            f"unknown workload {name!r}" for name in self.workloads if name not in WORKLOADS
        ]
        problems += [
            f"batch {size} is outside 1..{limits.batch_transfers_max}"
            for size in self.batches
            if not 0 < size <= limits.batch_transfers_max
        ]
        if not 2 <= self.accounts <= workload.wallets_max:
            problems.append(f"accounts must be 2..{workload.wallets_max:,}")
        if not 0 < self.seconds <= 600:
            problems.append("seconds must be above 0 and at most 600")
        if not self.stores or not self.workloads:
            problems.append("give at least one store and one workload")
        if any(name in ("uniform", "hot") for name in self.workloads) and not self.batches:
            problems.append("give at least one batch size")
        return problems

    def shapes(self) -> list[str]:
        """The transfer shapes to measure: the ledger workloads, or uniform for naive alone."""
        shapes = [shape for shape in workload.SHAPES if shape in self.workloads]
        return shapes or ["uniform"]


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement, as printed in the table and as one JSON line."""

    store: str
    mode: str
    shape: str
    batch: int
    submit_transfers: int
    window: int
    clients: int
    accounts: int
    transfers: int
    commits: int
    retries: int
    seconds: float
    transfers_per_s: float
    rss_mb: float
    # The machine's one-minute load average as the measurement ended: above the core
    # count, something else competed for the CPU and the figure is low.
    load_1m: float
    hot_vs_uniform: float | None = None
    vs_naive: float | None = None

    def as_json(self) -> str:
        """One line of JSON, figures rounded to what they mean."""
        fields = dataclasses.asdict(self)
        fields["seconds"] = round(self.seconds, 4)
        fields["transfers_per_s"] = round(self.transfers_per_s, 1)
        fields["rss_mb"] = round(self.rss_mb, 1)
        fields["load_1m"] = round(self.load_1m, 2)
        for name in ("hot_vs_uniform", "vs_naive"):
            if fields[name] is not None:
                fields[name] = round(fields[name], 3)
        return json.dumps(fields)


def run(config: Config, *, console: Console, json_lines: bool = False) -> list[Row]:
    """Measure everything ``config`` asks for; print a table, or JSON lines to stdout."""
    status = Console(stderr=True)
    problems = config.problems()
    if problems:
        status.print(f"[red]mkoba bench ledger:[/red] {'; '.join(problems)}")
        raise SystemExit(2)
    if "postgresql" in config.stores:
        _check_postgres(config.postgres_url, status)
    rows: list[Row] = []

    def emit(row: Row) -> None:
        rows.append(row)
        if json_lines:
            console.file.write(row.as_json() + "\n")
            console.file.flush()

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=status,
        refresh_per_second=4,
        # JSON lines go to the real stdout, never through the progress display.
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with progress:
        for store in config.stores:
            _bench_store(store, config, progress, emit)
    if not json_lines:
        _print_table(rows, config, console)
    return rows


def _bench_store(
    store: str, config: Config, progress: Progress, emit: Callable[[Row], None]
) -> None:
    ids = itertools.count(1)
    with _store_url(store, config.postgres_url) as url:
        naive: dict[str, Row] = {}
        if "naive" in config.workloads:
            for row in _bench_naive(store, url, config, ids, progress):
                naive[row.shape] = row
                emit(row)
        ledger_shapes = [shape for shape in workload.SHAPES if shape in config.workloads]
        if not ledger_shapes:
            return
        writer = LedgerWriter(open_store(url)).start()
        try:
            _setup_ledger(writer, store, config.accounts, ids, progress)
            for batch in config.batches:
                uniform: Row | None = None
                for shape in ledger_shapes:
                    row = _measure_ledger(writer, store, shape, batch, config, ids, progress)
                    if shape == "uniform":
                        uniform = row
                    elif uniform is not None:
                        row = dataclasses.replace(
                            row, hot_vs_uniform=row.transfers_per_s / uniform.transfers_per_s
                        )
                    if shape in naive:
                        row = dataclasses.replace(
                            row, vs_naive=row.transfers_per_s / naive[shape].transfers_per_s
                        )
                    emit(row)
        finally:
            writer.stop()


# -- stores ------------------------------------------------------------------------------


@contextmanager
def _store_url(store: str, postgres_url: str) -> Iterator[str]:
    """A URL for an empty store of this kind, removed afterwards."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mkoba-bench-") as directory:
            yield str(Path(directory) / "ledger.db")
        return
    assert store == "postgresql", store
    schema = check_identifier(f"mkoba_bench_{secrets.token_hex(6)}")
    dsn, _ = split_url(postgres_url)
    parts = urlsplit(dsn)
    query = urlencode([*parse_qsl(parts.query), ("schema", schema)])
    try:
        yield urlunsplit(parts._replace(query=query))
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())


def _check_postgres(url: str, status: Console) -> None:
    """Stop with a clear message when the server is unreachable; warn when it is not durable."""
    dsn, _ = split_url(url)
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as connection:
            settings = {
                name: connection.execute(f"SHOW {name}".encode()).fetchone()
                for name in ("fsync", "synchronous_commit")
            }
    except psycopg.Error as error:
        status.print(
            f"[red]PostgreSQL at {dsn} is not reachable:[/red] {error}\n"
            "Give --postgres-url (or MKOBA_BENCH_POSTGRES), or --stores sqlite."
        )
        raise SystemExit(2) from None
    for name, value in settings.items():
        if value is None or value[0] != "on":
            status.print(f"[yellow]warning: PostgreSQL {name} is {value}: commits are not durable")


# -- the ledger --------------------------------------------------------------------------


def _setup_ledger(
    writer: LedgerWriter, store: str, wallets: int, ids: Iterator[int], progress: Progress
) -> None:
    """Create and fund the accounts (not timed)."""
    accounts = workload.accounts(wallets)
    funding = workload.funding(wallets, ids)
    step = limits.batch_transfers_max
    task = progress.add_task(
        f"{store}: create and fund {wallets:,} wallets", total=len(accounts) + len(funding)
    )
    created = [
        writer.create_accounts(accounts[i : i + step]) for i in range(0, len(accounts), step)
    ]
    for future in created:
        results = future.result(timeout=ack_timeout_s)
        if not all(result.ok for result in results):
            raise BenchError(f"{store}: creating accounts failed: {set(results)}")
        progress.advance(task, len(results))
    funded = [writer.submit(funding[i : i + step]) for i in range(0, len(funding), step)]
    _expect_ok(funded, f"{store} funding")
    progress.advance(task, len(funding))
    writer.checkpoint().result(timeout=ack_timeout_s)


def _measure_ledger(
    writer: LedgerWriter,
    store: str,
    shape: str,
    batch: int,
    config: Config,
    ids: Iterator[int],
    progress: Progress,
) -> Row:
    """Time one (shape, batch) on the writer: a warm-up, then about ``seconds``."""
    submit_transfers = batch if shape == "uniform" else max(2, batch - batch % 2)
    in_flight = max(window_submits_min, window_transfers // submit_transfers)
    window = in_flight * submit_transfers
    rng = random.Random(f"{seed}-{shape}")
    warm_up = _requests(
        shape, warm_up_windows * window, submit_transfers, config.accounts, ids, rng
    )
    warm_up_s, warmed = _drive(writer, warm_up, in_flight, None, None)
    transfers = round(warmed / warm_up_s * config.seconds * generate_margin)
    transfers = min(max(transfers, window), measurement_transfers_max)
    requests = _requests(shape, transfers, submit_transfers, config.accounts, ids, rng)
    # The clock starts on a quiet writer: balances checkpointed, generation garbage gone.
    writer.checkpoint().result(timeout=ack_timeout_s)
    gc.collect()
    task = progress.add_task(
        f"{store} {shape} batch {batch}", total=len(requests) * submit_transfers
    )
    batches_before = writer.batches

    def advance(acknowledged: int) -> None:
        progress.update(task, completed=acknowledged)

    elapsed_s, transfers = _drive(writer, requests, in_flight, advance, config.seconds)
    assert 0 < transfers <= len(requests) * submit_transfers
    rate = transfers / elapsed_s
    progress.update(
        task,
        total=transfers,
        completed=transfers,
        description=f"{store} {shape} batch {batch}: {rate:,.0f}/s",
    )
    return Row(
        store=store,
        mode=shape,
        shape=shape,
        batch=batch,
        submit_transfers=submit_transfers,
        window=window,
        clients=1,
        accounts=config.accounts,
        transfers=transfers,
        commits=writer.batches - batches_before,
        retries=0,
        seconds=elapsed_s,
        transfers_per_s=rate,
        rss_mb=_peak_rss_mb(),
        load_1m=os.getloadavg()[0],
    )


def _requests(
    shape: str,
    transfers: int,
    submit_transfers: int,
    wallets: int,
    ids: Iterator[int],
    rng: random.Random,
) -> list[list[Transfer]]:
    """Pre-generated transfers, cut into whole submits (a hot submit holds whole payments)."""
    transfers = max(submit_transfers, transfers - transfers % submit_transfers)
    made = workload.generate(shape, transfers, wallets, ids, rng)
    requests = [made[i : i + submit_transfers] for i in range(0, len(made), submit_transfers)]
    assert all(len(request) == submit_transfers for request in requests)
    return requests


def _drive(
    writer: LedgerWriter,
    requests: Sequence[list[Transfer]],
    in_flight: int,
    advance: Callable[[int], None] | None,
    seconds: float | None,
) -> tuple[float, int]:
    """Submit requests, ``in_flight`` outstanding, until done or ``seconds`` passed.

    Returns the seconds from the first submit to the last acknowledgement, and the
    transfers acknowledged (every submitted one: the last window is drained).
    """
    assert in_flight >= 1
    submit = writer.submit
    futures: deque[Future[list[TransferResult]]] = deque()
    acknowledged = 0
    started = time.perf_counter()
    stop_at = math.inf if seconds is None else started + seconds
    for number, request in enumerate(requests):
        if len(futures) >= in_flight:
            acknowledged += _acknowledged(futures.popleft())
            # Once a window: cheap enough at any batch size, fine enough at every rate.
            if number % in_flight == 0:
                if advance is not None:
                    advance(acknowledged)
                if time.perf_counter() >= stop_at:
                    break
        futures.append(submit(request))
    while futures:
        acknowledged += _acknowledged(futures.popleft())
    elapsed_s = time.perf_counter() - started
    assert elapsed_s > 0
    return elapsed_s, acknowledged


def _acknowledged(future: Future[list[TransferResult]]) -> int:
    """How many transfers a submit applied; ``BenchError`` unless every one is OK."""
    results = future.result(timeout=ack_timeout_s)
    if results.count(TransferResult.OK) != len(results):
        failed = next(result for result in results if result is not TransferResult.OK)
        raise BenchError(f"a transfer failed with {failed.name}: the benchmark expects none to")
    return len(results)


def _expect_ok(futures: Sequence[Future[list[TransferResult]]], what: str) -> None:
    for future in futures:
        try:
            _acknowledged(future)
        except BenchError as error:
            raise BenchError(f"{what}: {error}") from None


# -- the naive baseline ------------------------------------------------------------------


def _bench_naive(
    store: str, url: str, config: Config, ids: Iterator[int], progress: Progress
) -> list[Row]:
    """Measure the naive ledger on the same store, for each transfer shape asked for."""
    naive = _open_naive(store, url)
    try:
        balances = [(workload.FEE_ACCOUNT_ID, 0)]
        balances += [
            (id, workload.wallet_funding_minor) for id in workload.wallet_ids(config.accounts)
        ]
        naive.create(balances)
        return [
            _measure_naive(naive, store, shape, config, ids, progress) for shape in config.shapes()
        ]
    finally:
        naive.close()


def _open_naive(store: str, url: str) -> NaiveLedger:
    if store == "sqlite":
        return SqliteNaive(url)
    dsn, schema = split_url(url)
    assert schema is not None
    return PostgresNaive(dsn, schema, naive_clients_postgres)


def _measure_naive(
    naive: NaiveLedger,
    store: str,
    shape: str,
    config: Config,
    ids: Iterator[int],
    progress: Progress,
) -> Row:
    """The same transfers as the ledger's, each in a database transaction of its own.

    That is the issue's baseline: a payment's fee leg commits on its own, as it does
    in a SQL ledger without linked transfers.
    """
    legs = 1 if shape == "uniform" else 2
    rng = random.Random(f"{seed}-{shape}")
    warm_up = _singles(
        workload.payments(
            workload.generate(shape, naive_warmup_payments * legs, config.accounts, ids, rng)
        )
    )
    naive.apply(warm_up, lambda _: None, math.inf)
    count = round(naive_payments_per_s_max * config.seconds)
    count = min(max(count, naive_warmup_payments), measurement_transfers_max // legs)
    payments = _singles(
        workload.payments(workload.generate(shape, count * legs, config.accounts, ids, rng))
    )
    gc.collect()
    task = progress.add_task(f"{store} naive {shape}", total=len(payments))
    started = time.perf_counter()
    applied, retries = naive.apply(
        payments, lambda done: progress.advance(task, done), started + config.seconds
    )
    elapsed_s = time.perf_counter() - started
    assert 0 < applied <= len(payments)
    transfers = applied
    rate = transfers / elapsed_s
    progress.update(
        task, total=applied, completed=applied, description=f"{store} naive {shape}: {rate:,.0f}/s"
    )
    return Row(
        store=store,
        mode="naive",
        shape=shape,
        batch=1,
        submit_transfers=1,
        window=naive.clients,
        clients=naive.clients,
        accounts=config.accounts,
        transfers=transfers,
        commits=applied,
        retries=retries,
        seconds=elapsed_s,
        transfers_per_s=rate,
        rss_mb=_peak_rss_mb(),
        load_1m=os.getloadavg()[0],
    )


def _singles(payments: Sequence[Payment]) -> list[Payment]:
    """Every transfer of ``payments`` as a payment of its own, in the same order."""
    return [(transfer,) for payment in payments for transfer in payment]


# -- reporting ---------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """The peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_table(rows: Sequence[Row], config: Config, console: Console) -> None:
    """The measurements side by side (--json has every field), then the targets."""
    table = Table(
        title=f"durable transfers/s, {config.accounts:,} accounts",
        caption=(
            "Transfers count legs (a hot payment is two). Only submit to durable ack is timed."
            " batch (n): n transfers a submit. window: transfers in flight."
        ),
        box=box.SIMPLE_HEAD,
    )
    table.add_column("store", no_wrap=True)
    table.add_column("workload", no_wrap=True)
    for name in ("batch", "window", "transfers/s", "hot/uniform", "vs naive"):
        table.add_column(name, justify="right")
    for row in rows:
        naive = row.mode == "naive"
        batch = str(row.batch)
        if row.submit_transfers != row.batch:
            batch += f" ({row.submit_transfers})"
        table.add_row(
            row.store,
            f"naive {row.shape}" if naive else row.mode,
            "-" if naive else batch,
            f"{row.window:,}",
            f"{row.transfers_per_s:,.0f}",
            _ratio(row.hot_vs_uniform),
            _ratio(row.vs_naive),
        )
    console.print(table)
    for line in _verdicts(rows):
        console.print(line)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}x"


def _verdicts(rows: Sequence[Row]) -> list[str]:
    """The issue's targets, at the batch size they are stated for, met or not."""
    lines: list[str] = []

    def verdict(met: bool, text: str) -> None:
        mark = "[green]met[/green]" if met else "[red]not met[/red]"
        lines.append(f"{mark}: {text}")

    for row in rows:
        if row.batch != target_batch or row.mode == "naive":
            continue
        if row.store == "sqlite" and row.mode == "uniform":
            verdict(
                row.transfers_per_s >= target_sqlite_transfers_per_s,
                f"sqlite uniform batch {row.batch}: {row.transfers_per_s:,.0f}/s"
                f" (target {target_sqlite_transfers_per_s:,}/s)",
            )
        if row.hot_vs_uniform is not None:
            verdict(
                row.hot_vs_uniform >= target_hot_vs_uniform,
                f"{row.store} hot/uniform batch {row.batch}: {row.hot_vs_uniform:.2f}x"
                f" (target {target_hot_vs_uniform}x)",
            )
        if row.vs_naive is not None:
            verdict(
                row.vs_naive >= target_vs_naive,
                f"{row.store} {row.mode} batch {row.batch} vs naive: {row.vs_naive:,.1f}x"
                f" (target {target_vs_naive:.0f}x)",
            )
    return lines
