"""A walk through the ledger: issue e-money, send it, reserve and post, reconcile."""

from __future__ import annotations

import itertools
import time

from rich.console import Console
from rich.table import Table

from mkoba.ledger import (
    Account,
    AccountFlags,
    AccountKind,
    LedgerWriter,
    Transfer,
    TransferFlags,
    open_store,
)
from mkoba.ledger.reconcile import reconcile
from mkoba.money import currency, format_amount

KES = currency("KES")
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
NAMES = {
    1: "trust account mirror",
    2: "agent float (Mama Mboga shop)",
    3: "wallet 254712345678 (Wanjiku)",
    4: "wallet 254722000001 (Otieno)",
    5: "fee income",
}


def run_demo(db: str, console: Console) -> None:
    """Run the walk-through against the store at ``db`` and print what happened."""
    writer = LedgerWriter(open_store(db)).start()
    try:
        _walk(writer, console)
        writer.checkpoint().result()
        _print_balances(writer, console)
    finally:
        writer.stop()
    with open_store(db) as store:
        report = reconcile(store)
    for check in report.checks:
        mark = "[green]ok[/green]" if check.ok else "[red]WRONG[/red]"
        console.print(f"reconcile {check.name}: {mark} ({check.checked:,} checked)")


def _walk(writer: LedgerWriter, console: Console) -> None:
    accounts = [
        Account(
            1,
            1,
            "KES",
            AccountKind.TRUST,
            AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
            overdraft_limit=10**15,
        ),
        Account(2, 1, "KES", AccountKind.EMONEY, WALLET),
        Account(3, 1, "KES", AccountKind.EMONEY, WALLET, balance_max=500_000_00),
        Account(4, 1, "KES", AccountKind.EMONEY, WALLET, balance_max=500_000_00),
        Account(5, 1, "KES", AccountKind.EMONEY, WALLET),
    ]
    writer.create_accounts(accounts).result()
    # Ids derived from the clock keep every run of the demo distinct.
    ids = itertools.count(time.time_ns() // 1000)
    linked = TransferFlags.LINKED
    steps = [
        (
            "issue 100,000 of e-money to the agent's float (bank deposit)",
            [Transfer(next(ids), 1, 2, 100_000_00, 1)],
        ),
        (
            "agent deposits 5,000 cash into Wanjiku's wallet",
            [Transfer(next(ids), 2, 3, 5_000_00, 1)],
        ),
        (
            "Wanjiku sends 1,000 to Otieno with a 13 fee (linked: both or neither)",
            [
                Transfer(next(ids), 3, 4, 1_000_00, 1, flags=linked),
                Transfer(next(ids), 3, 5, 13_00, 1),
            ],
        ),
        ("Otieno tries to send 9,000 he does not have", [Transfer(next(ids), 4, 3, 9_000_00, 1)]),
    ]
    for title, transfers in steps:
        results = writer.submit(transfers).result()
        console.print(f"{title}: [bold]{', '.join(result.name for result in results)}[/bold]")
    pending_id = next(ids)
    result = writer.submit(
        [Transfer(pending_id, 3, 4, 500_00, 1, flags=TransferFlags.PENDING, timeout_s=60)]
    ).result()
    console.print(
        f"reserve 500 from Wanjiku for Otieno (pending, 60 s): [bold]{result[0].name}[/bold]"
    )
    result = writer.submit(
        [Transfer(next(ids), 0, 0, 0, 0, flags=TransferFlags.POST_PENDING, pending_id=pending_id)]
    ).result()
    console.print(f"the response was delivered, so post it: [bold]{result[0].name}[/bold]")


def _print_balances(writer: LedgerWriter, console: Console) -> None:
    balances = writer.balances(list(NAMES)).result()
    table = Table(title="balances")
    table.add_column("account")
    table.add_column("balance", justify="right")
    table.add_column("reserved", justify="right")
    for (account_id, name), balance in zip(NAMES.items(), balances, strict=True):
        assert balance is not None
        amount = balance.credits_posted - balance.debits_posted
        if account_id == 1:
            amount = -amount
        table.add_row(name, format_amount(amount, KES), format_amount(balance.debits_pending, KES))
    console.print(table)
