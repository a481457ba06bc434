"""The stream rules over people's money: R9 mule fan-in / fan-out, R10 reversal abuse.

- R9 remembers, per wallet, the person-to-person payments it received (``FAN_IN``)
  and the cash-outs it made, for ``mule_hours_max``. A wallet that ``senders`` or
  more distinct people paid within ``window_hours``, and that cashed out at least
  ``cashout_share`` of that money within ``cashout_hours`` of each payment's arrival
  (matched oldest first), is a mule.
- R10 remembers, for ``reversal_days_max``, the reversals each party asked for and
  those asked of them (the recipient of the original): ``count`` or more of either
  within ``window_days`` fires.

``see(movement, profile)`` records and answers the hits; ``profile`` None only records.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from mkoba.catalog import Profile
from mkoba.catalog.risk_schema import ReversalAbuse
from mkoba.processor.risk_port import Movement
from mkoba.risk.stream_hit import CASH_OUT, DAY_NS, HOUR_NS, Hit, at_least, listed

mule_hours_max = 48  # R9 reads at most this far back (window plus cash-out time)
reversal_days_max = 31  # R10
# Payments from one person to another: what a mule collects.
FAN_IN = frozenset({"send_money", "pay_request"})
REVERSAL_ASKED = "request_reversal"


class Paid(NamedTuple):
    """A payment as R9 and R10 remember it: when, from or to whom, how much."""

    at: int
    party_id: int
    amount: int
    request_id: str


def _trim(events: deque[Paid], horizon: int) -> None:
    while events and events[0].at < horizon:
        events.popleft()


def _sweep(by: dict[int, deque[Paid]], horizon: int) -> None:
    for key in [key for key, events in by.items() if not events or events[-1].at < horizon]:
        del by[key]


class Mules:
    """R9: many senders in, most of it out as cash soon after."""

    def __init__(self) -> None:
        self._in: dict[int, deque[Paid]] = {}  # wallet -> payments received (party: sender)
        self._out: dict[int, deque[Paid]] = {}  # wallet -> cash-outs (party: agent store)

    def __len__(self) -> int:
        return len(self._in)

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        """Record a payment in or a cash-out; the R9 hit it completes, if any."""
        horizon = movement.now - mule_hours_max * HOUR_NS
        if movement.product in FAN_IN and movement.payer_id != movement.payee_id:
            wallet = movement.payee_id
            events = self._in.setdefault(wallet, deque())
            events.append(
                Paid(movement.now, movement.payer_id, movement.amount, movement.request_id)
            )
        elif movement.product == CASH_OUT and movement.payer_id in self._in:
            wallet = movement.payer_id  # only a wallet that received something can be a mule
            events = self._out.setdefault(wallet, deque())
            events.append(
                Paid(movement.now, movement.payee_id, movement.amount, movement.request_id)
            )
        else:
            return []
        _trim(events, horizon)
        risk = profile.risk if profile is not None else None
        if risk is None or not risk.R9.enabled or len(self._in[wallet]) < risk.R9.senders:
            return []
        if not self._out.get(wallet):
            return []  # nothing cashed out: no mule yet (and a busy payee costs nothing)
        return _mule(movement, profile, wallet, self._in[wallet], self._out.get(wallet, ()))

    def sweep(self, now: int) -> None:
        """Forget wallets with nothing left in the horizon."""
        horizon = now - mule_hours_max * HOUR_NS
        _sweep(self._in, horizon)
        _sweep(self._out, horizon)


def cashed_within(incoming: list[Paid], cash_outs: list[Paid], limit_ns: int) -> int:
    """How much of ``incoming`` was cashed out within ``limit_ns`` of its arrival: each
    cash-out takes from the oldest payment still in time, as a teller's FIFO would."""
    queue = deque([paid.at, paid.amount] for paid in sorted(incoming))
    total = 0
    for cash_out in sorted(cash_outs):
        while queue and cash_out.at - queue[0][0] > limit_ns:
            queue.popleft()  # arrived too long before this cash-out: not cashed in time
        left = cash_out.amount
        while left and queue and queue[0][0] <= cash_out.at:
            take = min(left, queue[0][1])
            queue[0][1] -= take
            left -= take
            total += take
            if queue[0][1] == 0:
                queue.popleft()
    assert 0 <= total <= sum(paid.amount for paid in incoming)
    return total


def _mule(
    movement: Movement,
    profile: Profile | None,
    wallet: int,
    received: deque[Paid],
    cashed: deque[Paid] | tuple[()],
) -> list[Hit]:
    assert profile is not None and profile.risk is not None
    rule = profile.risk.R9
    start = movement.now - rule.window_hours * HOUR_NS
    incoming = [paid for paid in received if start <= paid.at <= movement.now]
    senders = sorted({paid.party_id for paid in incoming})
    if len(senders) < rule.senders:
        return []
    first = incoming[0].at
    outs = [paid for paid in cashed if first <= paid.at <= movement.now]
    inflow = sum(paid.amount for paid in incoming)
    out = cashed_within(incoming, outs, rule.cashout_hours * HOUR_NS)
    if not outs or not at_least(out, inflow, rule.cashout_share):
        return []
    details = {
        "wallet_party_id": wallet,
        "senders": len(senders),
        "sender_ids": listed(senders),
        "received": inflow,
        "cashed_out": out,
        "window_hours": rule.window_hours,
        "cashout_hours": rule.cashout_hours,
        "request_ids": listed([paid.request_id for paid in incoming]),
        "cash_out_request_ids": listed([paid.request_id for paid in outs]),
    }
    summary = (
        f"R9 mule: party {wallet} was paid by {len(senders)} senders within"
        f" {rule.window_hours} h ({inflow}) and cashed out {out} of it within"
        f" {rule.cashout_hours} h"
    )
    key = f"R9:{wallet}:{incoming[0].request_id}"
    return [Hit("R9", wallet, "high", summary, details, key)]


class Reversals:
    """R10: one party asks for many reversals, or has many asked of them."""

    def __init__(self) -> None:
        self._asked: dict[int, deque[Paid]] = {}  # asker -> asked (party: the recipient)
        self._received: dict[int, deque[Paid]] = {}  # recipient -> asked of them (the asker)

    def __len__(self) -> int:
        return len(self._asked) + len(self._received)

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        """Record a reversal asked for; the R10 hits it completes, if any."""
        if movement.product != REVERSAL_ASKED:
            return []
        horizon = movement.now - reversal_days_max * DAY_NS
        asker, other = movement.payer_id, movement.payee_id
        sides = [("asked", asker, other, self._asked)]
        if other:  # 0: the recipient was not known
            sides.append(("received", other, asker, self._received))
        hits: list[Hit] = []
        risk = profile.risk if profile is not None else None
        for side, party, counterpart, by in sides:
            events = by.setdefault(party, deque())
            events.append(Paid(movement.now, counterpart, movement.amount, movement.request_id))
            _trim(events, horizon)
            if risk is not None and risk.R10.enabled:
                hits.extend(_abuse(movement, side, party, events, risk.R10))
        return hits

    def sweep(self, now: int) -> None:
        """Forget parties with nothing left in the horizon."""
        horizon = now - reversal_days_max * DAY_NS
        _sweep(self._asked, horizon)
        _sweep(self._received, horizon)


def _abuse(
    movement: Movement, side: str, party: int, events: deque[Paid], rule: ReversalAbuse
) -> list[Hit]:
    window_days = rule.window_days
    start = movement.now - window_days * DAY_NS
    within = [paid for paid in events if start <= paid.at <= movement.now]
    if len(within) < rule.count:
        return []
    details = {
        "party_id": party,
        "side": side,
        "count": len(within),
        "window_days": window_days,
        "amounts": listed([paid.amount for paid in within]),
        "counterpart_ids": listed(sorted({paid.party_id for paid in within})),
        "request_ids": listed([paid.request_id for paid in within]),
    }
    what = "asked for" if side == "asked" else "had asked of them"
    summary = (
        f"R10 reversal abuse: party {party} {what} {len(within)} reversals in {window_days} days"
    )
    key = f"R10:{side}:{party}:{within[0].request_id}"
    return [Hit("R10", party, "medium", summary, details, key)]
