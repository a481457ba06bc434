"""``mkoba reconcile``: what an operator runs, and the exit codes scripts rely on."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mkoba.cli import app
from mkoba.ledger import Account, AccountKind, LedgerWriter, Transfer, TransferFlags, open_store
from tests.ledger.helpers import WALLET, raw_execute


def write_books(url: str) -> None:
    with LedgerWriter(open_store(url)) as writer:
        writer.create_accounts(
            [
                Account(1, 1, "KES", AccountKind.TRUST),
                Account(2, 1, "KES", AccountKind.EMONEY, WALLET),
                Account(3, 1, "KES", AccountKind.EMONEY, WALLET),
            ]
        ).result()
        writer.submit([Transfer(10, 1, 2, 5_000, 1), Transfer(11, 2, 3, 2_000, 1)]).result()
        writer.submit([Transfer(12, 3, 2, 500, 1, flags=TransferFlags.PENDING)]).result()


def run_reconcile(db: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["reconcile", "--db", db], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_a_clean_store_balances(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    write_books(db)

    code, output = run_reconcile(db)

    assert code == 0, output
    assert "the books balance" in output
    assert "3 transfers" in output


def test_a_clean_postgres_store_balances(postgres_url: str) -> None:
    write_books(postgres_url)
    code, output = run_reconcile(postgres_url)
    assert code == 0, output
    assert "the books balance" in output


def test_tampering_exits_1_and_names_the_account(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    write_books(db)
    raw_execute(db, "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = 3")

    code, output = run_reconcile(db)

    assert code == 1, output
    assert "the books balance" not in output
    assert "balances: account 3: stored" in output


def test_a_missing_file_exits_2_without_creating_it(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.db"

    code, output = run_reconcile(str(db))

    assert code == 2
    assert "no ledger at" in output
    assert not db.exists()
