"""The operator's own accounts: the trust-account mirror, fee income, excise, holding accounts."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from mkoba.ledger import Account, AccountFlags, AccountKind
from mkoba.parties import OPERATOR_ID, Change, Party, PartyKind, Purpose, account_id

if TYPE_CHECKING:
    from mkoba.app import Platform

# E-money accounts of the operator; the trust mirror is the one asset account.
OPERATOR_PURPOSES = (
    Purpose.FEES,
    Purpose.EXCISE,
    Purpose.VOUCHERS,
    Purpose.AIRTIME,
    Purpose.REVERSALS,
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
        Account(
            id=account_id(OPERATOR_ID, purpose),
            ledger=ledger,
            currency=currency,
            kind=AccountKind.EMONEY,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            code=int(purpose),
            user_data=OPERATOR_ID,
        )
        for purpose in OPERATOR_PURPOSES
    ]
    return [trust, *emoney]


async def ensure_operator(platform: Platform) -> None:
    """Create the operator and its accounts if this store has none yet (idempotent)."""
    services = platform.services
    if services.directory.get(OPERATOR_ID) is not None:
        return
    profile = services.profile(platform.clock())
    accounts = operator_accounts(profile.ledger, profile.currency.code)
    results = await asyncio.wrap_future(services.writer.create_accounts(accounts))
    assert all(result.ok for result in results), results
    operator = Party(
        OPERATOR_ID,
        PartyKind.OPERATOR,
        f"{profile.name.title()} Operator",
        created=platform.clock(),
    )
    change = Change(
        parties=(operator,),
        accounts=tuple((OPERATOR_ID, Purpose(a.code), a.id) for a in accounts),
    )
    await services.writer.submit_async([], attach=change.writes())
    services.directory.apply(change)
