"""The stream rules (R3, R4, R5, R9, R10): they watch committed events and raise alerts.

TranProc tells the risk engine of every committed payment and of every reversal
asked for (``RiskEngine.observed``), which hands it to ``Stream.observe``. That
call is in memory and fast: each rule (``stream_cash.py``, ``stream_mule.py``)
records the movement in its windows and says whether it completes a pattern
under the profile's parameters; an alert is raised in the background, never on
the payment's path. Nothing here holds or refuses a payment.

The same pattern is one alert: a hit's key names the rule, the party and the
first event of the window, so the events that extend a pattern find its alert
(here, from memory of the keys raised; in the queue, by key). At start the
windows are rebuilt from the store (``rebuild``, by ``start.start_engine``)
without raising anything; the next event that extends an old pattern names the
same key, which the queue answers with the alert it already has.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from mkoba.catalog import Profile
from mkoba.processor.risk_port import Movement
from mkoba.risk.engine import AlertSink
from mkoba.risk.stream_cash import DirectDeposits, SplitDeposits, Structuring
from mkoba.risk.stream_hit import Hit
from mkoba.risk.stream_mule import Mules, Reversals

log = logging.getLogger("mkoba.risk")

# Alerts being raised at once, at most; past it a hit is logged and counted, not queued.
pending_alerts_max = 10_000
# Keys this process raised, remembered so a pattern's later events cost no round trip.
raised_keys_max = 100_000
# Every so many movements, forget the parties with nothing left in any window.
sweep_every = 10_000


class Rule(Protocol):
    """One rule's memory: record a movement, answer the hits it completes."""

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        """Record ``movement``; the hits it completes (``profile`` None: record only)."""
        ...

    def sweep(self, now: int) -> None:
        """Forget what is older than the rule's memory."""
        ...


class Stream:
    """Every stream rule's memory, and the alerts on their way to the queue."""

    def __init__(
        self, alert: AlertSink | None = None, identity: Callable[[int], str] | None = None
    ) -> None:
        self.alert = alert
        self.rules: tuple[Rule, ...] = (
            Structuring(identity),
            SplitDeposits(),
            DirectDeposits(),
            Mules(),
            Reversals(),
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._raised: OrderedDict[str, None] = OrderedDict()
        self._seen = 0
        self.hits = 0
        self.dropped = 0
        self.errors = 0

    def observe(self, movement: Movement, profile: Profile) -> None:
        """One committed event: record it; raise (in the background) what it completes."""
        if profile.risk is None:
            self._record(movement)
            return
        for rule in self.rules:
            try:
                hits = rule.see(movement, profile)
            except Exception:  # the payment is committed: a rule's bug must not fail it
                self.errors += 1
                log.exception("risk: the stream rule %s failed", type(rule).__name__)
                continue
            for hit in hits:
                self._raise(hit)
        self._count(movement.now)

    def rebuild(self, movements: Iterable[Movement]) -> int:
        """Start from stored events, oldest first, raising nothing; how many."""
        count = 0
        for movement in movements:
            self._record(movement)
            count += 1
        return count

    async def drain(self) -> None:
        """Wait for the alerts on their way (tests; a stop that wants them out)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _record(self, movement: Movement) -> None:
        for rule in self.rules:
            hits = rule.see(movement, None)
            assert not hits, "recording alone raises nothing"
        self._count(movement.now)

    def _count(self, now: int) -> None:
        self._seen += 1
        if self._seen % sweep_every == 0:
            for rule in self.rules:
                rule.sweep(now)

    def _raise(self, hit: Hit) -> None:
        self.hits += 1
        if hit.key in self._raised:
            return  # this pattern's alert is raised (or on its way) already
        if len(self._tasks) >= pending_alerts_max:
            self.dropped += 1
            log.warning("risk: %s on party %d not raised: too many alerts pending", *hit[:2])
            return
        self._raised[hit.key] = None
        if len(self._raised) > raised_keys_max:
            self._raised.popitem(last=False)
        task = asyncio.get_running_loop().create_task(self._send(hit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, hit: Hit) -> None:
        if self.alert is None:
            log.warning("risk alert %s on party %d: %s", hit.rule, hit.party_id, hit.summary)
            return
        try:
            await self.alert(
                hit.rule,
                hit.party_id,
                "",  # the stream sees party ids, not numbers: compliance opens the party
                hit.severity,
                hit.summary,
                hit.details,
                hit.str_clock,
                key=hit.key,
            )
        except Exception:  # logged; the pattern's next event tries again
            self._raised.pop(hit.key, None)
            log.exception("risk: a %s alert could not be raised", hit.rule)
