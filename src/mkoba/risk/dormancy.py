"""Dormant wallets, marked: a sweep at start, then every ``sweep_interval_s``.

A customer wallet whose last customer-initiated payment (or, with none, its
opening) is at least the profile's ``R8.dormant_days`` old is marked dormant
(``parties.dormancy``: the parties package owns the state; the change commits
through the ledger writer, then applies to the directory). The activity read is
the inline rules' (``activity.py``: rebuilt from the receipts at start, then kept
by TranProc), so the sweep costs no query. The customer's next allowed payment
makes the wallet active again, in the same commit as the payment
(``RiskEngine.check``); a deposit to it by someone else does not.

R8 does not wait for the mark: it reads the activity itself, so a wallet that
crossed the line between two sweeps is judged the same. The mark is what staff
see (the console's customer view) and what reports count.

A payment or a staff change can land while a sweep's change commits. The
directory is the truth: a wallet that moved on meanwhile (its party changed, or
its owner paid) is not marked in memory, and its row as the directory holds it is
written again, so the database never keeps a stale row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from mkoba.catalog import Profile
from mkoba.ledger import Write
from mkoba.parties import Change, Directory, Party
from mkoba.parties.dormancy import dormant_change, may_fall_dormant
from mkoba.risk.activity import DAY_NS, Activities

log = logging.getLogger("mkoba.risk")

# How often idle wallets are looked for (a wallet is marked at most this late).
sweep_interval_s = 86_400.0
# Wallets marked in one commit, at most.
parties_per_change = 500
# The scan gives the event loop back every so many parties.
scan_yield_every = 10_000


class Dormancy:
    """Marks idle customer wallets dormant."""

    def __init__(
        self,
        directory: Directory,
        seen: Activities,
        submit: Callable[[list[Write]], Awaitable[object]],
        profile: Callable[[int], Profile],
        clock: Callable[[], int],
    ) -> None:
        self.directory = directory
        self.seen = seen
        self.submit = submit
        self.profile = profile
        self.clock = clock
        self.marked = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def idle(self, party: Party, now: int, days: int) -> bool:
        """Whether ``party`` has initiated nothing (nor opened) in the ``days`` before ``now``."""
        since = self.seen.last_payment(party.id, now + 1) or party.created
        return since > 0 and now - since >= days * DAY_NS

    async def sweep(self) -> int:
        """Mark dormant every active customer wallet idle for the dormancy days; how many."""
        now = self.clock()
        rules = self.profile(now).risk
        if rules is None:
            return 0
        days = rules.R8.dormant_days
        found: list[Party] = []
        for index, party in enumerate(list(self.directory.parties.values())):
            if index % scan_yield_every == scan_yield_every - 1:
                await asyncio.sleep(0)
            if may_fall_dormant(party) and self.idle(party, now, days):
                found.append(party)
        marked = 0
        for start in range(0, len(found), parties_per_change):
            if self._stopping.is_set():
                break  # the rest waits for the next start
            marked += await self._mark(found[start : start + parties_per_change], now, days)
        self.marked += marked
        return marked

    async def _mark(self, parties: Sequence[Party], now: int, days: int) -> int:
        pairs = [(party, self.seen.last_payment(party.id, now + 1)) for party in parties]
        change = dormant_change(pairs, now)
        assert change is not None and len(change.parties) == len(parties)
        await self.submit(change.writes())
        later = self.clock()
        kept: list[Party] = []
        moved: list[Party] = []
        for party, dormant in zip(parties, change.parties, strict=True):
            current = self.directory.get(party.id)
            if current == party and self.idle(party, later, days):
                kept.append(dormant)
            elif current is not None:
                moved.append(current)
        if moved:  # the directory's rows again: what landed meanwhile wins
            await self.submit(Change(parties=tuple(moved)).writes())
        if kept:
            self.directory.apply(Change(parties=tuple(kept)))
        return len(kept)

    def start(self, every_s: float = sweep_interval_s) -> None:
        """Sweep now (in the background), then every ``every_s``."""
        assert self._task is None and every_s > 0
        self._task = asyncio.get_running_loop().create_task(self._run(every_s))

    async def _run(self, every_s: float) -> None:
        while not self._stopping.is_set():
            try:
                marked = await self.sweep()
                if marked:
                    log.info("risk: %d wallets marked dormant", marked)
            except Exception:  # the next sweep tries again; payments never wait on it
                log.exception("risk: the dormancy sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every_s)

    async def stop(self) -> None:
        """End the sweeps: one in progress stops between its commits (none is cut)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            await task
