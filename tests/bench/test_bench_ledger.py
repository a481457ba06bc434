"""The ledger benchmark's code path, run tiny: it must measure, and print clean JSON lines.

Speed is never asserted here (targets live in bench/RESULTS.md); these tests only
check that every measurement ran to the end with every transfer acknowledged OK,
and that the output has the shape other tools read.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mkoba.cli import app

REQUIRED = {"store", "mode", "batch", "transfers_per_s", "window", "transfers", "seconds", "rss_mb"}
TINY = ["--stores", "sqlite", "--accounts", "1000", "--seconds", "0.2"]


def test_json_lines_have_every_measurement_and_positive_figures() -> None:
    result = CliRunner().invoke(app, ["bench", "ledger", *TINY, "--batches", "1,64", "--json"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = [json.loads(line) for line in lines]  # nothing but JSON on stdout
    assert all(row.keys() >= REQUIRED for row in rows), rows
    measured = {(row["mode"], row["shape"], row["batch"]) for row in rows}
    assert measured == {
        ("naive", "uniform", 1),
        ("naive", "hot", 1),
        ("uniform", "uniform", 1),
        ("hot", "hot", 1),
        ("uniform", "uniform", 64),
        ("hot", "hot", 64),
    }
    for row in rows:
        assert row["store"] == "sqlite"
        assert row["transfers"] > 0
        assert row["seconds"] > 0
        assert row["transfers_per_s"] > 0
        assert row["rss_mb"] > 0
        assert row["window"] >= row["submit_transfers"] >= 1
    # A hot submit holds whole payments: batch 1 sends one payment of two transfers.
    hot_single = next(row for row in rows if row["mode"] == "hot" and row["batch"] == 1)
    assert hot_single["submit_transfers"] == 2
    # Ratios are filled in against the uniform row and the naive row of the same shape.
    ledger_rows = [row for row in rows if row["mode"] != "naive"]
    assert all(row["vs_naive"] > 0 for row in ledger_rows)
    assert all(row["hot_vs_uniform"] > 0 for row in ledger_rows if row["mode"] == "hot")


def test_the_table_shows_each_workload_and_the_targets() -> None:
    result = CliRunner().invoke(
        app, ["bench", "ledger", *TINY, "--batches", "8190", "--workloads", "uniform,hot"]
    )

    assert result.exit_code == 0, result.output
    assert "transfers/s" in result.stdout
    assert "hot/uniform" in result.stdout
    # Without naive there is no baseline ratio, but the batch-8190 targets are judged.
    assert "sqlite uniform batch 8190" in result.stdout


def test_a_bad_option_stops_with_a_clear_message() -> None:
    result = CliRunner().invoke(app, ["bench", "ledger", "--stores", "oracle", "--batches", "0"])

    assert result.exit_code == 2
    assert "unknown store 'oracle'" in result.stderr
    assert "batch 0 is outside 1..8190" in result.stderr
    assert result.stdout == ""
