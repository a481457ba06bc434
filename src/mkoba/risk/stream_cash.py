"""The stream rules over cash at agents: R3 structuring, R4 split deposit, R5 direct deposit.

Each rule keeps, in memory, only what it reads, for at most its memory horizon
(a window a profile sets longer than that horizon sees only the horizon):

- R3: per customer and direction, the cash-ins (a ``deposit`` paid to them) or the
  cash-outs (a ``withdraw`` they paid) of the last ``cash_hours_max``.
- R4: per agent store and customer, the deposits of the last ``split_minutes_max``,
  with the commission each earned.
- R5: per customer, their last cash-in while nothing else of theirs followed it.

``see(movement, profile)`` records the movement and answers the hits it completes;
with ``profile`` None it only records (a restart replaying the stored events).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from mkoba.catalog import Profile
from mkoba.processor.risk_port import Movement
from mkoba.risk.stream_hit import (
    CASH_IN,
    CASH_OUT,
    HOUR_NS,
    MINUTE_NS,
    Hit,
    at_least,
    cash_customer,
    listed,
)

cash_hours_max = 48  # R3 reads at most this far back
split_minutes_max = 120  # R4
direct_minutes_max = 240  # R5


class Cash(NamedTuple):
    """One cash-in or cash-out as R3 and R4 remember it."""

    at: int
    amount: int
    request_id: str
    agent_id: int
    commission: int
    # The wallet it was (R3 counts one ID's wallets together).
    party_id: int = 0


def _trim(events: deque[Cash], horizon: int) -> None:
    while events and events[0].at < horizon:
        events.popleft()


class Structuring:
    """R3: many cash-ins (or cash-outs) of one customer, each below the CTR threshold,
    that together come near it. One customer is one ID document (``identity``: a party
    id to its ID's keyed digest), whatever wallets it registered: a per-wallet count
    could never reach the threshold under Kenya's balance limits."""

    def __init__(self, identity: Callable[[int], str] | None = None) -> None:
        self._by: dict[tuple[str, str], deque[Cash]] = {}
        self._identity = identity or str

    def __len__(self) -> int:
        return len(self._by)

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        """Record a cash movement; the R3 hit it completes, if any."""
        cash = cash_customer(movement)
        if cash is None:
            return []
        customer, agent, direction = cash
        events = self._by.setdefault((self._identity(customer), direction), deque())
        events.append(
            Cash(
                movement.now,
                movement.amount,
                movement.request_id,
                agent,
                movement.commission,
                customer,
            )
        )
        _trim(events, movement.now - cash_hours_max * HOUR_NS)
        if profile is None or profile.risk is None or not profile.risk.R3.enabled:
            return []
        return _structuring(movement, profile, customer, direction, events)

    def sweep(self, now: int) -> None:
        """Forget customers with nothing left in the horizon."""
        horizon = now - cash_hours_max * HOUR_NS
        for key in [key for key, events in self._by.items() if events[-1].at < horizon]:
            del self._by[key]


def _structuring(
    movement: Movement, profile: Profile, customer: int, direction: str, events: deque[Cash]
) -> list[Hit]:
    risk = profile.risk
    assert risk is not None
    rule, threshold = risk.R3, risk.ctr_threshold
    if movement.amount >= threshold:
        return []  # at or above the threshold it is reported (CTR), not structured
    start = movement.now - rule.window_hours * HOUR_NS
    parts = [e for e in events if start <= e.at <= movement.now and e.amount < threshold]
    total = sum(e.amount for e in parts)
    if len(parts) < rule.count or not at_least(total, threshold, rule.share):
        return []
    kind = "cash-ins" if direction == "cash_in" else "cash-outs"
    details = {
        "customer_id": customer,
        "direction": direction,
        "count": len(parts),
        "total": total,
        "ctr_threshold": threshold,
        "window_hours": rule.window_hours,
        "amounts": listed([e.amount for e in parts]),
        "request_ids": listed([e.request_id for e in parts]),
        "agent_ids": sorted({e.agent_id for e in parts}),
        "wallet_ids": sorted({e.party_id for e in parts if e.party_id}),
    }
    summary = (
        f"R3 structuring: {len(parts)} {kind} of party {customer} within"
        f" {rule.window_hours} h, each below the CTR threshold, together {total}"
        f" (threshold {threshold})"
    )
    key = f"R3:{customer}:{direction}:{parts[0].request_id}"
    return [Hit("R3", customer, "high", summary, details, key, str_clock=True)]


class SplitDeposits:
    """R4: one agent store splits one customer's deposit to earn more commission."""

    def __init__(self) -> None:
        self._by: dict[tuple[int, int], deque[Cash]] = {}

    def __len__(self) -> int:
        return len(self._by)

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        """Record a deposit; the R4 hit it completes, if any."""
        if movement.product != CASH_IN:
            return []
        agent, customer = movement.payer_id, movement.payee_id
        events = self._by.setdefault((agent, customer), deque())
        events.append(
            Cash(movement.now, movement.amount, movement.request_id, agent, movement.commission)
        )
        _trim(events, movement.now - split_minutes_max * MINUTE_NS)
        if profile is None or profile.risk is None or not profile.risk.R4.enabled:
            return []
        return _split(movement, profile, agent, customer, events)

    def sweep(self, now: int) -> None:
        """Forget pairs with nothing left in the horizon."""
        horizon = now - split_minutes_max * MINUTE_NS
        for key in [key for key, events in self._by.items() if events[-1].at < horizon]:
            del self._by[key]


def _split(
    movement: Movement, profile: Profile, agent: int, customer: int, events: deque[Cash]
) -> list[Hit]:
    risk = profile.risk
    assert risk is not None
    rule = risk.R4
    start = movement.now - rule.window_minutes * MINUTE_NS
    parts = [e for e in events if start <= e.at <= movement.now]
    if len(parts) < rule.count or CASH_IN not in profile.tariffs:
        return []
    total = sum(e.amount for e in parts)
    tariff = profile.tariff(CASH_IN)
    if not tariff.minimum <= total <= tariff.maximum:
        return []  # no single deposit could have been made: the split was needed
    combined = profile.commission(CASH_IN, total)
    earned = sum(e.commission for e in parts)
    if combined >= earned:
        return []
    details = {
        "agent_id": agent,
        "customer_id": customer,
        "count": len(parts),
        "total": total,
        "commission_parts": earned,
        "commission_combined": combined,
        "window_minutes": rule.window_minutes,
        "amounts": listed([e.amount for e in parts]),
        "request_ids": listed([e.request_id for e in parts]),
    }
    summary = (
        f"R4 split deposit: agent store {agent} made {len(parts)} deposits to party"
        f" {customer} within {rule.window_minutes} min; commission {earned} against"
        f" {combined} for one deposit of {total}"
    )
    key = f"R4:{agent}:{customer}:{parts[0].request_id}"
    return [Hit("R4", agent, "medium", summary, details, key)]


class DirectDeposits:
    """R5: a cash-in, then a cash-out at another agent, with nothing of the customer's
    in between (the cash went through the wallet to skip the transfer fee)."""

    def __init__(self) -> None:
        self._last: dict[int, Cash] = {}  # customer -> their last cash-in, nothing after it

    def __len__(self) -> int:
        return len(self._last)

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        """Record what the customer did; the R5 hit a cash-out completes, if any."""
        hits: list[Hit] = []
        risk = profile.risk if profile is not None else None
        if movement.product == CASH_OUT and risk is not None and risk.R5.enabled:
            before = self._last.get(movement.payer_id)
            window_ns = risk.R5.window_minutes * MINUTE_NS
            if (
                before is not None
                and before.agent_id != movement.payee_id
                and 0 <= movement.now - before.at <= window_ns
            ):
                hits.append(_direct(movement, before, risk.R5.window_minutes))
        # Any movement is activity of both its parties: the pattern needs nothing between.
        self._last.pop(movement.payer_id, None)
        self._last.pop(movement.payee_id, None)
        if movement.product == CASH_IN:
            self._last[movement.payee_id] = Cash(
                movement.now, movement.amount, movement.request_id, movement.payer_id, 0
            )
        return hits

    def sweep(self, now: int) -> None:
        """Forget cash-ins older than the horizon."""
        horizon = now - direct_minutes_max * MINUTE_NS
        for key in [key for key, cash in self._last.items() if cash.at < horizon]:
            del self._last[key]


def _direct(movement: Movement, cash_in: Cash, window_minutes: int) -> Hit:
    customer = movement.payer_id
    details = {
        "customer_id": customer,
        "cash_in_agent_id": cash_in.agent_id,
        "cash_out_agent_id": movement.payee_id,
        "cash_in_request_id": cash_in.request_id,
        "cash_out_request_id": movement.request_id,
        "cash_in_amount": cash_in.amount,
        "cash_out_amount": movement.amount,
        "seconds_between": (movement.now - cash_in.at) // 1_000_000_000,
        "window_minutes": window_minutes,
    }
    summary = (
        f"R5 direct deposit: agent store {cash_in.agent_id} cashed in to party {customer},"
        f" cashed out at agent store {movement.payee_id} within {window_minutes} min,"
        " nothing in between"
    )
    return Hit("R5", cash_in.agent_id, "medium", summary, details, f"R5:{cash_in.request_id}")
