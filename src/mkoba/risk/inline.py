"""The inline rules: each reads a payment's facts and the payer's activity, and says
whether it fires (``Hit``) under the profile's parameters. No I/O but the SIM-swap
signal, which ``engine.py`` asks for only when a rule needs it.

- R1 velocity (count): more than ``per_hour`` payments out in the last hour, or
  ``per_day`` in 24 h, this one included.
- R2 velocity (value): value out in 24 h (this one included) above ``limit_share`` of
  the tier's daily limit and above ``median_multiple`` x the median day of the
  ``median_days`` before.
- R6 SIM swap: a swap within ``max_age_hours``, and this is a cash-out or a first
  payment to a payee above ``new_payee_over``.
- R7 new device: an app payment from a number whose device was bound within
  ``window_hours``, to a payee not paid before, taking the window's value over ``over``.
- R8 dormant reactivation: no payment for ``dormant_days`` before the last
  ``window_hours``, a SIM swap within that window, and more than ``over`` out in it.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.catalog import Profile
from mkoba.processor.risk_port import Payment
from mkoba.risk.activity import DAY_NS, HOUR_NS, Activities


class Hit(NamedTuple):
    """A rule that fired: which, what it does, and why (for staff; no secret in it)."""

    rule: str
    action: str
    reason: str


def velocity_count(payment: Payment, profile: Profile, seen: Activities) -> Hit | None:
    """R1."""
    rules = profile.risk
    assert rules is not None
    rule = rules.R1
    if not rule.enabled:
        return None
    now, payer = payment.now, payment.payer_id
    hour = seen.count_since(payer, now - HOUR_NS) + 1
    day = seen.count_since(payer, now - DAY_NS) + 1
    if hour > rule.per_hour:
        return Hit("R1", rule.action, f"{hour} payments out in an hour (over {rule.per_hour})")
    if day > rule.per_day:
        return Hit("R1", rule.action, f"{day} payments out in 24 h (over {rule.per_day})")
    return None


def velocity_value(payment: Payment, profile: Profile, seen: Activities) -> Hit | None:
    """R2."""
    rules = profile.risk
    assert rules is not None
    rule = rules.R2
    if not rule.enabled or payment.tier is None or payment.tier not in profile.tier_limits:
        return None
    now, payer = payment.now, payment.payer_id
    value = seen.value_since(payer, now - DAY_NS) + payment.amount
    daily_max = profile.limits(payment.tier).daily_max
    if value * rule.limit_share.denominator <= daily_max * rule.limit_share.numerator:
        return None
    median = seen.median_day(payer, rule.median_days, now)
    if value <= rule.median_multiple * median:
        return None
    return Hit(
        "R2",
        rule.action,
        f"{value} out in 24 h: above {float(rule.limit_share):.0%} of the daily limit"
        f" and {rule.median_multiple}x the median day ({median})",
    )


def sim_swap(
    payment: Payment, profile: Profile, seen: Activities, swapped: bool | None
) -> Hit | None:
    """R6, given whether the line's SIM changed within ``max_age_hours`` (None: not asked)."""
    rules = profile.risk
    assert rules is not None
    rule = rules.R6
    if not rule.enabled or not swapped:
        return None
    if payment.cash_out:
        return Hit("R6", rule.action, "a cash-out within the SIM-swap cool-off")
    new = not seen.paid_before(payment.payer_id, payment.payee_id)
    if new and payment.amount > rule.new_payee_over:
        return Hit("R6", rule.action, "a first payment to a new payee within the SIM-swap cool-off")
    return None


def sim_swap_matters(payment: Payment, profile: Profile, seen: Activities) -> bool:
    """Whether R6 would fire on a swap: only then is the SIM-swap signal asked."""
    rules = profile.risk
    if rules is None or not rules.R6.enabled:
        return False
    if payment.cash_out:
        return True
    new = not seen.paid_before(payment.payer_id, payment.payee_id)
    return new and payment.amount > rules.R6.new_payee_over


def dormant(payment: Payment, profile: Profile, seen: Activities) -> bool:
    """Whether the payer was dormant before R8's window (then the swap signal is asked)."""
    rules = profile.risk
    if rules is None or not rules.R8.enabled:
        return False
    rule = rules.R8
    start = payment.now - rule.window_hours * HOUR_NS
    before = seen.last_payment(payment.payer_id, start)
    since = before or payment.payer_since
    return bool(since) and start - since >= rule.dormant_days * DAY_NS


def dormant_reactivation(
    payment: Payment, profile: Profile, seen: Activities, then: str | None
) -> Hit | None:
    """R8, given what happened to the line within the rule's window (``then``: "a SIM
    swap", "a PIN reset by care"; None: neither)."""
    rules = profile.risk
    assert rules is not None
    rule = rules.R8
    if not rule.enabled or not then or not dormant(payment, profile, seen):
        return None
    start = payment.now - rule.window_hours * HOUR_NS
    value = seen.value_since(payment.payer_id, start) + payment.amount
    if value <= rule.over:
        return None
    return Hit("R8", rule.action, f"{value} out after {rule.dormant_days}+ days dormant and {then}")


def new_device_matters(payment: Payment, profile: Profile, seen: Activities) -> bool:
    """Whether R7 would fire on a new device: only then is the binding asked. An app
    payment to a payee not paid before, taking the window's value over ``over``."""
    rules = profile.risk
    if rules is None or not rules.R7.enabled or payment.channel != "app":
        return False
    rule = rules.R7
    if seen.paid_before(payment.payer_id, payment.payee_id):
        return False
    value = seen.value_since(payment.payer_id, payment.now - rule.window_hours * HOUR_NS)
    return value + payment.amount > rule.over


def new_device(payment: Payment, profile: Profile, bound_at: int | None) -> Hit | None:
    """R7, given when the paying number's newest device binding was made (None: none)."""
    rules = profile.risk
    assert rules is not None
    rule = rules.R7
    if bound_at is None or payment.now - bound_at >= rule.window_hours * HOUR_NS:
        return None
    return Hit(
        "R7", rule.action, "a new payee and a large amount from a device bound within the hour"
    )
