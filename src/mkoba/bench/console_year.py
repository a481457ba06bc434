"""A year of generated customers' money for ``mkoba bench console``, planned as products do.

Deposits at an agent, send money between customers and withdrawals, each with its legs
(fee and excise as the tariff says), its receipt row and a statement line for each
party, planned against running balances so the ledger accepts every one. Who does what
is skewed as real traffic is: a tenth of the customers make half the transactions, and
a few heavy customers pay and are paid several times a day all year. Times are spread
over the year before the build, in order.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

from mkoba.bench.errors import BenchError
from mkoba.parties import OPERATOR_ID, Directory, Party, PartyKind, Purpose, account_id
from mkoba.processor import ids

FIRST_MSISDN = 254_730_000_000
SEED = 20261205
YEAR_NS = 365 * 24 * 3600 * 10**9
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


def msisdn_of(index: int) -> str:
    """The phone number of generated customer ``index``."""
    return str(FIRST_MSISDN + index)


def id_number_of(index: int) -> str:
    """The ID document number of generated customer ``index``."""
    return f"{30_000_000 + index}"


class Money:
    """The running balances the generator keeps to plan only what the ledger accepts."""

    def __init__(self, count: int, balance_max: int) -> None:
        self.balances = [0] * count
        self.balance_max = balance_max


def agent_of(platform: Any) -> Party:
    """The demo world's first agent store: where the generated customers deposit and withdraw."""
    directory: Directory = platform.services.directory
    stores = [p for p in directory.parties.values() if p.kind == PartyKind.AGENT_STORE]
    if not stores:
        raise BenchError("the store has no agent store (the demo world makes them)")
    return min(stores, key=lambda party: party.id)


class Plan:
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


class Year:
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
        self.money = Money(count, self.profile.limits(tier).balance_max or 10**15)
        self.agent = agent_of(platform)
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

    def plans(self) -> Iterator[Plan]:
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

    def _next(self, at: int) -> Plan:
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

    def _float_issue(self, amount: int, at: int) -> Plan:
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
        return Plan([(self.trust, self.agent_float, amount)], row, [line])

    def _deposit(self, index: int, amount: int, at: int) -> Plan:
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
        return Plan(legs, row, lines)

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

    def _withdraw(self, index: int, amount: int, at: int) -> Plan:
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
        return Plan(legs, row, lines)

    def _send(self, payer: int, payee: int, amount: int, at: int) -> Plan:
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
        return Plan(legs, row, lines)

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
