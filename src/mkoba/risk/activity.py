"""What the inline rules remember of each payer: recent payments, payees, dormancy.

Per customer: the payments out of the last ``window_days`` (time, amount,
payee), the payees paid in the last ``memory_days`` with the last time each,
and when the customer last initiated a payment (dormancy). Rebuilt at start
from the receipts (``rebuild``), as daily usage is, then kept up to date by
TranProc as payments commit (``record``). Times are ns.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
window_days = 31  # the longest window a rule reads payment by payment (R2's 30-day median)
memory_days = 200  # payees and dormancy: beyond the longest dormancy rule (180 days)


@dataclass(slots=True)
class Activity:
    """One payer's recent payments out."""

    payments: deque[tuple[int, int, int]] = field(default_factory=deque)  # (ns, amount, payee)
    payees: dict[int, int] = field(default_factory=dict)  # payee -> last payment ns
    last: int = 0  # the last payment this payer initiated (ns), 0: none known

    def trim(self, now: int) -> None:
        """Forget payments older than the window."""
        horizon = now - window_days * DAY_NS
        while self.payments and self.payments[0][0] < horizon:
            self.payments.popleft()


class Activities:
    """Every payer's activity, in memory."""

    def __init__(self) -> None:
        self._by_payer: dict[int, Activity] = {}

    def __len__(self) -> int:
        return len(self._by_payer)

    def record(self, payer_id: int, now: int, amount: int, payee_id: int) -> None:
        """A payment out of ``payer_id`` committed (or was reserved, held)."""
        activity = self._by_payer.setdefault(payer_id, Activity())
        activity.payments.append((now, amount, payee_id))
        activity.payees[payee_id] = max(now, activity.payees.get(payee_id, 0))
        activity.last = max(activity.last, now)
        activity.trim(now)

    def rebuild(self, rows: Iterable[tuple[int, int, int, int]], now: int) -> int:
        """Start from stored payments ``(payer, payee, amount, ns)``, oldest first; how many."""
        count = 0
        horizon = now - window_days * DAY_NS
        for payer_id, payee_id, amount, at in rows:
            activity = self._by_payer.setdefault(payer_id, Activity())
            if at >= horizon:
                activity.payments.append((at, amount, payee_id))
            activity.payees[payee_id] = max(at, activity.payees.get(payee_id, 0))
            activity.last = max(activity.last, at)
            count += 1
        return count

    def count_since(self, payer_id: int, since: int) -> int:
        """Payments out since ``since``."""
        activity = self._by_payer.get(payer_id)
        if activity is None:
            return 0
        return sum(1 for at, _, _ in activity.payments if at >= since)

    def value_since(self, payer_id: int, since: int) -> int:
        """Value paid out since ``since`` (minor units)."""
        activity = self._by_payer.get(payer_id)
        if activity is None:
            return 0
        return sum(amount for at, amount, _ in activity.payments if at >= since)

    def median_day(self, payer_id: int, days: int, now: int) -> int:
        """The median of the payer's daily value out over the ``days`` before the last 24 h
        (a day without payments counts as zero)."""
        activity = self._by_payer.get(payer_id)
        if activity is None or days <= 0:
            return 0
        totals = [0] * days
        end = now - DAY_NS
        for at, amount, _ in activity.payments:
            if at < end:
                index = (end - at) // DAY_NS
                if index < days:
                    totals[index] += amount
        return int(statistics.median(totals))

    def paid_before(self, payer_id: int, payee_id: int) -> bool:
        """Whether the payer has paid this payee in the remembered past."""
        activity = self._by_payer.get(payer_id)
        return activity is not None and payee_id in activity.payees

    def last_payment(self, payer_id: int, before: int) -> int:
        """The payer's last payment out before ``before`` (ns), 0 if none is remembered."""
        activity = self._by_payer.get(payer_id)
        if activity is None:
            return 0
        if activity.last < before:
            return activity.last
        earlier = [at for at, _, _ in activity.payments if at < before]
        if earlier:
            return max(earlier)
        older = [at for at in activity.payees.values() if at < before]
        return max(older, default=0)
