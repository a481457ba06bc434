"""A moment in a profile's time zone, as receipts, messages and daily limits name it.

Every request needs the local date and time a few times over (the receipt's
letters, the day its limits count in, the date and time of its SMS).
They change once a minute, so the last minute's answer is kept: time zones
shift by whole minutes, so every moment of one minute has the same names.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

_NS_PER_MINUTE = 60_000_000_000


class Moment(NamedTuple):
    """The names of a minute in one time zone."""

    # As SMS print the date (24/11/26); the time in the neutral 24-hour form (21:05)
    # that each language words its own way (messages/clock.py: 9:05 PM, 3:05 usiku).
    date: str
    time: str
    # The unit of daily limits: 2026-11-24.
    day: str
    # The local start of the minute (its date names the receipt).
    local: dt.datetime


_last: tuple[int, dt.tzinfo, Moment] | None = None


def moment(now: int, timezone: dt.tzinfo) -> Moment:
    """The names of ``now`` (ns since the epoch) in ``timezone``."""
    global _last  # noqa: PLW0603 (one entry, replaced whole: safe from any thread)
    minute = now // _NS_PER_MINUTE
    last = _last
    if last is not None and last[0] == minute and last[1] is timezone:
        return last[2]
    local = dt.datetime.fromtimestamp(minute * 60, timezone)
    found = Moment(
        local.strftime("%d/%m/%y"),
        local.strftime("%H:%M"),
        local.date().isoformat(),
        local,
    )
    _last = (minute, timezone, found)
    return found
