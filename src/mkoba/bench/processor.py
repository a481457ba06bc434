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
import gc
import logging
import os
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from mkoba.bench.errors import BenchError
from mkoba.bench.processor_config import Config, Row, seed, target_p99_ms, target_tx_per_s
from mkoba.bench.processor_loops import closed_loop, open_loop
from mkoba.bench.processor_world import populate
from mkoba.bench.stores import scratch_store
from mkoba.processor import gc_tuning

__all__ = ["Config", "run"]


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
        print_table(rows, config, console)
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

    with scratch_store(config.store, config.postgres_url) as url:
        settings = Settings.model_validate(
            {
                "db": url,
                "keys_dir": directory / "keys",
                "demo": False,
                "workers": max(64, config.clients),
                "bus": _bus_url(config.bus),
            }
        )
        try:
            await _measure_channel(Platform(settings), config, channel, status, emit)
            if config.reconcile:
                with status.status("reconciling the books"):
                    await asyncio.to_thread(_reconcile, url)
        finally:
            # The next channel starts from a clean heap too.
            gc.collect()


async def _measure_channel(
    platform: Any, config: Config, channel: str, status: Console, emit: Any
) -> None:
    """Both loops on a started platform; stopped afterwards, no delivery left waiting."""
    await platform.start()
    try:
        with status.status(f"creating and funding {config.customers:,} customers"):
            msisdns = await populate(platform, config.customers)
        rng = random.Random(seed)
        numbers = iter(range(1, 10**12))
        closed = await closed_loop(platform, config, channel, msisdns, rng, numbers, status)
        emit(closed)
        emit(await open_loop(platform, config, channel, closed, msisdns, rng, numbers, status))
        if len(platform.processor.deliveries):
            raise BenchError(f"{len(platform.processor.deliveries)} deliveries still waiting")
    finally:
        await platform.stop()


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


def print_table(rows: Sequence[Row], config: Config, console: Console) -> None:
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
