"""The operator's chart of accounts: the trust-account mirror, fee income, excise, holdings.

Every mkoba has it, demo or not: the composition root creates it on a store that
has no operator yet (``app.py``).
"""

from __future__ import annotations

from mkoba.ledger import Account, AccountFlags, AccountKind
from mkoba.parties.directory import OPERATOR_ID, Change
from mkoba.parties.model import Party, PartyKind, Purpose, account_id, emoney_account

# E-money accounts of the operator; the trust mirror is the one asset account.
OPERATOR_PURPOSES = (
    Purpose.FEES,
    Purpose.EXCISE,
    Purpose.VOUCHERS,
    Purpose.AIRTIME,
    Purpose.REVERSALS,
    Purpose.GIFTS,
)


def operator_accounts(ledger: int, currency: str) -> list[Account]:
    """The chart of accounts every mkoba starts with."""
    trust = Account(
        id=account_id(OPERATOR_ID, Purpose.TRUST),
        ledger=ledger,
        currency=currency,
        kind=AccountKind.TRUST,
        # Money leaves the trust account only as far as it came in: e-money is never
        # redeemed beyond what was issued.
        flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        code=int(Purpose.TRUST),
        user_data=OPERATOR_ID,
    )
    emoney = [
        emoney_account(OPERATOR_ID, purpose, ledger, currency) for purpose in OPERATOR_PURPOSES
    ]
    return [trust, *emoney]


def operator_change(name: str, accounts: list[Account], now: int) -> Change:
    """The operator party and its accounts, as a directory change."""
    operator = Party(OPERATOR_ID, PartyKind.OPERATOR, f"{name.title()} Operator", created=now)
    return Change(
        parties=(operator,),
        accounts=tuple((OPERATOR_ID, Purpose(a.code), a.id) for a in accounts),
    )
