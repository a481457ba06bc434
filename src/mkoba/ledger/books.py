"""The books in summary: every account's balance summed by account code (a trial balance).

An account's code is what it is for (a wallet, a float, the trust mirror, fee income):
summing the accounts of each code gives the operator's chart of accounts, one line per
code, with how many accounts it holds. Debits and credits total the same over all the
lines (double entry); the e-money lines total the trust mirror.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import NamedTuple

from mkoba.ledger.account import AccountKind, AccountState
from mkoba.ledger.writer import LedgerWriter


class TrialLine(NamedTuple):
    """One code's accounts, summed."""

    code: int
    kind: AccountKind
    accounts: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


def trial_balance(states: Iterable[AccountState]) -> list[TrialLine]:
    """Every code's totals, by code."""
    sums: dict[tuple[int, AccountKind], list[int]] = {}
    for state in states:
        key = (state.account.code, state.account.kind)
        row = sums.setdefault(key, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += state.debits_posted
        row[2] += state.credits_posted
        row[3] += state.debits_pending
        row[4] += state.credits_pending
    return [TrialLine(code, kind, *row) for (code, kind), row in sorted(sums.items())]


async def now(writer: LedgerWriter) -> list[TrialLine]:
    """The trial balance as the writer knows it now (in order with what it was given)."""
    read = writer.read(lambda engine: trial_balance(engine.accounts.values()))
    found: list[TrialLine] = await asyncio.wrap_future(read)
    return found
