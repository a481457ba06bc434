"""The benches measure the platform's forms side by side: stores, one process or split.

``mkoba bench processor`` and ``mkoba bench daraja`` take ``--store`` (one store
or several), ``--split nats://...`` (each store again as a core process and a
front on NATS) and ``--rounds``. Run tiny: every form must measure with every
request succeeding, each row must say which form it measured, and its ratio to
the first form. Speed is never asserted here (bench/RESULTS.md holds it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from mkoba.cli import app
from tests.conftest import NATS_URL, require_nats, require_postgres

TINY = ["--customers", "200", "--clients", "8", "--seconds", "0.5", "--loop", "asyncio"]
FORM = {"store", "processes", "form", "round", "form_ratio", "children_cpu_ms_per_tx"}


def processor_rows(*options: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["bench", "processor", *TINY, "--json", *options])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(row.keys() >= FORM for row in rows), rows
    for row in rows:
        assert row["transactions"] > 0 and row["tx_per_s"] > 0
    return rows


@pytest.mark.postgres
def test_processor_measures_each_store_in_turn_round_after_round() -> None:
    require_postgres()
    rows = processor_rows("--channels", "system", "--store", "sqlite,postgresql", "--rounds", "2")

    measured = [(row["round"], row["store"], row["mode"]) for row in rows]
    assert measured == [
        (round_number, store, mode)
        for round_number in (1, 2)
        for store in ("sqlite", "postgresql")
        for mode in ("closed", "open")
    ]
    for row in rows:
        assert row["processes"] == "one"
        assert row["form"] == f"{row['store']}, one process"
        assert row["children_cpu_ms_per_tx"] > 0  # the commit process
        if row["mode"] == "open":
            assert row["form_ratio"] is None  # the open loop is compared by its p99
    closed = {(row["round"], row["store"]): row for row in rows if row["mode"] == "closed"}
    for round_number in (1, 2):
        sqlite, postgresql = closed[(round_number, "sqlite")], closed[(round_number, "postgresql")]
        assert sqlite["form_ratio"] == 1.0
        ratio = postgresql["tx_per_s"] / sqlite["tx_per_s"]
        assert postgresql["form_ratio"] == pytest.approx(ratio, abs=0.002)


def test_processor_split_drives_a_core_process_through_a_front() -> None:
    require_nats()
    rows = processor_rows("--channels", "api", "--split", NATS_URL)

    assert [(row["processes"], row["mode"]) for row in rows] == [
        ("one", "closed"),
        ("one", "open"),
        ("split", "closed"),
        ("split", "open"),
    ]
    one, split = rows[0], rows[2]
    assert (one["form"], split["form"]) == ("sqlite, one process", "sqlite, core + front on NATS")
    # The core decided every request in a process of its own: its CPU is the children's,
    # and the front's (this process) is a fraction of one process's.
    for one_row, split_row in zip(rows[:2], rows[2:], strict=True):
        assert split_row["children_cpu_ms_per_tx"] > one_row["children_cpu_ms_per_tx"]
        assert split_row["cpu_ms_per_tx"] < one_row["cpu_ms_per_tx"]
    assert split["form_ratio"] > 0


def test_processor_table_names_each_form_and_its_ratio() -> None:
    require_nats()
    result = CliRunner().invoke(
        app,
        ["bench", "processor", *TINY, "--channels", "system", "--split", NATS_URL],
    )

    assert result.exit_code == 0, result.output
    assert "system closed loop, sqlite, core + front on NATS / sqlite, one process:" in (
        result.stdout
    )


@pytest.mark.postgres
def test_daraja_measures_each_form_and_says_which() -> None:
    require_nats()
    require_postgres()
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "daraja",
            *("--seconds", "0.5", "--clients", "2", "--no-peer", "--json"),
            *("--store", "sqlite,postgresql", "--split", NATS_URL),
        ],
    )

    assert result.exit_code == 0, result.output
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(found["store"], found["processes"]) for found in results] == [
        ("sqlite", "one"),
        ("postgresql", "one"),
        ("sqlite", "core + front on NATS"),
        ("postgresql", "core + front on NATS"),
    ]
    assert results[0]["form_ratio"] == 1.0
    for found in results:
        assert found["failed"] == 0, found["failures"]
        assert found["tx_per_s"] > 0 and found["form_ratio"] > 0
        assert found["round"] == 1
        assert found["form"].startswith(found["store"])


def test_bad_forms_are_refused_with_a_reason() -> None:
    processor = CliRunner().invoke(
        app,
        ["bench", "processor", "--store", "oracle,sqlite", "--rounds", "0", "--split", "x://y"],
    )
    assert processor.exit_code == 2
    for reason in ("unknown store 'oracle'", "rounds must be 1..20", "split:"):
        assert reason in processor.output
    daraja = CliRunner().invoke(app, ["bench", "daraja", "--store", "sqlite,sqlite"])
    assert daraja.exit_code == 2
    assert "give each store once" in daraja.output
