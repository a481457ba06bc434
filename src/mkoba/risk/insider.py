"""R12 insider: a member of staff opening many customer profiles with no ticket.

Every customer profile a member of staff opens in the console is audited; the
console also tells this watcher (``viewed``). A profile opened while the customer
has no open care ticket counts; more than the profile's ``profiles_per_hour`` such
profiles in an hour by one member of staff is an alert (rule R12, for the auditor
and compliance), once per member of staff and hour. Touching a wallet tied to one's
own ID or phone is refused by the console itself (``not_their_own``).

The counts live in memory, and are rebuilt at start (``rebuild``) from the staff
audit trail's ``customer.view`` entries of the last hour: each records whether the
customer had an open ticket, so a restart between the views just under the limit
and the one over it still raises the alert, and a near miss stays quiet.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

from mkoba.catalog import Profile

log = logging.getLogger("mkoba.risk.insider")
HOUR_NS = 3_600 * 1_000_000_000
staff_max = 10_000  # members of staff watched at once (the oldest forgotten)


class Insider:
    """Profiles opened without a ticket, per member of staff, over the last hour."""

    def __init__(self, alert: Any) -> None:
        self.alert = alert
        self._opened: dict[str, deque[tuple[int, int]]] = {}  # staff -> (ns, party id)
        self._alerted: dict[str, int] = {}  # staff -> until when an alert stands (ns)

    async def viewed(
        self, staff: str, staff_id: int, party_id: int, ticket: bool, now: int, profile: Profile
    ) -> None:
        """``staff`` opened ``party_id``'s profile (``ticket``: the customer has an open one)."""
        rules = profile.risk
        if rules is None or not rules.R12.enabled or ticket:
            return
        limit = rules.R12.profiles_per_hour
        distinct = self._count(staff, party_id, now, limit)
        if distinct is None:
            return
        summary = f"R12: {len(distinct)} customer profiles opened in an hour with no ticket"
        details = {"staff": staff, "profiles": sorted(distinct)[:50], "limit": limit}
        try:
            await self.alert(
                "R12", staff_id, "", "high", summary, details, key=f"R12:{staff}:{now // HOUR_NS}"
            )
        except Exception:
            log.exception("an insider alert could not be raised")

    def rebuild(self, views: Iterable[View], profile: Profile) -> int:
        """Start from the views the staff audit trail recorded in the last hour, oldest
        first, raising nothing (their alert was raised when they were made); how many
        counted. A view made while the customer had an open ticket does not count."""
        rules = profile.risk
        if rules is None or not rules.R12.enabled:
            return 0
        counted = 0
        for view in views:
            if not view.ticket:
                self._count(view.staff, view.party_id, view.at, rules.R12.profiles_per_hour)
                counted += 1
        return counted

    def _count(self, staff: str, party_id: int, now: int, limit: int) -> set[int] | None:
        """Count one view; the profiles opened in the hour when they are one over the
        limit and no alert stands for ``staff`` (which then stands for an hour)."""
        opened = self._opened.setdefault(staff, deque())
        opened.append((now, party_id))
        while opened and opened[0][0] <= now - HOUR_NS:
            opened.popleft()
        if len(self._opened) > staff_max:
            self._opened.pop(next(iter(self._opened)))
        distinct = {party for _, party in opened}
        if len(distinct) <= limit or self._alerted.get(staff, 0) > now:
            return None
        self._alerted[staff] = now + HOUR_NS
        return distinct


class View(NamedTuple):
    """A customer profile opened by a member of staff, as the audit trail recorded it."""

    at: int
    staff: str
    party_id: int
    # The customer had an open care ticket (then the view does not count).
    ticket: bool
