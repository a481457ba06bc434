"""The store ``mkoba bench console`` reads: many customers and a year of their money.

Built once on a started platform (demo world, so staff and agents exist), through the
ledger writer: the customers' wallets and PINs as registration makes them, then a year
of deposits at an agent, send-money between customers and withdrawals, each as the
products plan them (linked legs, fee and excise, receipt, statement lines for both
parties) committed with its transfers. What the console never reads is not written:
no request rows, no outbox messages. The ledger checks every transfer as it would a
live one (no wallet below zero, none above its tier's maximum).

Who does what is skewed as real traffic is: a tenth of the customers make half the
transactions. Times are spread over the year before the build, in order, so statements
and the finance pack have a past to read; the ledger's own timestamps are the build's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mkoba.bench.errors import BenchError
from mkoba.ledger import Transfer, TransferFlags, TransferResult, limits
from mkoba.ledger.store import Write
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Directory,
    Party,
    PartyKind,
    Pin,
    Purpose,
    Role,
    account_id,
    emoney_account,
)
from mkoba.processor import ids
from mkoba.processor.schema import RECEIPT_COLUMNS, STATEMENT_COLUMNS

FIRST_MSISDN = 254_730_000_000
PIN = "1357"
SEED = 20261205
YEAR_NS = 365 * 24 * 3600 * 10**9
# Customers are created and committed this many at a time.
party_chunk = 20_000
# Transfers per ledger command (the writer's largest batch) and commands in flight.
batch_transfers = limits.batch_transfers_max - 8
in_flight = 4
# A customer's first deposit and the range of everything else (Ksh).
opening_ksh = 5_000
deposit_ksh = (500, 20_000)
send_ksh = (10, 3_000)
withdraw_ksh = (100, 10_000)
# Share of the customers who make half of the transactions.
busy_share = 0.1
# And a few who pay and are paid several times a day all year (a trader, a landlord):
# their one-year statement is the long one the bench asks for.
heavy_customers = 10
heavy_per_day = 3
receipts_kept = 10_000
_LINKED = int(TransferFlags.LINKED)


def msisdn_of(index: int) -> str:
    """The phone number of generated customer ``index``."""
    return str(FIRST_MSISDN + index)


def id_number_of(index: int) -> str:
    """The ID document number of generated customer ``index``."""
    return f"{30_000_000 + index}"


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


class _Money:
    """The running balances the generator keeps to plan only what the ledger accepts."""

    def __init__(self, count: int, balance_max: int) -> None:
        self.balances = [0] * count
        self.balance_max = balance_max


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


def _agent(platform: Any) -> Party:
    """The demo world's first agent store: where the generated customers deposit and withdraw."""
    directory: Directory = platform.services.directory
    stores = [p for p in directory.parties.values() if p.kind == PartyKind.AGENT_STORE]
    if not stores:
        raise BenchError("the store has no agent store (the demo world makes them)")
    return min(stores, key=lambda party: party.id)


class _Plan:
    """One generated transaction: its legs, receipt row and statement lines."""

    __slots__ = ("legs", "receipt", "lines")

    def __init__(
        self,
        legs: list[tuple[int, int, int]],
        receipt: tuple[Any, ...],
        lines: list[tuple[Any, ...]],
    ) -> None:
        self.legs = legs
        self.receipt = receipt
        self.lines = lines


class _Generator:
    """A year of customers' transactions, planned against running balances."""

    def __init__(self, platform: Any, first_id: int, count: int, transactions: int) -> None:
        services = platform.services
        now = platform.clock()
        self.profile = services.profile(now)
        self.counter = services.counter
        self.ledger = self.profile.ledger
        self.first_id = first_id
        self.count = count
        self.total = transactions
        self.end_ns = now - 3600 * 10**9
        self.start_ns = self.end_ns - YEAR_NS
        self.rng = random.Random(SEED)
        self.busy = max(1, int(count * busy_share))
        self.heavy = min(heavy_customers, count)
        self.heavy_share = min(0.5, self.heavy * heavy_per_day * 365 / transactions)
        major = self.profile.currency.minor_per_major
        self.major: int = major
        tier = self.profile.tiers[-1]
        self.money = _Money(count, self.profile.limits(tier).balance_max or 10**15)
        self.agent = _agent(platform)
        self.agent_float = account_id(self.agent.id, Purpose.FLOAT)
        self.agent_name = self.agent.name.upper()
        self.agent_balance = 0
        self.fees = account_id(OPERATOR_ID, Purpose.FEES)
        self.excise = account_id(OPERATOR_ID, Purpose.EXCISE)
        self.trust = account_id(OPERATOR_ID, Purpose.TRUST)
        self.lines_of: dict[int, int] = {}
        # Receipts the bench searches for: about receipts_kept of them, spread over the year.
        self.receipts: list[str] = []
        self.sampled = min(1.0, receipts_kept / transactions)
        self.made = 0
        self.tariff = self.profile.version

    # -- who ----------------------------------------------------------------------

    def _someone(self) -> int:
        """A customer index: now and then a heavy one, half the time one of the busy tenth."""
        roll = self.rng.random()
        if roll < self.heavy_share:
            return self.rng.randrange(self.heavy)
        if roll < 0.5:
            return self.rng.randrange(self.busy)
        return self.rng.randrange(self.count)

    def _amount(self, bounds: tuple[int, int]) -> int:
        """A whole-shilling amount, log-uniform between ``bounds`` (minor units)."""
        low, high = bounds
        return int(low * (high / low) ** self.rng.random()) * self.major

    # -- what ---------------------------------------------------------------------

    def plans(self) -> Iterator[_Plan]:
        """Every customer's opening deposit, then the year's transactions in time order."""
        step = YEAR_NS // (self.total + 1)
        at = self.start_ns
        opening = opening_ksh * self.major
        top_up = opening * self.count
        for index in range(self.count):
            at += step
            if self.agent_balance < opening:
                yield self._float_issue(top_up, at)
            yield self._deposit(index, opening, at)
        self.made = self.count + 1
        while self.made < self.total:
            at += step
            if self.agent_balance < deposit_ksh[1] * self.major:
                yield self._float_issue(top_up, at)
                self.made += 1
            yield self._next(at)
            self.made += 1

    def _next(self, at: int) -> _Plan:
        payer = self._someone()
        balance = self.money.balances[payer]
        roll = self.rng.random()
        if roll < 0.15 or balance < 100 * self.major:
            return self._deposit(payer, self._amount(deposit_ksh), at)
        if roll < 0.3 and balance >= 2 * withdraw_ksh[0] * self.major:
            amount = min(self._amount(withdraw_ksh), balance // 2)
            return self._withdraw(payer, amount, at)
        amount = min(self._amount(send_ksh), balance // 2)
        payee = self._someone()
        while payee == payer or self.money.balances[payee] + amount > self.money.balance_max:
            payee = self._someone()
        return self._send(payer, payee, amount, at)

    def _float_issue(self, amount: int, at: int) -> _Plan:
        """E-money issued to the agent's float against a (generated) trust deposit."""
        number = self.counter.next()
        receipt = ids.receipt_id(number, self._when(at))
        self.agent_balance += amount
        row = self._receipt_row(
            receipt,
            number,
            "issue_emoney",
            OPERATOR_ID,
            self.agent.id,
            amount,
            0,
            0,
            at,
            [(self.trust, self.agent_float, amount)],
            "BENCH-FLOAT-1",
        )
        line = (self.agent.id, at, receipt, 0, "E-money issued", amount, self.agent_balance)
        return _Plan([(self.trust, self.agent_float, amount)], row, [line])

    def _deposit(self, index: int, amount: int, at: int) -> _Plan:
        party = self.first_id + index
        room = (self.money.balance_max - self.money.balances[index]) // self.major * self.major
        if room < amount:
            if room < self.major:
                return self._withdraw(index, self._amount(withdraw_ksh), at)
            amount = room
        number = self.counter.next()
        receipt = ids.receipt_id(number, self._when(at))
        self.money.balances[index] += amount
        self.agent_balance -= amount
        legs = [(self.agent_float, account_id(party, Purpose.WALLET), amount)]
        row = self._receipt_row(
            receipt,
            number,
            "deposit",
            self.agent.id,
            party,
            amount,
            0,
            0,
            at,
            legs,
            msisdn_of(index),
        )
        lines = [
            (
                party,
                at,
                receipt,
                0,
                f"Deposit at {self.agent_name}",
                amount,
                self.money.balances[index],
            ),
            (
                self.agent.id,
                at,
                receipt,
                1,
                f"Deposit for CUSTOMER {index}",
                -amount,
                self.agent_balance,
            ),
        ]
        self._count(party)
        return _Plan(legs, row, lines)

    def _charged(
        self, source: int, amount: int, product: str
    ) -> tuple[int, int, list[tuple[int, int, int]]]:
        fee = self.profile.fee(product, amount).customer
        excise = self.profile.excise(fee)
        legs = []
        if fee - excise:
            legs.append((source, self.fees, fee - excise))
        if excise:
            legs.append((source, self.excise, excise))
        return fee, excise, legs

    def _withdraw(self, index: int, amount: int, at: int) -> _Plan:
        party = self.first_id + index
        source = account_id(party, Purpose.WALLET)
        fee, excise, fee_legs = self._charged(source, amount, "withdraw")
        if amount + fee > self.money.balances[index]:
            return self._deposit(
                index, min(self._amount(deposit_ksh), opening_ksh * self.major), at
            )
        number = self.counter.next()
        receipt = ids.receipt_id(number, self._when(at))
        self.money.balances[index] -= amount + fee
        self.agent_balance += amount
        legs = [(source, self.agent_float, amount), *fee_legs]
        row = self._receipt_row(
            receipt,
            number,
            "withdraw",
            party,
            self.agent.id,
            amount,
            fee,
            excise,
            at,
            legs,
            self.agent.number or "",
        )
        lines = [
            (
                party,
                at,
                receipt,
                0,
                f"Withdrawal at {self.agent_name}",
                -(amount + fee),
                self.money.balances[index],
            ),
            (
                self.agent.id,
                at,
                receipt,
                1,
                f"Withdrawal by CUSTOMER {index}",
                amount,
                self.agent_balance,
            ),
        ]
        self._count(party)
        return _Plan(legs, row, lines)

    def _send(self, payer: int, payee: int, amount: int, at: int) -> _Plan:
        payer_id, payee_id = self.first_id + payer, self.first_id + payee
        source = account_id(payer_id, Purpose.WALLET)
        fee, excise, fee_legs = self._charged(source, amount, "send_money")
        if amount + fee > self.money.balances[payer]:
            return self._deposit(payer, self._amount(deposit_ksh), at)
        number = self.counter.next()
        receipt = ids.receipt_id(number, self._when(at))
        self.money.balances[payer] -= amount + fee
        self.money.balances[payee] += amount
        legs = [(source, account_id(payee_id, Purpose.WALLET), amount), *fee_legs]
        row = self._receipt_row(
            receipt,
            number,
            "send_money",
            payer_id,
            payee_id,
            amount,
            fee,
            excise,
            at,
            legs,
            msisdn_of(payee),
        )
        lines = [
            (
                payer_id,
                at,
                receipt,
                0,
                f"Sent to CUSTOMER {payee}",
                -(amount + fee),
                self.money.balances[payer],
            ),
            (
                payee_id,
                at,
                receipt,
                1,
                f"Received from CUSTOMER {payer}",
                amount,
                self.money.balances[payee],
            ),
        ]
        self._count(payer_id)
        self._count(payee_id)
        return _Plan(legs, row, lines)

    # -- rows ---------------------------------------------------------------------

    def _count(self, party_id: int) -> None:
        self.lines_of[party_id] = self.lines_of.get(party_id, 0) + 1

    @staticmethod
    def _when(at: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(at / 1e9, dt.UTC)

    def _receipt_row(
        self,
        receipt: str,
        number: int,
        product: str,
        payer: int,
        payee: int,
        amount: int,
        fee: int,
        excise: int,
        at: int,
        legs: list[tuple[int, int, int]],
        reference: str,
    ) -> tuple[Any, ...]:
        if self.rng.random() < self.sampled:
            self.receipts.append(receipt)
        return (
            receipt,
            f"bench:{number}",
            number,
            product,
            "completed",
            payer,
            payee,
            amount,
            fee,
            0,
            excise,
            0,
            amount if product == "send_money" else 0,
            self.tariff,
            reference,
            json.dumps([list(leg) for leg in legs]),
            at,
            at,
        )


def _transfers(plan: _Plan, number: int, ledger: int) -> list[Transfer]:
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
    generator = _Generator(platform, first, customers, transactions)
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
