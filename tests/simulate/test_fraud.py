"""``mkoba simulate fraud`` end to end: a small run through the real processor.

Each run starts a platform with the demo population on a scratch store, plays a few
simulated days and reads the compliance queue, as the command does for a user.
"""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from mkoba.simulate.commands import simulate_app

INLINE = ("R1", "R2", "R6", "R8")  # the rules that run in TranProc today
KEYS = {"rule", "typology", "injected", "caught", "missed", "normal_flagged", "precision", "recall"}


def simulate(*options: str) -> list[dict[str, Any]]:
    """The command's JSON lines (exit code 0 whatever the figures)."""
    result = CliRunner().invoke(simulate_app, ["fraud", "--json", "--customers", "20", *options])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def test_a_small_run_catches_the_inline_typologies_and_its_numbers_add_up() -> None:
    # Many honest SIM swaps: R6 then stops normal cash-outs, and the count must show it.
    overall, *rows = simulate("--days", "3", "--cases", "1", "--seed", "7", "--swap-rate", "50")
    assert {"caught_ratio", "false_positive_ratio", "normal_payments"} <= set(overall)
    by_rule = {row["rule"]: row for row in rows}
    # Every typology is in the output, caught or not (the stream rules may not run yet).
    assert {"R1", "R2", "R3", "R4", "R5", "R6", "R8", "R9", "R10"} <= set(by_rule)
    for row in rows:
        assert set(row) >= KEYS, row
        assert row["caught"] + row["missed"] == row["injected"]
        assert row["broken"] == 0, row  # every case happened as planned (funds, limits)
    assert sum(row["injected"] for row in rows) == overall["injected"] == 9
    assert sum(row["caught"] for row in rows) == overall["caught"]
    assert overall["caught"] + overall["missed"] == overall["injected"]
    assert overall["caught_ratio"] == round(overall["caught"] / overall["injected"], 4)
    for rule in INLINE:
        assert by_rule[rule]["caught"] == 1 and by_rule[rule]["fired"] == 1, by_rule[rule]
    assert overall["normal_payments"] > 50 and overall["honest_swaps"] > 0
    assert by_rule["R6"]["normal_flagged"] > 0
    assert overall["normal_flagged"] >= by_rule["R6"]["normal_flagged"]
    ratio = overall["normal_flagged"] / overall["normal_payments"]
    assert overall["false_positive_ratio"] == round(ratio, 4)


def test_normal_traffic_alone_flags_nothing() -> None:
    overall, *rows = simulate("--days", "3", "--cases", "0", "--seed", "11", "--swap-rate", "0")
    assert overall["injected"] == 0 and overall["caught_ratio"] is None
    assert overall["normal_payments"] > 50
    assert overall["normal_flagged"] == 0 and overall["normal_alerts"] == 0
    assert overall["false_positive_ratio"] == 0.0
    assert all(row["normal_flagged"] == 0 and row["normal_alerts"] == 0 for row in rows)


def test_the_table_shows_each_rule_the_totals_and_whether_the_targets_are_met(
    monkeypatch: Any,
) -> None:
    from rich.console import Console

    from mkoba.simulate import commands
    from mkoba.simulate.fraud import Config, Outcome
    from mkoba.simulate.score import Matrix, RuleRow

    matrix = Matrix(normal_payments=1_000, normal_flagged=10, injected=40, caught=39)
    matrix.rows = {
        "R1": RuleRow("R1", "velocity burst", injected=20, caught=20, fired=20),
        "R6": RuleRow("R6", "SIM-swap takeover", injected=20, caught=19, normal_flagged=10),
    }
    screen = Console(record=True, width=200)
    monkeypatch.setattr(commands, "console", screen)
    commands.render(Outcome(Config(customers=50, days=3, cases=20), matrix, 1_500, 12.0, 2))
    text = screen.export_text()
    assert "SIM-swap takeover" in text and "velocity burst" in text
    r6 = next(line for line in text.splitlines() if "SIM-swap takeover" in line)
    cells = [cell.strip() for cell in r6.split("│") if cell.strip()]
    assert cells[-2:] == ["65.5%", "95.0%"]  # precision 19/29, recall 19/20
    assert "caught 97.5% of injected cases" in text and "1.0% of normal payments" in text
    assert "targets not met" in text  # 1% stopped is over the 0.5% target
