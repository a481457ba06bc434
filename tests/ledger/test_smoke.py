"""The ledger's round trip on each store: create, transfer, restart, reconcile."""

from __future__ import annotations

from mkoba.ledger import (
    Account,
    AccountFlags,
    AccountKind,
    LedgerWriter,
    Transfer,
    TransferResult,
    open_store,
)
from mkoba.ledger.reconcile import reconcile

WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def test_money_survives_a_restart_and_the_books_reconcile(store_url: str) -> None:
    accounts = [
        Account(1, 1, "KES", AccountKind.TRUST),
        Account(2, 1, "KES", AccountKind.EMONEY, WALLET),
        Account(3, 1, "KES", AccountKind.EMONEY, WALLET),
    ]
    with LedgerWriter(open_store(store_url)) as writer:
        assert all(r.ok for r in writer.create_accounts(accounts).result())
        results = writer.submit([Transfer(10, 1, 2, 5_000, 1), Transfer(11, 2, 3, 2_000, 1)])
        assert results.result() == [TransferResult.OK, TransferResult.OK]
        overdraw = writer.submit([Transfer(12, 3, 2, 2_001, 1)]).result()
        assert overdraw == [TransferResult.EXCEEDS_CREDITS]

    with LedgerWriter(open_store(store_url)) as writer:
        balances = writer.balances([1, 2, 3]).result()
        assert [b.credit_balance for b in balances if b is not None] == [-5_000, 3_000, 2_000]
        # The pinned failure and the applied transfer both survived the restart.
        assert writer.submit([Transfer(12, 3, 2, 2_001, 1)]).result() == overdraw
        assert writer.submit([Transfer(11, 2, 3, 2_000, 1)]).result() == [TransferResult.EXISTS]

    with open_store(store_url) as store:
        report = reconcile(store)
    assert report.ok, [check.problems for check in report.checks]
    assert report.transfers == 2
