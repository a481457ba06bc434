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
import itertools
from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from mkoba.bench import workload
from mkoba.bench.ledger_config import (
    Config,
    Row,
)
from mkoba.bench.ledger_naive import bench_naive
from mkoba.bench.ledger_report import print_table
from mkoba.bench.ledger_writer import measure_ledger, setup_ledger
from mkoba.bench.stores import check_postgres, scratch_store
from mkoba.ledger import LedgerWriter, open_store

__all__ = ["Config", "run"]


def run(config: Config, *, console: Console, json_lines: bool = False) -> list[Row]:
    """Measure everything ``config`` asks for; print a table, or JSON lines to stdout."""
    status = Console(stderr=True)
    problems = config.problems()
    if problems:
        status.print(f"[red]mkoba bench ledger:[/red] {'; '.join(problems)}")
        raise SystemExit(2)
    if "postgresql" in config.stores:
        check_postgres(config.postgres_url, status)
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
        print_table(rows, config, console)
    return rows


def _bench_store(
    store: str, config: Config, progress: Progress, emit: Callable[[Row], None]
) -> None:
    ids = itertools.count(1)
    with scratch_store(store, config.postgres_url) as url:
        naive: dict[str, Row] = {}
        if "naive" in config.workloads:
            for row in bench_naive(store, url, config, ids, progress):
                naive[row.shape] = row
                emit(row)
        ledger_shapes = [shape for shape in workload.SHAPES if shape in config.workloads]
        if not ledger_shapes:
            return
        writer = LedgerWriter(open_store(url)).start()
        try:
            setup_ledger(writer, store, config.accounts, ids, progress)
            for batch in config.batches:
                uniform: Row | None = None
                for shape in ledger_shapes:
                    row = measure_ledger(writer, store, shape, batch, config, ids, progress)
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
