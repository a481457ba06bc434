"""SIM swaps the platform records itself, for operators that feed them by file or event.

A wallet run beside (not inside) a mobile operator may get SIM changes as a daily
file or a message per swap rather than an API. Whatever reads that feed calls
``record(msisdn, at)``; the rules then ask this provider as they would the API.
It holds the latest change per number in memory: a process that restarts must
replay its feed (or its own table) into it before answering.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mkoba.risk.simswap.camara import e164
from mkoba.risk.simswap.provider import check_max_age


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RecordedSimSwap:
    """A ``SimSwapProvider`` over swap events recorded in process (latest per number)."""

    def __init__(self, now: Callable[[], datetime] = _utc_now) -> None:
        self._now = now
        self._latest: dict[str, datetime] = {}

    def __repr__(self) -> str:
        return f"RecordedSimSwap({len(self._latest)} numbers)"

    def record(self, msisdn: str, at: datetime) -> None:
        """Note that ``msisdn``'s SIM changed at ``at`` (aware); an older event changes nothing."""
        e164(msisdn)  # the same numbers the API would take
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("a swap time carries its time zone")
        known = self._latest.get(msisdn)
        if known is None or at > known:
            self._latest[msisdn] = at

    async def check(self, msisdn: str, max_age_hours: int) -> bool:
        """Whether a recorded change falls in the last ``max_age_hours``."""
        e164(msisdn)
        hours = check_max_age(max_age_hours)
        latest = self._latest.get(msisdn)
        return latest is not None and latest > self._now() - timedelta(hours=hours)

    async def latest_change(self, msisdn: str) -> datetime | None:
        """The latest recorded change, or None: none recorded."""
        e164(msisdn)
        return self._latest.get(msisdn)
