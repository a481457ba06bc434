"""``mkoba bench console``, run small: it builds a store, serves it and measures every figure.

Speed is never asserted here (targets live in bench/RESULTS.md). The bench itself
stops on a wrong answer (a search that finds another customer, a receipt that finds
nobody); these tests check the JSON a tool reads, that the store it builds holds
what it says and balances, and that a kept store is reused.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mkoba.cli import app
from mkoba.ledger import open_store
from mkoba.ledger.reconcile import reconcile

REQUIRED = {
    "customers",
    "transactions",
    "search_p99_ms",
    "customer360_p99_ms",
    "statement_year_s",
    "finance_pack_s",
}
SMALL = ["--customers", "300", "--transactions", "3000", "--lookups", "40", "--json"]


def test_a_small_store_is_built_served_and_measured(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["bench", "console", *SMALL, "--store", str(store)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures.keys() >= REQUIRED
    assert figures["customers"] == 300
    assert figures["transactions"] >= 3000
    for name in ("search_p99_ms", "customer360_p99_ms", "statement_year_s", "finance_pack_s"):
        assert figures[name] > 0, name
    assert figures["search_phone_p50_ms"] <= figures["search_phone_p99_ms"]
    # The statement is the busiest customer's year: every line of theirs but the last
    # hours (the year ends with the last full day).
    made = figures["busiest_customer_lines"]
    assert 0.9 * made <= figures["statement_lines"] <= made
    assert figures["finance_pack_transactions"] > 0
    # What was built is what was counted, and the books balance.
    books = open_store(str(store / "mkoba.db"))
    try:
        receipts = books.query("SELECT COUNT(*) FROM receipts WHERE reference <> ''")[0][0]
        customers = books.query("SELECT COUNT(*) FROM parties WHERE kind = 'customer'")[0][0]
        report = reconcile(books)
    finally:
        books.close()
    assert receipts >= figures["transactions"]
    assert customers >= 300
    assert report.ok, [check.problems[:3] for check in report.checks if not check.ok]
    again = CliRunner().invoke(app, ["bench", "console", *SMALL, "--store", str(store)])
    assert again.exit_code == 0, again.output
    assert "reusing the store" in again.stderr
    assert json.loads(again.stdout)["transactions"] == figures["transactions"]


def test_a_store_too_small_to_measure_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "console", "--customers", "1", "--json"])
    assert result.exit_code == 1
    assert "--customers at least 2" in result.stderr
