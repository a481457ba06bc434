"""The risk engine as a process starts it: its memory rebuilt from the receipts.

Like daily usage, the rules' windows and payees are rebuilt at start from what
the books hold (``history.payments_since``: every payment made or held in the
last ``memory_days``), so a restart forgets no velocity window and no payee.
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
    return engine


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
