"""The risk section of a profile version: fraud and AML rules R1-R12 as data.

Each rule of the starter set (``shared/reference/operator.md`` §5.2) is a
mapping with ``enabled``, an ``action`` among those the rule can take, and its
parameters; amounts are in the profile's major units like every other amount,
shares are quoted percentages. A version lays its ``risk`` over the one before
it like any other key, so changing one threshold is a one-line version.
A profile that has no ``risk`` section runs no rule (``mkoba rules list`` says so).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt

from mkoba.catalog.fields import Amount, Percent, Strict

Count = Annotated[StrictInt, Field(ge=1)]  # a count or a window: zero would make no sense


class Rule(Strict):
    """What every rule has: on or off, and what it does when it fires."""

    enabled: StrictBool = True


class VelocityCount(Rule):
    """R1: more than ``per_hour`` outgoing transfers in an hour, or ``per_day`` in 24 h."""

    action: Literal["hold", "step_up", "refuse", "alert"] = "hold"
    per_hour: Count = 10
    per_day: Count = 30


class VelocityValue(Rule):
    """R2: value out in 24 h above ``limit_share`` of the tier's daily limit and above
    ``median_multiple`` x the wallet's median day over ``median_days``."""

    action: Literal["hold", "step_up", "refuse", "alert"] = "step_up"
    limit_share: Percent
    median_multiple: Count = 5
    median_days: Count = 30


class Structuring(Rule):
    """R3: ``count`` or more cash-ins (or cash-outs) of one customer in ``window_hours``,
    each below the CTR threshold, together at least ``share`` of it."""

    action: Literal["alert"] = "alert"
    count: Count = 3
    window_hours: Count = 24
    share: Percent


class SplitDeposit(Rule):
    """R4: one agent, one customer, ``count`` or more deposits within ``window_minutes``
    that together would have earned less commission as one."""

    action: Literal["alert"] = "alert"
    count: Count = 2
    window_minutes: Count = 10


class DirectDeposit(Rule):
    """R5: a cash-in followed within ``window_minutes`` by a cash-out at another agent,
    nothing else in between."""

    action: Literal["alert"] = "alert"
    window_minutes: Count = 30


class SimSwap(Rule):
    """R6: a SIM swap within ``max_age_hours`` blocks PIN resets by care, a first payment
    to a new payee above ``new_payee_over``, and cash-outs."""

    action: Literal["refuse", "hold", "step_up"] = "refuse"
    max_age_hours: Count = 72
    new_payee_over: Amount


class NewDevice(Rule):
    """R7: an unseen device, a new payee and more than ``over`` within ``window_hours``."""

    action: Literal["hold", "step_up", "refuse", "alert"] = "hold"
    over: Amount
    window_hours: Count = 1


class Dormant(Rule):
    """R8: no customer-initiated transaction for ``dormant_days``, then a PIN reset or a
    SIM swap, then more than ``over`` out within ``window_hours``."""

    action: Literal["hold", "step_up", "refuse", "alert"] = "hold"
    dormant_days: Count = 180
    over: Amount
    window_hours: Count = 24


class Mule(Rule):
    """R9: ``senders`` or more distinct senders in ``window_hours`` and at least
    ``cashout_share`` of it cashed out within ``cashout_hours``."""

    action: Literal["alert", "hold"] = "alert"
    senders: Count = 10
    window_hours: Count = 24
    cashout_share: Percent
    cashout_hours: Count = 2


class ReversalAbuse(Rule):
    """R10: ``count`` or more reversal requests by one sender (or received) in
    ``window_days``."""

    action: Literal["alert"] = "alert"
    count: Count = 3
    window_days: Count = 30


class NameSnooping(Rule):
    """R11: more than the profile's ``name_lookups_per_day`` recipient-name checks in a
    day locks look-ups for ``lockout_hours`` (Hakikisha)."""

    action: Literal["refuse"] = "refuse"
    lockout_hours: Count = 48


class Insider(Rule):
    """R12: a member of staff opens more than ``profiles_per_hour`` profiles with no
    ticket, or touches a wallet tied to their own ID or phone."""

    action: Literal["alert"] = "alert"
    profiles_per_hour: Count = 20


class RiskSchema(Strict):
    """A version's rules; a rule it does not name keeps the version before's."""

    ctr_threshold: Amount = Field(description="the cash transaction report's threshold")
    # A held payment waits this long for compliance; then its money goes back unreviewed.
    hold_hours: Count = 72
    # A stepped-up payment is confirmed by sending it again (PIN and all) within this long.
    confirm_minutes: Count = 5
    R1: VelocityCount = VelocityCount()
    R2: VelocityValue
    R3: Structuring
    R4: SplitDeposit = SplitDeposit()
    R5: DirectDeposit = DirectDeposit()
    R6: SimSwap
    R7: NewDevice
    R8: Dormant
    R9: Mule
    R10: ReversalAbuse = ReversalAbuse()
    R11: NameSnooping = NameSnooping()
    R12: Insider = Insider()


# Each rule: its typology, and where it runs: ``inline`` in TranProc before a payment
# commits (it may hold, step up or refuse), ``stream`` over committed events (alerts).
TYPOLOGIES: dict[str, tuple[str, str]] = {
    "R1": ("velocity (count)", "inline"),
    "R2": ("velocity (value)", "inline"),
    "R3": ("structuring around the CTR threshold", "stream"),
    "R4": ("agent split deposit", "stream"),
    "R5": ("direct deposit", "stream"),
    "R6": ("SIM swap", "inline"),
    "R7": ("new device", "inline"),
    "R8": ("dormant reactivation", "inline"),
    "R9": ("mule fan-in / fan-out", "stream"),
    "R10": ("reversal abuse", "stream"),
    "R11": ("name-lookup snooping", "inline"),
    "R12": ("insider", "stream"),
}
assert tuple(TYPOLOGIES) == tuple(name for name in RiskSchema.model_fields if name[0] == "R")
