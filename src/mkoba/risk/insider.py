"""R12 insider: a member of staff opening many customer profiles with no ticket.

Every customer profile a member of staff opens in the console is audited; the
console also tells this watcher (``viewed``). A profile opened while the customer
has no open care ticket counts; more than the profile's ``profiles_per_hour`` such
profiles in an hour by one member of staff is an alert (rule R12, for the auditor
and compliance), once per member of staff and hour. Touching a wallet tied to one's
own ID or phone is refused by the console itself (``not_their_own``).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

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
        opened = self._opened.setdefault(staff, deque())
        opened.append((now, party_id))
        while opened and opened[0][0] <= now - HOUR_NS:
            opened.popleft()
        if len(self._opened) > staff_max:
            self._opened.pop(next(iter(self._opened)))
        distinct = {party for _, party in opened}
        limit = rules.R12.profiles_per_hour
        if len(distinct) <= limit or self._alerted.get(staff, 0) > now:
            return
        self._alerted[staff] = now + HOUR_NS
        summary = f"R12: {len(distinct)} customer profiles opened in an hour with no ticket"
        details = {"staff": staff, "profiles": sorted(distinct)[:50], "limit": limit}
        try:
            await self.alert(
                "R12", staff_id, "", "high", summary, details, key=f"R12:{staff}:{now // HOUR_NS}"
            )
        except Exception:
            log.exception("an insider alert could not be raised")
