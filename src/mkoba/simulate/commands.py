"""``mkoba simulate ...``: synthetic traffic with known truth (docs/simulate.md)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

simulate_app = typer.Typer(
    help="Run synthetic traffic with known ground truth through the real processor.",
    no_args_is_help=True,
)
console = Console()
error_console = Console(stderr=True)


@simulate_app.callback()
def simulate() -> None:
    """Synthetic traffic with known ground truth (one command per scenario)."""


@simulate_app.command("fraud")
def simulate_fraud(
    seed: int = typer.Option(19, help="Random seed: the same seed makes the same run"),
    customers: int = typer.Option(200, min=2, help="Demo customers making normal traffic"),
    days: int = typer.Option(7, min=2, help="Simulated days"),
    cases: int = typer.Option(20, min=0, help="Injected cases per typology"),
    swap_rate: float = typer.Option(
        0.1, min=0.0, help="Honest SIM swaps: the share of customers who change SIM a year"
    ),
    profile: str = typer.Option("kenya", help="Catalog profile name or YAML path"),
    json_lines: bool = typer.Option(
        False, "--json", help="One JSON object overall, then one per rule"
    ),
) -> None:
    """Normal traffic and injected fraud; a confusion matrix per rule and overall."""
    from mkoba.simulate.fraud import Config, run

    config = Config(
        seed=seed,
        customers=customers,
        days=days,
        cases=cases,
        swap_rate=swap_rate,
        profile=profile,
    )
    try:
        if json_lines:
            outcome = run(config)
        else:
            with console.status("simulating") as status:
                outcome = run(config, status.update)
    except ValueError as problem:
        error_console.print(f"[red]mkoba simulate fraud:[/red] {problem}")
        raise typer.Exit(2) from None
    if json_lines:
        print(json.dumps(outcome.overall(), sort_keys=True))
        for row in outcome.matrix.rows.values():
            print(json.dumps(row.as_json(), sort_keys=True))
        return
    render(outcome)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render(outcome: object) -> None:
    """The matrix as a Rich table, and the targets."""
    from mkoba.simulate.fraud import Outcome

    assert isinstance(outcome, Outcome)
    matrix, config = outcome.matrix, outcome.config
    table = Table(
        title=f"mkoba simulate fraud: {config.customers} customers, {config.days} days,"
        f" {config.cases} cases per typology, seed {config.seed}"
    )
    for name in ("rule", "typology", "injected", "caught", "missed", "rule fired", "broken"):
        table.add_column(name, justify="left" if name in ("rule", "typology") else "right")
    for name in ("normal flagged", "normal alerts", "precision", "recall"):
        table.add_column(name, justify="right")
    for row in matrix.rows.values():
        table.add_row(
            row.rule,
            row.typology,
            str(row.injected),
            str(row.caught),
            str(row.missed),
            str(row.fired),
            str(row.broken),
            str(row.normal_flagged),
            str(row.normal_alerts),
            _share(row.precision()),
            _share(row.recall()),
        )
    table.add_section()
    table.add_row(
        "all",
        f"{matrix.normal_payments:,} normal payments",
        str(matrix.injected),
        str(matrix.caught),
        str(matrix.injected - matrix.caught),
        "",
        "",
        str(matrix.normal_flagged),
        str(matrix.normal_alerts),
        "",
        _share(matrix.caught_ratio()),
    )
    console.print(table)
    overall = outcome.overall()
    caught, false = matrix.caught_ratio(), matrix.false_positive_ratio()
    console.print(
        f"caught {_share(caught)} of injected cases (target at least 95%);"
        f" {_share(false)} of normal payments held, stepped up or refused (target at most 0.5%):"
        f" {'[green]targets met' if overall['targets_met'] else '[yellow]targets not met'}[/]"
    )
    console.print(
        f"{outcome.requests:,} requests in {outcome.seconds:.1f} s;"
        f" {outcome.honest_swaps} honest SIM swaps in the background"
    )
