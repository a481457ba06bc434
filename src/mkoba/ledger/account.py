"""Accounts: who can hold a balance, in which ledger and currency, under which constraints."""

from __future__ import annotations

import enum
from typing import NamedTuple

from mkoba.ledger import limits


class AccountFlags(enum.IntFlag):
    """Constraints and state of an account, enforced by the ledger engine."""

    NONE = 0
    # The balance (credits - debits) may not fall below -overdraft_limit: wallets, floats.
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    # The balance (debits - credits) may not fall below -overdraft_limit: asset mirrors.
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2
    # A closed account takes no new transfers (pending ones may still be posted or voided).
    CLOSED = 4


class AccountKind(enum.IntEnum):
    """What an account stands for, as far as the ledger's invariants care.

    ``TRUST`` mirrors the bank trust account that backs e-money (debit-normal);
    ``EMONEY`` is e-money held by anyone: wallets, agent floats, tills, the
    operator's fee income (credit-normal). ``GENERAL`` is anything else.
    E-money in circulation must equal the trust mirror, per ledger and currency.
    """

    GENERAL = 0
    TRUST = 1
    EMONEY = 2


class Account(NamedTuple):
    """An account as created: immutable except for the CLOSED flag."""

    id: int
    ledger: int
    currency: str
    kind: AccountKind = AccountKind.GENERAL
    flags: AccountFlags = AccountFlags.NONE
    # How far below zero the constrained balance may go (0: not at all).
    overdraft_limit: int = 0
    # The most the constrained balance may hold (None: no maximum).
    balance_max: int | None = None
    code: int = 0
    user_data: int = 0


class Balance(NamedTuple):
    """The four counters of an account, as of one moment."""

    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def credit_balance(self) -> int:
        """Posted credits less posted debits: a wallet's balance."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What a credit-normal account can still spend: posted less pending debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending


class AccountState:
    """The engine's mutable view of one account: the account and its counters.

    Only the ledger engine changes these; everyone else sees ``Balance`` snapshots.
    """

    __slots__ = (
        "account",
        "ledger",
        "currency",
        "flags",
        "overdraft_limit",
        "balance_max",
        "debit_fast",
        "credit_fast",
        "balance_room",
        "dirty",
        "debits_pending",
        "debits_posted",
        "credits_pending",
        "credits_posted",
    )

    def __init__(self, account: Account, balance: Balance | None = None) -> None:
        self.account = account
        self.ledger = account.ledger
        self.currency = account.currency
        self.overdraft_limit = account.overdraft_limit
        self.balance_max = account.balance_max
        self.set_flags(int(account.flags))
        # Changed since the last checkpoint: its balance must be written.
        self.dirty = False
        balance = balance or Balance(0, 0, 0, 0)
        self.debits_pending = balance.debits_pending
        self.debits_posted = balance.debits_posted
        self.credits_pending = balance.credits_pending
        self.credits_posted = balance.credits_posted

    def set_flags(self, flags: int) -> None:
        """Change the flags, and what the engine's fast path may assume from them.

        The fast path takes a debit only from an open account whose sole debit rule
        is "debits must not exceed credits", and a credit only into an open account
        without "credits must not exceed debits"; ``balance_room`` is the most the
        credit side may hold above its debits (the maximum balance, or no limit).
        """
        self.flags = flags
        open_account = not flags & AccountFlags.CLOSED
        self.debit_fast = open_account and bool(flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
        self.credit_fast = open_account and not flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        if flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and self.balance_max is not None:
            self.balance_room = self.balance_max
        else:
            self.balance_room = 2 * limits.balance_max + 1

    def balance(self) -> Balance:
        """A snapshot of the counters."""
        return Balance(
            self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted
        )

    def violation(self) -> str | None:
        """Why this account breaks its constraints, or None when it keeps them."""
        flags = self.flags
        if flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
            spent = self.debits_pending + self.debits_posted
            if spent > self.credits_posted + self.overdraft_limit:
                return "debits exceed credits plus overdraft limit"
            held = self.credits_posted + self.credits_pending - self.debits_posted
            if self.balance_max is not None and held > self.balance_max:
                return "balance above its maximum"
        if flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
            spent = self.credits_pending + self.credits_posted
            if spent > self.debits_posted + self.overdraft_limit:
                return "credits exceed debits plus overdraft limit"
            held = self.debits_posted + self.debits_pending - self.credits_posted
            if self.balance_max is not None and held > self.balance_max:
                return "balance above its maximum"
        return None
