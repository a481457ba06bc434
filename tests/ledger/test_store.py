"""The stores: append-only history, CHECK constraints, tamper detection, attached rows.

Every test runs on SQLite and on PostgreSQL. Tampering goes through a connection
of its own, as someone with database access (not the ledger) would.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from mkoba.ledger import (
    Account,
    AccountKind,
    LedgerWriter,
    StoreError,
    Transfer,
    TransferFlags,
    TransferResult,
    Write,
    WriterError,
    open_store,
)
from mkoba.ledger.reconcile import Report, reconcile
from tests.ledger.helpers import WALLET, credit_balances, raw_execute

R = TransferResult
TRUST, ALICE, BOB, FEES = 1, 2, 3, 4
ACCOUNTS = [
    Account(TRUST, 1, "KES", AccountKind.TRUST),
    Account(ALICE, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(BOB, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(FEES, 1, "KES", AccountKind.EMONEY),
]
TRANSFER_COLUMNS = (
    "timestamp, id, debit_account_id, credit_account_id, amount, ledger, code, flags,"
    " pending_id, timeout_s, user_data"
)
INSERT_TRANSFER = (
    f"INSERT INTO ledger_transfers ({TRANSFER_COLUMNS}) VALUES ({', '.join('?' * 11)})"
)


def books(url: str) -> None:
    """A clean ledger: issuance, a transfer, a fee chain, a pending, a pinned failure."""
    with LedgerWriter(open_store(url)) as writer:
        assert all(result.ok for result in writer.create_accounts(ACCOUNTS).result())
        batches = [
            [Transfer(10, TRUST, ALICE, 10_000, 1), Transfer(11, TRUST, BOB, 5_000, 1)],
            [
                Transfer(12, ALICE, BOB, 1_000, 1, flags=TransferFlags.LINKED),
                Transfer(13, ALICE, FEES, 30, 1),
            ],
            [Transfer(14, BOB, ALICE, 200, 1, flags=TransferFlags.PENDING)],
        ]
        for batch in batches:
            assert writer.submit(batch).result() == [R.OK] * len(batch)
        assert writer.submit([Transfer(15, BOB, ALICE, 1_000_000, 1)]).result() == [
            R.EXCEEDS_CREDITS
        ]


def check_report(url: str) -> Report:
    with open_store(url) as store:
        return reconcile(store)


def problems_of(report: Report, name: str) -> list[str]:
    [check] = [check for check in report.checks if check.name == name]
    return check.problems


def rows(url: str, table: str) -> list[tuple[object, ...]]:
    with open_store(url) as store:
        return store.query(f"SELECT * FROM {table} ORDER BY timestamp")


def refused_error(url: str) -> type[Exception]:
    return psycopg.errors.RaiseException if url.startswith("postgresql") else sqlite3.DatabaseError


# -- append-only ----------------------------------------------------------------------


@pytest.mark.parametrize("table", ["ledger_transfers", "ledger_failures"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET amount = amount + 1",
        "UPDATE {table} SET amount = amount WHERE id IN (10, 15)",
        "DELETE FROM {table}",
        "DELETE FROM {table} WHERE id IN (10, 15)",
    ],
)
def test_history_rejects_update_and_delete(store_url: str, table: str, statement: str) -> None:
    books(store_url)
    before = rows(store_url, table)
    assert before

    with open_store(store_url) as store, pytest.raises(refused_error(store_url)) as error:
        store.execute(statement.format(table=table))

    assert "append-only" in str(error.value)
    if store_url.startswith("postgresql"):
        assert error.value.sqlstate == "P0001"  # type: ignore[attr-defined]
    assert rows(store_url, table) == before
    assert check_report(store_url).ok


# -- CHECK constraints ----------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        (900, 90, ALICE, BOB, 0, 1, 0, 0, 0, 0, 0),
        (900, 90, ALICE, BOB, -5, 1, 0, 0, 0, 0, 0),
        (900, 90, ALICE, ALICE, 5, 1, 0, 0, 0, 0, 0),
        (900, 90, ALICE, BOB, 5, 0, 0, 0, 0, 0, 0),
        (900, None, ALICE, BOB, 5, 1, 0, 0, 0, 0, 0),
    ],
    ids=["zero amount", "negative amount", "debit is credit", "ledger 0", "no id, not expiry"],
)
def test_check_constraints_reject_rows_the_engine_would_never_write(
    store_url: str, values: tuple[object, ...]
) -> None:
    books(store_url)
    before = rows(store_url, "ledger_transfers")
    postgres = store_url.startswith("postgresql")
    expected = psycopg.errors.CheckViolation if postgres else sqlite3.IntegrityError
    with open_store(store_url) as store, pytest.raises(expected) as error:
        store.execute(INSERT_TRANSFER, values)

    if postgres:
        assert error.value.sqlstate == "23514"  # type: ignore[attr-defined]
    else:
        assert "CHECK constraint failed" in str(error.value)
    assert rows(store_url, "ledger_transfers") == before


# -- tampering ------------------------------------------------------------------------


def test_a_changed_balance_is_named_by_reconcile_and_stops_the_writer(store_url: str) -> None:
    books(store_url)
    assert check_report(store_url).ok
    # UPDATE is allowed on accounts (balances are checkpoints), so it is the easy forgery.
    raw_execute(
        store_url,
        "UPDATE ledger_accounts SET credits_posted = credits_posted + 500 WHERE id = ?",
        (BOB,),
    )

    report = check_report(store_url)

    assert not report.ok
    [problem] = problems_of(report, "balances")
    assert problem.startswith(f"account {BOB}: stored ")
    assert any("posted debits" in p for p in problems_of(report, "invariants"))
    assert problems_of(report, "replay")
    assert problems_of(report, "pending") == []
    store = open_store(store_url)
    with pytest.raises(StoreError, match=f"account {BOB}: stored balance"):
        LedgerWriter(store).start()


def test_a_forged_transfer_row_is_found_and_stops_the_writer(store_url: str) -> None:
    books(store_url)
    # Balanced, within limits, and stamped before the checkpoint, as if it had always been.
    raw_execute(
        store_url,
        INSERT_TRANSFER,
        (1, 777, TRUST, FEES, 900, 1, 0, 0, 0, 0, 0),
    )

    report = check_report(store_url)

    assert not report.ok
    balance_problems = problems_of(report, "balances")
    assert sorted(p.split(":")[0] for p in balance_problems) == [
        f"account {TRUST}",
        f"account {FEES}",
    ]
    store = open_store(store_url)
    with pytest.raises(StoreError, match="stored balance"):
        LedgerWriter(store).start()


def test_a_forged_overdraft_after_the_checkpoint_is_found_by_replay(store_url: str) -> None:
    books(store_url)
    with open_store(store_url) as store:
        after = store.checkpoint() + 1
    raw_execute(
        store_url,
        INSERT_TRANSFER,
        (after, 778, ALICE, BOB, 99_999, 1, 0, 0, 0, 0, 0),
    )

    report = check_report(store_url)

    [problem] = problems_of(report, "replay")
    assert f"account {ALICE}: debits exceed credits" in problem
    store = open_store(store_url)
    with pytest.raises(StoreError, match="breaks its invariants"):
        LedgerWriter(store).start()


def test_a_forged_resolution_of_a_pending_is_found(store_url: str) -> None:
    books(store_url)
    with open_store(store_url) as store:
        after = store.checkpoint() + 1
    # A post of pending 14 for more than it reserved.
    flags = int(TransferFlags.POST_PENDING)
    raw_execute(
        store_url,
        INSERT_TRANSFER,
        (after, 779, BOB, ALICE, 201, 1, 0, flags, 14, 0, 0),
    )

    [problem] = problems_of(check_report(store_url), "pending")
    assert "pending 14 does not match it" in problem


# -- rows attached to a batch commit with it, or not at all ----------------------------

RECEIPTS = """
CREATE TABLE receipts (
    id BIGINT PRIMARY KEY,
    transfer_id BIGINT NOT NULL,
    result INTEGER NOT NULL
);
"""


def receipt(id: int, transfer_id: int, result: int = 0) -> Write:
    return Write("receipts", ("id", "transfer_id", "result"), (id, transfer_id, result))


def test_attached_rows_commit_with_the_transfers(store_url: str) -> None:
    with LedgerWriter(open_store(store_url)) as writer:
        writer.store.migrate_script("test_receipts", RECEIPTS)
        writer.store.migrate_script("test_receipts", RECEIPTS)  # once only
        writer.create_accounts(ACCOUNTS).result()
        first = writer.submit([Transfer(10, TRUST, ALICE, 100, 1)], attach=[receipt(1, 10)])
        assert first.result() == [R.OK]
        # A function of the results: the receipt records what the ledger decided.
        second = writer.submit(
            [Transfer(11, ALICE, BOB, 60, 1), Transfer(12, ALICE, BOB, 60, 1)],
            attach=lambda results: [
                receipt(2 + index, 11 + index, int(result)) for index, result in enumerate(results)
            ],
        )
        assert second.result() == [R.OK, R.EXCEEDS_CREDITS]
        # Acknowledged means committed: the rows are visible to another connection now.
        with open_store(store_url) as reader:
            stored = reader.query("SELECT id, transfer_id, result FROM receipts ORDER BY id")
            transfers = reader.query("SELECT id FROM ledger_transfers ORDER BY id")
    assert stored == [(1, 10, 0), (2, 11, 0), (3, 12, int(R.EXCEEDS_CREDITS))]
    assert transfers == [(10,), (11,)]


def test_a_failing_attached_row_takes_the_transfers_down_with_it(store_url: str) -> None:
    with LedgerWriter(open_store(store_url)) as writer:
        writer.store.migrate_script("test_receipts", RECEIPTS)
        writer.create_accounts(ACCOUNTS).result()
        writer.submit([Transfer(10, TRUST, ALICE, 100, 1)], attach=[receipt(1, 10)]).result()
        # Receipt 1 exists: the whole command must fail, money included...
        doomed = writer.submit([Transfer(11, ALICE, BOB, 60, 1)], attach=[receipt(1, 11)])
        with pytest.raises(WriterError):
            doomed.result()
        # ...and only that command: the writer goes on.
        assert writer.submit([Transfer(12, ALICE, BOB, 1, 1)]).result() == [R.OK]

    with open_store(store_url) as store:
        assert store.query("SELECT id FROM ledger_transfers ORDER BY id") == [(10,), (12,)]
        assert store.query("SELECT id, transfer_id FROM receipts") == [(1, 10)]
    with LedgerWriter(open_store(store_url)) as writer:
        assert credit_balances(writer.balances([ALICE, BOB]).result()) == [99, 1]
        # The id was never used: the retry goes through, with a fresh receipt.
        retry = writer.submit([Transfer(11, ALICE, BOB, 60, 1)], attach=[receipt(2, 11)])
        assert retry.result() == [R.OK]
    assert check_report(store_url).ok


def test_each_read_sees_every_commit_before_it_and_a_snapshot_keeps_its_view(
    store_url: str,
) -> None:
    """Reader connections are kept between reads; none may serve an old state."""
    with LedgerWriter(open_store(store_url)) as writer:
        writer.create_accounts(ACCOUNTS).result()
        store = writer.store
        count = "SELECT COUNT(*) FROM ledger_transfers"
        with store.snapshot() as before:
            # A snapshot's view is fixed by its first read.
            assert before.query(count) == [(0,)]
            for index in range(1, 21):
                assert writer.submit([Transfer(index, TRUST, ALICE, 1, 1)]).result() == [R.OK]
                assert store.query(count) == [(index,)]
            assert before.query(count) == [(0,)]
        with store.snapshot() as after:
            assert after.query(count) == [(20,)]
