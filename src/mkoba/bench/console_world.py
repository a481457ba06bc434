"""The store ``mkoba bench console`` reads: many customers and a year of their money.

Built once on a started platform (demo world, so staff and agents exist), through the
ledger writer: the customers' wallets and PINs as registration makes them, then a year
of deposits at an agent, send-money between customers and withdrawals, each as the
products plan them (linked legs, fee and excise, receipt, statement lines for both
parties) committed with its transfers. What the console never reads is not written:
no request rows, no outbox messages. The ledger checks every transfer as it would a
live one (no wallet below zero, none above its tier's maximum).

What the year holds is ``console_year``'s. Its times are in the receipts and statement
lines, so statements and the finance pack have a past to read; the ledger's own
timestamps are the build's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mkoba.bench.console_year import YEAR_NS, Plan, Year, id_number_of, msisdn_of
from mkoba.bench.errors import BenchError
from mkoba.ledger import Transfer, TransferFlags, TransferResult, limits
from mkoba.ledger.store import Write
from mkoba.parties import Change, Party, PartyKind, Pin, Purpose, Role, emoney_account
from mkoba.processor import ids
from mkoba.processor.schema import RECEIPT_COLUMNS, STATEMENT_COLUMNS

PIN = "1357"
# Customers are created and committed this many at a time.
party_chunk = 20_000
# Transfers per ledger command (the writer's largest batch) and commands in flight.
batch_transfers = limits.batch_transfers_max - 8
in_flight = 4
_LINKED = int(TransferFlags.LINKED)


@dataclass
class Built:
    """What the build made: counts, and who and what the bench looks up."""

    customers: int
    transactions: int
    first_customer_id: int
    busiest_id: int
    busiest_lines: int
    receipts: list[str]
    end_ns: int


async def _customers(platform: Any, count: int, progress: Callable[[int], None]) -> int:
    """``count`` registered customers with wallets and PINs; the first one's party id."""
    services = platform.services
    now = platform.clock()
    profile = services.profile(now)
    tier = profile.tiers[-1]
    balance_max = profile.limits(tier).balance_max
    ledger, currency = profile.ledger, profile.currency.code
    pin = Pin(PIN)
    first = services.directory.allocate_id()
    for _ in range(count - 1):
        services.directory.allocate_id()
    for start in range(0, count, party_chunk):
        indexes = range(start, min(count, start + party_chunk))
        parties = [
            Party(
                first + index,
                PartyKind.CUSTOMER,
                f"Customer {index}",
                msisdn_of(index),
                kyc_tier=tier,
                created=now - YEAR_NS,
                id_digest=services.vault.id_digest(id_number_of(index)),
            )
            for index in indexes
        ]
        accounts = [
            emoney_account(party.id, Purpose.WALLET, ledger, currency, balance_max)
            for party in parties
        ]
        results = await asyncio.wrap_future(services.writer.create_accounts(accounts))
        if not all(result.ok for result in results):
            raise BenchError("could not create the wallets")
        change = Change(
            parties=tuple(parties),
            accounts=tuple(
                (p.id, Purpose.WALLET, a.id) for p, a in zip(parties, accounts, strict=True)
            ),
            roles=tuple((party.id, Role.CUSTOMER, 0) for party in parties),
            credentials=tuple(services.vault.new_credential(p.id, pin, now) for p in parties),
        )
        await services.writer.submit_async([], attach=change.writes())
        services.directory.apply(change)
        progress(len(parties))
    return int(first)


def _transfers(plan: Plan, number: int, ledger: int) -> list[Transfer]:
    """A generated transaction's legs as linked direct transfers, ids as TranProc makes them."""
    last = len(plan.legs) - 1
    return [
        Transfer(
            id=ids.leg_id(number, index, "direct"),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            ledger=ledger,
            code=number % 1_000_000_000,
            flags=_LINKED if index < last else 0,
            user_data=number,
        )
        for index, (debit, credit, amount) in enumerate(plan.legs)
    ]


async def build(
    platform: Any,
    customers: int,
    transactions: int,
    on_customers: Callable[[int], None],
    on_transactions: Callable[[int], None],
) -> Built:
    """``customers`` customers and ``transactions`` transactions on a started platform."""
    if customers < 2 or transactions < customers:
        raise BenchError("--customers at least 2 and --transactions at least --customers")
    first = await _customers(platform, customers, on_customers)
    generator = Year(platform, first, customers, transactions)
    writer = platform.services.writer
    pending: list[asyncio.Future[list[TransferResult]]] = []
    batch: list[Transfer] = []
    rows: list[Write] = []
    done = 0

    async def flush() -> None:
        nonlocal batch, rows
        pending.append(writer.submit_async(batch, attach=rows))
        batch, rows = [], []
        while len(pending) >= in_flight:
            results = await pending.pop(0)
            if not all(result is TransferResult.OK for result in results):
                bad = next(r for r in results if r is not TransferResult.OK)
                raise BenchError(f"the ledger refused a generated transfer: {bad.name}")

    # A receipt carries the number its transfers' ids derive from, as TranProc's do.
    for plan in generator.plans():
        batch.extend(_transfers(plan, plan.receipt[2], generator.ledger))
        rows.append(Write("receipts", RECEIPT_COLUMNS, plan.receipt))
        rows.extend(Write("statement_lines", STATEMENT_COLUMNS, line) for line in plan.lines)
        done += 1
        if len(batch) >= batch_transfers:
            await flush()
            on_transactions(done)
            done = 0
    if batch:
        await flush()
    for future in pending:
        results = await future
        if not all(result is TransferResult.OK for result in results):
            raise BenchError("the ledger refused a generated transfer")
    on_transactions(done)
    busiest = max(
        (p for p in generator.lines_of if p >= first), key=lambda p: generator.lines_of[p]
    )
    return Built(
        customers=customers,
        transactions=generator.made,
        first_customer_id=first,
        busiest_id=busiest,
        busiest_lines=generator.lines_of[busiest],
        receipts=generator.receipts,
        end_ns=generator.end_ns,
    )
