"""``mkoba bench processor``, run tiny: it must measure every loop and print clean JSON lines.

Speed is never asserted here (targets live in bench/RESULTS.md). These tests check
that every request of every loop succeeded (the bench stops on any failure), that
the books balanced afterwards, and that the output has the shape tools read.
"""

from __future__ import annotations

import gc
import json

from typer.testing import CliRunner

from mkoba.bench.measure import percentile
from mkoba.cli import app

REQUIRED = {"tx_per_s", "p50_ms", "p99_ms", "mode", "clients", "channel", "cpu_ms_per_tx"}
TINY = ["--customers", "200", "--clients", "8", "--seconds", "0.5", "--loop", "asyncio"]


def test_json_lines_have_every_loop_and_the_books_balance() -> None:
    thresholds = gc.get_threshold()
    result = CliRunner().invoke(app, ["bench", "processor", *TINY, "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(row.keys() >= REQUIRED for row in rows), rows
    assert [(row["channel"], row["mode"]) for row in rows] == [
        ("api", "closed"),
        ("api", "open"),
        ("system", "closed"),
        ("system", "open"),
    ]
    for row in rows:
        assert row["transactions"] > 0 and row["tx_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert row["clients"] == (8 if row["mode"] == "closed" else 0)
    closed, opened = rows[0], rows[1]
    # The open loop offers half the closed loop's rate.
    assert abs(opened["offered_per_s"] - closed["tx_per_s"] / 2) <= 0.1
    # The server's garbage-collector pace is for the run only.
    assert gc.get_threshold() == thresholds


def test_bad_options_are_refused_with_a_reason() -> None:
    result = CliRunner().invoke(app, ["bench", "processor", "--channels", "ussd", "--clients", "0"])
    assert result.exit_code == 2
    assert "unknown channel 'ussd'" in result.output and "clients must be 1..4096" in result.output


def test_percentile_is_nearest_rank() -> None:
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([], 0.99) == 0.0
