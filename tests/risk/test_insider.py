"""R12's counts rebuilt from the audit trail's views (``Insider.rebuild``), without a
platform: a rebuilt view counts as a live one did, a view made for an open ticket does
not, an alert raised before the restart is not raised again within its hour, and a
view older than the hour is forgotten. (Through the console, across a real restart:
tests/channels/console/test_insider.py.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mkoba.catalog import Profile, load_catalog
from mkoba.risk.insider import HOUR_NS, Insider, View

pytestmark = pytest.mark.anyio
MINUTE_NS = HOUR_NS // 60


def kenya() -> Profile:
    return load_catalog("kenya").at(dt.datetime.now(dt.UTC))


class Raised:
    """The alerts raised, as the queue would get them."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def __call__(self, *args: Any, key: str = "", **kwargs: Any) -> None:
        self.keys.append(key)


async def test_rebuilt_views_count_as_live_ones_and_ticket_views_do_not() -> None:
    profile = kenya()
    assert profile.risk is not None
    limit = profile.risk.R12.profiles_per_hour
    start = 1_000 * HOUR_NS
    views = [View(start + n * MINUTE_NS, "care.1", 5_000 + n, False) for n in range(limit)]
    views += [View(start + n, "care.1", 9_000 + n, True) for n in range(5)]  # for tickets
    views += [View(start - HOUR_NS, "care.1", 8_000, False)]  # before the hour: gone
    raised = Raised()
    insider = Insider(raised)
    assert insider.rebuild(sorted(views), profile) == limit + 1
    now = start + limit * MINUTE_NS
    await insider.viewed("care.1", 7, 5_000, False, now, profile)  # seen already
    assert raised.keys == []
    await insider.viewed("care.1", 7, 6_000, False, now, profile)  # one over the limit
    assert len(raised.keys) == 1


async def test_an_alert_raised_before_the_restart_stands_for_its_hour() -> None:
    profile = kenya()
    assert profile.risk is not None
    limit = profile.risk.R12.profiles_per_hour
    start = 1_000 * HOUR_NS
    views = [View(start + n, "care.2", 5_000 + n, False) for n in range(limit + 1)]
    raised = Raised()
    insider = Insider(raised)
    insider.rebuild(views, profile)
    await insider.viewed("care.2", 8, 6_000, False, start + 30 * MINUTE_NS, profile)
    assert raised.keys == []  # raised when it was crossed, before the restart
    await insider.viewed("care.2", 8, 6_001, False, start + HOUR_NS + limit + 1, profile)
    assert raised.keys == []  # the hour's views have gone: one profile is no pattern
