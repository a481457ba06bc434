"""The ledger's invariants, checked over balances wherever they are held.

Used by the engine's owner at load and checkpoint time, by the reconciler over
the store, and by the tests after every step:

- double entry: per ledger and currency, total debits equal total credits,
  posted and pending each;
- every constrained balance stays within its limits;
- e-money in circulation equals the trust-account mirror, per ledger and currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from mkoba.ledger.account import AccountKind, AccountState


class Totals(NamedTuple):
    """Sums over the accounts of one ledger and currency."""

    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    trust: int
    emoney: int
    trust_accounts: int


def totals(states: Iterable[AccountState]) -> dict[tuple[int, str], Totals]:
    """Per (ledger, currency): the four sums, the trust mirror and e-money in circulation."""
    sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0] * 7)
    for state in states:
        row = sums[(state.ledger, state.currency)]
        row[0] += state.debits_pending
        row[1] += state.debits_posted
        row[2] += state.credits_pending
        row[3] += state.credits_posted
        kind = state.account.kind
        if kind == AccountKind.TRUST:
            row[4] += state.debits_posted - state.credits_posted
            row[6] += 1
        elif kind == AccountKind.EMONEY:
            row[5] += state.credits_posted - state.debits_posted
    return {key: Totals(*row) for key, row in sums.items()}


def violations(states: Iterable[AccountState]) -> list[str]:
    """Every broken invariant, as a sentence; empty when the books are sound."""
    states = list(states)
    problems = []
    for (ledger, code), total in sorted(totals(states).items()):
        where = f"ledger {ledger} {code}"
        if total.debits_posted != total.credits_posted:
            problems.append(
                f"{where}: posted debits {total.debits_posted} != credits {total.credits_posted}"
            )
        if total.debits_pending != total.credits_pending:
            problems.append(
                f"{where}: pending debits {total.debits_pending} != credits {total.credits_pending}"
            )
        if total.trust_accounts and total.trust != total.emoney:
            problems.append(
                f"{where}: e-money in circulation {total.emoney} != trust mirror {total.trust}"
            )
    problems.extend(account_violations(states))
    return problems


def account_violations(states: Iterable[AccountState]) -> list[str]:
    """What is wrong with each account on its own: a limit broken, a negative counter.

    What a periodic checkpoint checks over the accounts changed since the last one: a
    transfer changes only its two accounts, and always by the same amount on both
    sides, so the sums ``violations`` checks cannot move without one of them.
    """
    problems = []
    for state in states:
        problem = state.violation()
        if problem is not None:
            problems.append(f"account {state.account.id}: {problem}")
        negative = [
            value
            for value in (
                state.debits_pending,
                state.debits_posted,
                state.credits_pending,
                state.credits_posted,
            )
            if value < 0
        ]
        if negative:
            problems.append(f"account {state.account.id}: negative counter")
    return problems
