"""``mkoba bench processor``: business transactions per second through TranProc, and latency.

Method (bench/RESULTS.md records the figures):

- A real ``Platform`` per channel and form on a store of its own: by default the
  embedded form, a temporary SQLite file (WAL, synchronous=FULL), the in-process
  bus, the outbox sender and every extension, no demo data. ``--store`` names
  the stores to measure (``sqlite``, ``postgresql``: a scratch schema, dropped
  after); ``--split nats://...`` measures each store split too: a core
  process and a front (``processor_forms.py``). ``customers`` customers are
  created and funded before the clock starts, as the operator's tooling would
  (directory rows, keyed PIN verifiers, e-money issued against the trust
  account).
- Forms are measured side by side, ``--rounds`` times over, interleaved; each row
  names its form and round, and its closed-loop tx/s over the first form's in
  the same round (``form_ratio``); the table adds the ratios of the sums.
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
- Every request must succeed; at the end no delivery may be left waiting (one
  process) and (unless ``--no-reconcile``) ``mkoba reconcile``'s checks must pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mkoba.bench.processor_config import Config, Row, target_p99_ms, target_tx_per_s
from mkoba.bench.processor_forms import measure_form
from mkoba.bench.stores import check_postgres
from mkoba.processor import gc_tuning

__all__ = ["Config", "run"]


def run(config: Config, *, console: Console, json_lines: bool = False) -> list[Row]:
    """Measure every channel ``config`` asks for; print a table, or JSON lines to stdout."""
    status = Console(stderr=True)
    problems = config.problems()
    if problems:
        status.print(f"[red]mkoba bench processor:[/red] {escape('; '.join(problems))}")
        raise SystemExit(2)
    if "postgresql" in config.stores:
        check_postgres(config.postgres_url, status)
    rows: list[Row] = []

    def emit(row: Row) -> None:
        rows.append(row)
        status.print(
            f"{row.form}, round {row.round}, {row.channel} {row.mode}: {row.tx_per_s:,.0f} tx/s,"
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
    """Every form of every channel, round after round: forms side by side in time."""
    forms = config.forms()
    for round_number in range(1, config.rounds + 1):
        for channel in config.channels:
            # Each form on a platform and store of its own: a form measured on the store
            # and heap another one grew would read lower for that alone.
            first: dict[str, Row] = {}
            for form in forms:
                rules = "rules" if form.rules else "plain"
                folder = (
                    directory / f"{round_number}-{channel}-{form.store}-{form.processes}-{rules}"
                )
                folder.mkdir()
                for row in await measure_form(config, form, channel, folder, status):
                    base = first.setdefault(row.mode, row)
                    # Throughput is compared in the closed loop; the open loop offers
                    # each form half its own closed-loop rate (compare its p99).
                    ratio = row.tx_per_s / base.tx_per_s if row.mode == "closed" else None
                    emit(dataclasses.replace(row, round=round_number, form_ratio=ratio))


def form_ratios(rows: Sequence[Row]) -> list[tuple[str, str, str, float, float]]:
    """(channel, form, first form, summed closed-loop tx/s, ratio to the first form's sum)."""
    sums: dict[tuple[str, str], float] = {}
    for row in rows:
        if row.mode == "closed":
            key = (row.channel, row.form)
            sums[key] = sums.get(key, 0.0) + row.tx_per_s
    firsts: dict[str, str] = {}
    for channel, form in sums:
        firsts.setdefault(channel, form)
    return [
        (channel, form, firsts[channel], total, total / sums[(channel, firsts[channel])])
        for (channel, form), total in sums.items()
    ]


def print_table(rows: Sequence[Row], config: Config, console: Console) -> None:
    table = Table(
        title=(
            f"send money through TranProc: {config.customers:,} customers, {os.cpu_count()} cores"
        ),
        caption=(
            "closed: throughput with --clients clients; open: Poisson arrivals at half that."
            " x first: closed-loop tx/s over the first form's, same round."
            " CPU: this process's (the load, and the platform or its front);"
            " children: the commit process, or the core and its commit process."
        ),
        box=box.SIMPLE_HEAD,
    )
    for name in ("round", "store", "processes", "channel", "mode"):
        table.add_column(name)
    for name in (
        "clients",
        "tx/s",
        "x first",
        "p50 ms",
        "p99 ms",
        "settled p99 ms",
        "CPU ms/tx",
        "children CPU ms/tx",
    ):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            str(row.round),
            row.store,
            row.processes,
            row.channel,
            row.mode,
            str(row.clients or "-"),
            f"{row.tx_per_s:,.0f}",
            "-" if row.form_ratio is None else f"{row.form_ratio:.2f}",
            f"{row.p50_ms:.1f}",
            f"{row.p99_ms:.1f}",
            f"{row.settled_p99_ms:.1f}",
            f"{row.cpu_ms_per_tx:.2f}",
            "-" if row.children_cpu_ms_per_tx is None else f"{row.children_cpu_ms_per_tx:.2f}",
        )
    console.print(table)
    forms = config.forms()
    if len(forms) > 1:
        rounds = f"the sums of {config.rounds} rounds" if config.rounds > 1 else "one round"
        for channel, form, first, total, ratio in form_ratios(rows):
            if form != first:
                console.print(
                    f"{channel} closed loop, {form} / {first}: [bold]{ratio:.2f}x[/]"
                    f" ({total / config.rounds:,.0f} tx/s a round; {rounds})"
                )
    for row in rows:
        if row.channel != "api" or row.form != forms[0].name:
            continue
        if row.mode == "closed":
            met = row.tx_per_s >= target_tx_per_s
            text = f"api closed loop: {row.tx_per_s:,.0f} tx/s (target {target_tx_per_s:,})"
        else:
            met = row.p99_ms <= target_p99_ms
            text = f"api open loop at half load: p99 {row.p99_ms:.1f} ms (target {target_p99_ms:g})"
        console.print(f"{'[green]met' if met else '[red]not met'}[/]: {text}")
