"""What the ledger benchmark moves: its accounts, their funding, and pre-generated transfers.

Every wallet is e-money that may not go negative (DEBITS_MUST_NOT_EXCEED_CREDITS),
issued against the trust-account mirror, and funded so generously that no transfer
of any run can fail for want of funds: a failure is a bug, and the benchmark stops.

Two shapes of traffic:

- ``uniform``: one transfer between two different wallets drawn at random;
- ``hot``: a payment, the shape of every M-Pesa payment: payer -> payee (amount),
  LINKED to payer -> the one fee account (fee). Both legs count as transfers.

Generation is seeded, so every store, batch size and the naive baseline see the
same pairs and amounts in the same order; only the transfer ids differ, because
ids only ever increase across a run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

from mkoba.ledger import Account, AccountFlags, AccountKind, Transfer, TransferFlags, limits

SHAPES = ("uniform", "hot")
LEDGER = 1
CURRENCY = "KES"
TRUST_ACCOUNT_ID = 1
FEE_ACCOUNT_ID = 2
FIRST_WALLET_ID = 3
# Transfer codes: why money moved.
CODE_ISSUE = 1
CODE_PAYMENT = 2
CODE_FEE = 3
# A payment moves 0.01 to 1,000.00 KES (minor units).
amount_minor_max = 100_000
# Each wallet opens with 10,000,000.00 KES: a run that drew every transfer from one
# wallet would still need thousands of seconds at full speed to spend it.
wallet_funding_minor = 10**9
# The trust mirror's debits are the sum of the funding: keep it far below a balance's limit.
wallets_max = 1_000_000
assert wallets_max * wallet_funding_minor < limits.balance_max // 1000
_LINKED = int(TransferFlags.LINKED)


def fee_minor(amount_minor: int) -> int:
    """The fee on a payment: 1%, at least one cent."""
    assert 0 < amount_minor <= amount_minor_max
    fee = max(1, amount_minor // 100)
    assert 0 < fee <= amount_minor
    return fee


def wallet_ids(wallets: int) -> range:
    """The ids of the benchmark's wallets."""
    assert 2 <= wallets <= wallets_max, wallets
    return range(FIRST_WALLET_ID, FIRST_WALLET_ID + wallets)


def accounts(wallets: int) -> list[Account]:
    """The trust mirror, the fee account, and ``wallets`` customer wallets."""
    emoney = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    created = [
        Account(
            TRUST_ACCOUNT_ID,
            LEDGER,
            CURRENCY,
            AccountKind.TRUST,
            AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        ),
        Account(FEE_ACCOUNT_ID, LEDGER, CURRENCY, AccountKind.EMONEY, emoney),
    ]
    created.extend(
        Account(id, LEDGER, CURRENCY, AccountKind.EMONEY, emoney) for id in wallet_ids(wallets)
    )
    assert len(created) == wallets + 2
    return created


def funding(wallets: int, ids: Iterator[int]) -> list[Transfer]:
    """Issue ``wallet_funding_minor`` of e-money into every wallet, against the trust mirror."""
    issued = [
        Transfer(next(ids), TRUST_ACCOUNT_ID, id, wallet_funding_minor, LEDGER, CODE_ISSUE)
        for id in wallet_ids(wallets)
    ]
    assert len(issued) == wallets
    return issued


def generate(
    shape: str, transfers: int, wallets: int, ids: Iterator[int], rng: random.Random
) -> list[Transfer]:
    """``transfers`` transfers of ``shape`` (for ``hot``, rounded down to whole payments)."""
    assert shape in SHAPES, shape
    assert transfers > 0
    first = FIRST_WALLET_ID
    draw = rng.randrange
    made: list[Transfer] = []
    append = made.append
    if shape == "uniform":
        for _ in range(transfers):
            debit, credit = _pair(draw, first, wallets)
            append(Transfer(next(ids), debit, credit, draw(1, amount_minor_max + 1), LEDGER))
    else:
        for _ in range(transfers // 2):
            payer, payee = _pair(draw, first, wallets)
            amount = draw(1, amount_minor_max + 1)
            append(Transfer(next(ids), payer, payee, amount, LEDGER, CODE_PAYMENT, _LINKED))
            append(Transfer(next(ids), payer, FEE_ACCOUNT_ID, fee_minor(amount), LEDGER, CODE_FEE))
    assert len(made) == (transfers if shape == "uniform" else transfers - transfers % 2)
    return made


def _pair(draw: Callable[[int], int], first: int, wallets: int) -> tuple[int, int]:
    """Two different wallets, each equally likely."""
    debit = draw(wallets)
    credit = draw(wallets - 1)
    if credit >= debit:
        credit += 1
    return first + debit, first + credit


def payments(transfers: Sequence[Transfer]) -> list[tuple[Transfer, ...]]:
    """The transfers grouped as they must commit: a LINKED chain together, others alone."""
    grouped: list[tuple[Transfer, ...]] = []
    chain: list[Transfer] = []
    for transfer in transfers:
        chain.append(transfer)
        if not transfer.flags & _LINKED:
            grouped.append(tuple(chain))
            chain.clear()
    assert not chain, "a LINKED chain must be closed"
    assert sum(len(group) for group in grouped) == len(transfers)
    return grouped
