"""A plan's money as ledger transfers: linked legs, pending or not, and their resolutions.

Leg ``i`` of request ``number`` has a transfer id of its own for each kind (a
direct transfer, a pending reservation, its post or its void), so a retried
commit is idempotent and a late resolution finds its reservation.
"""

from __future__ import annotations

from collections.abc import Sequence

from mkoba.catalog import CHANNELS, Profile
from mkoba.codes import Code
from mkoba.ledger import Transfer, TransferFlags, TransferResult
from mkoba.processor import ids
from mkoba.processor.plan import Leg, Plan

_LINKED = int(TransferFlags.LINKED)


def delivery_deadline_s(profile: Profile, channel: str) -> int:
    """The channel's response-delivery deadline; internal channels (staff, system) have none."""
    return profile.deadline_s(channel) if channel in CHANNELS else 0


def transfers_for(plan: Plan, number: int, ledger: int, timeout_s: int) -> list[Transfer]:
    """The plan's legs as linked transfers: pending with ``timeout_s``, or direct when 0."""
    assert 0 < len(plan.legs) <= ids.legs_max
    kind = "pending" if timeout_s else "direct"
    flags = int(TransferFlags.PENDING) if timeout_s else 0
    last = len(plan.legs) - 1
    return [
        Transfer(
            id=ids.leg_id(number, index, kind),
            debit_account_id=leg.debit,
            credit_account_id=leg.credit,
            amount=leg.amount,
            ledger=ledger,
            code=number % 1_000_000_000,
            flags=flags | (_LINKED if index < last else 0),
            timeout_s=timeout_s,
            user_data=number,
        )
        for index, leg in enumerate(plan.legs)
    ]


def resolutions_for(legs: int, number: int, post: bool) -> list[Transfer]:
    """Linked posts (or voids) of a request's pending legs."""
    kind = "post" if post else "void"
    flags = int(TransferFlags.POST_PENDING if post else TransferFlags.VOID_PENDING)
    return [
        Transfer(
            id=ids.leg_id(number, index, kind),
            debit_account_id=0,
            credit_account_id=0,
            amount=0,
            ledger=0,
            flags=flags | (_LINKED if index < legs - 1 else 0),
            pending_id=ids.leg_id(number, index, "pending"),
        )
        for index in range(legs)
    ]


def refusal(results: Sequence[TransferResult], legs: Sequence[Leg]) -> Code:
    """The business answer to the ledger's refusal of a plan's legs."""
    for result, leg in zip(results, legs, strict=True):
        if result.ok or result == TransferResult.LINKED_EVENT_FAILED:
            continue
        if result == TransferResult.EXCEEDS_CREDITS:
            return leg.short
        if result == TransferResult.EXCEEDS_BALANCE_MAX:
            return leg.full
        if result in (TransferResult.DEBIT_ACCOUNT_CLOSED, TransferResult.CREDIT_ACCOUNT_CLOSED):
            return Code.ACCOUNT_INACTIVE
        return Code.SYSTEM_ERROR
    return Code.SYSTEM_ERROR
