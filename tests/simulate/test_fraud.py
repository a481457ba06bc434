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
    overall, *rows = simulate("--days", "3", "--cases", "1", "--seed", "7")
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
    # A realistic day of a few payments each is not stopped.
    assert overall["normal_payments"] > 50
    assert overall["normal_flagged"] == 0 and overall["false_positive_ratio"] == 0.0


def test_normal_traffic_alone_flags_nothing() -> None:
    overall, *rows = simulate("--days", "3", "--cases", "0", "--seed", "11")
    assert overall["injected"] == 0 and overall["caught_ratio"] is None
    assert overall["normal_payments"] > 50
    assert overall["normal_flagged"] == 0 and overall["normal_alerts"] == 0
    assert overall["false_positive_ratio"] == 0.0
    assert all(row["normal_flagged"] == 0 and row["normal_alerts"] == 0 for row in rows)
