"""The table and target verdicts ``mkoba bench ledger`` prints after measuring."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from mkoba.bench.ledger_config import (
    Config,
    Row,
    target_batch,
    target_hot_vs_uniform,
    target_sqlite_transfers_per_s,
    target_vs_naive,
)


def print_table(rows: Sequence[Row], config: Config, console: Console) -> None:
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
