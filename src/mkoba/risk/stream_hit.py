"""What a stream rule says when it fires, and the small arithmetic they share.

A ``Hit`` is one alert to raise: its ``key`` names the pattern, not the event that
completed it (the rule, the party and the first event of the window), so the
events that extend the same pattern find the alert already raised (the queue
answers the same key with the same alert), and a restart that replays the
stored events raises nothing twice.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple, TypeVar

from mkoba.processor.risk_port import Movement

T = TypeVar("T")
MINUTE_NS = 60 * 1_000_000_000
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
# Products by which cash enters or leaves a wallet at an agent.
CASH_IN = "deposit"
CASH_OUT = "withdraw"
# An alert's details list at most this many ids (the rest are counted, not listed).
ids_listed_max = 50


class Hit(NamedTuple):
    """A stream rule that fired: the alert to raise (no secret, no phone number in it)."""

    rule: str
    party_id: int
    severity: str
    summary: str
    details: dict[str, Any]
    key: str
    str_clock: bool = False


def at_least(part: int, whole: int, share: Fraction) -> bool:
    """Whether ``part`` is at least ``share`` of ``whole`` (in integers, no rounding)."""
    assert part >= 0 and whole >= 0
    return part * share.denominator >= whole * share.numerator


def listed(values: list[T]) -> list[T]:
    """At most ``ids_listed_max`` ids (or amounts), for an alert's details."""
    return values[:ids_listed_max]


def cash_customer(movement: Movement) -> tuple[int, int, str] | None:
    """``(customer, agent store, direction)`` of a cash-in or cash-out; None otherwise."""
    if movement.product == CASH_IN:
        return movement.payee_id, movement.payer_id, "cash_in"
    if movement.product == CASH_OUT:
        return movement.payer_id, movement.payee_id, "cash_out"
    return None
