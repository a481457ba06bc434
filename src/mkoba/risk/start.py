"""The risk engine as a process starts it: its memory rebuilt from the receipts.

Like daily usage, the rules' windows and payees are rebuilt at start from what
the books hold (``history.payments_since``: every payment made or held in the
last ``memory_days``), so a restart forgets no velocity window and no payee.
The stream rules' windows (``stream.py``) are rebuilt the same way, from the
payments of the last ``stream_hours`` and the reversals asked for in the last
``reversal_days_max``, without raising anything again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from mkoba.ledger import Store
from mkoba.processor import history
from mkoba.risk.activity import DAY_NS, memory_days
from mkoba.risk.engine import AlertSink, RiskEngine
from mkoba.risk.simswap import SimSwapProvider
from mkoba.risk.stream import Stream
from mkoba.risk.stream_cash import cash_hours_max
from mkoba.risk.stream_hit import HOUR_NS
from mkoba.risk.stream_mule import mule_hours_max, reversal_days_max

# The longest window of the stream rules over payments (R4's and R5's are shorter).
stream_hours = max(cash_hours_max, mule_hours_max)

log = logging.getLogger("mkoba.risk")


async def start_engine(
    store: Store,
    now: int,
    swaps: SimSwapProvider | None = None,
    alert: AlertSink | None = None,
) -> RiskEngine:
    """A risk engine that remembers the store's recent payments."""
    engine = RiskEngine(swaps, alert if alert is not None else log_alert)
    started = time.perf_counter()
    rows = await asyncio.to_thread(history.payments_since, store, now - memory_days * DAY_NS)
    count = engine.rebuild(rows, now)
    log.info(
        "risk: %d payments of %d payers remembered in %.2f s",
        count,
        len(engine.seen),
        time.perf_counter() - started,
    )
    engine.stream = await start_stream(store, now, engine.alert)
    return engine


async def start_stream(store: Store, now: int, alert: AlertSink | None) -> Stream:
    """The stream rules, their windows rebuilt from the store's recent events."""
    started = time.perf_counter()
    stream = Stream(alert)
    payments = await asyncio.to_thread(history.movements_since, store, now - stream_hours * HOUR_NS)
    asked = await asyncio.to_thread(
        history.reversals_asked_since, store, now - reversal_days_max * DAY_NS
    )
    count = stream.rebuild(sorted([*payments, *asked], key=lambda movement: movement.now))
    log.info(
        "risk: the stream rules remember %d events (%.2f s)",
        count,
        time.perf_counter() - started,
    )
    return stream


async def log_alert(
    rule: str,
    party_id: int,
    msisdn: str,
    severity: str,
    summary: str,
    details: dict[str, Any],
    str_clock: bool = False,
    *,
    key: str = "",
) -> None:
    """Where alerts go without a queue: the log (party id only, never the number)."""
    del msisdn, details, str_clock, key
    log.warning("risk alert %s (%s) on party %d: %s", rule, severity, party_id, summary)
