"""A core that stands by for the ledger's lease, and the end of a core that loses it.

On PostgreSQL the core's ledger writer holds the ledger's lease
(``ledger/store/lease.py``). A second ``--role core`` on the same ledger does not
fail: it connects to the bus and the store, says that it is the standby (a log
line, and ``/health`` status "standby" naming the holder) and tries for the lease
every ``poll_s``. Meanwhile it keeps warm (``warmup.py``): it loads the ledger and
the directory and follows what the active core commits. Once it holds the lease it
starts as any core does, except that it only catches those two up with what
committed since its last read instead of loading them: it starts TranProc, and
only then takes requests from the bus. Without ``standby_warm`` it loads them
only then (minutes on a large ledger).

A core that loses the lease (another took it over, or it could not renew it
before it expired) must do nothing more: it logs why and the process exits at
once with ``exit_lease_lost``, answering nothing it has in hand (JetStream offers
those requests again, to the core that holds the lease). On SQLite nothing stands
by: the file's lock refuses a second writer, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mkoba import __version__, metrics
from mkoba.ledger.store import Store, StoreError
from mkoba.ledger.store.base import LeaseLost

if TYPE_CHECKING:
    from mkoba.ledger.store.lease import Lease, LeaseState
    from mkoba.warmup import Warm

# Starts the core; given what the standby kept warm, if it is ready.
Core = Callable[["Warm | None"], Awaitable[None]]

log = logging.getLogger("mkoba")

# How often a standby tries for the lease.
poll_s = 0.5
# A core that lost its lease exits with this (EX_TEMPFAIL): restarted, it stands by.
exit_lease_lost = 75
# A standby that took the lease but could not start the core exits with this.
exit_start_failed = 1


class Standby:
    """Whether this core holds the ledger's lease, is waiting for it, or has started."""

    def __init__(
        self, store: Store, *, stand_by: bool, exit: Callable[[int], Any] = os._exit
    ) -> None:
        self.store = store
        # PostgreSQL's lease; None on SQLite (its writer holds a file lock instead).
        self.lease: Lease | None = getattr(store, "lease", None)
        # Whether a held lease makes this process wait (a core) or refuse to start.
        self.stand_by = stand_by and self.lease is not None
        self.ready = False  # the core has started
        self.starting = False  # it took the lease and is starting the core
        self.seen: LeaseState | None = None
        self._exit = exit
        self._task: asyncio.Task[None] | None = None
        self.warm: Warm | None = None
        if self.lease is not None:
            self.lease.on_lost = self._lost

    async def start(self, core: Core, warm: Warm | None = None) -> None:
        """Start the core now if this process holds (or takes) the lease; else stand by.

        ``warm``: what to keep loaded while standing by (dropped if the lease is free).
        """
        if self.stand_by and not await self._try():
            self.warm = warm
            self._task = asyncio.create_task(self._wait_then(core), name="standby")
            return
        if warm is not None:
            warm.stop()
        await core(None)
        self.ready = True
        if self.lease is not None:
            metrics.lease_token.set(self.lease.token)

    async def _try(self) -> bool:
        """One attempt at the lease: True once held."""
        assert self.lease is not None
        try:
            state = await asyncio.to_thread(self.lease.try_take)
        except LeaseLost:
            raise
        except StoreError as error:  # the server is away: a standby keeps trying
            log.warning("standby: %s", error)
            return False
        before, self.seen = self.seen, state
        metrics.lease_token.set(state.token)
        if state.held:
            if state.token > 1:
                metrics.lease_takeovers_total.inc()
            return True
        if before is None or (before.holder, before.token) != (state.holder, state.token):
            log.warning(
                "standby: the ledger lease is held by %s (token %d); this core takes over"
                " when that lease expires",
                state.holder,
                state.token,
            )
        return False

    async def _wait_then(self, core: Core) -> None:
        warm = self.warm
        while not await self._try():
            if warm is not None:
                # The first step loads (minutes on a large ledger): the lease waits. A
                # takeover then would have to load all the same, and a ready standby
                # elsewhere may take it meanwhile.
                await asyncio.to_thread(warm.step)
            await asyncio.sleep(poll_s)
        assert self.seen is not None
        ready = warm is not None and warm.ready
        log.warning(
            "took over the ledger lease (token %d); starting as the core (%s)",
            self.seen.token,
            "catching up what it kept warm" if ready else "loading the ledger",
        )
        if warm is not None and not ready:
            warm.stop()
        self.starting = True
        started = time.monotonic()
        try:
            await core(warm if ready else None)
        except Exception:
            log.exception("the core did not start after taking over the ledger lease")
            _flush()
            self._exit(exit_start_failed)
            return
        self.ready = True
        log.warning("serving as the core %.1f s after taking the lease", time.monotonic() - started)

    async def settle(self) -> bool:
        """Before the platform stops: whether the core started (and must be stopped).

        A standby still waiting stops waiting and closes its store: nothing else
        of the core was opened. One starting the core finishes starting first.
        """
        task = self._task
        if task is None or self.ready:
            return self.ready
        if self.starting:
            await asyncio.gather(task, return_exceptions=True)
            return self.ready
        if self.warm is not None:
            self.warm.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(self.store.close)
        return False

    def report(self, role: str) -> dict[str, Any]:
        """What ``/health`` answers while this core stands by (or is taking over)."""
        seen = self.seen
        lease: dict[str, object] = {"state": "starting" if self.starting else "standby"}
        if self.warm is not None and not self.starting:
            lease["warm"] = self.warm.report()
        if seen is not None:
            lease |= {
                "holder": seen.holder,
                "token": seen.token,
                "expires_in_s": round(seen.expires_in_s, 3),
            }
        parts = {"lease": lease}
        return {"status": "standby", "version": __version__, "role": role, "parts": parts}

    def _lost(self, lost: LeaseLost) -> None:
        """On the thread that found it: say why, and end the process before anything more."""
        assert self.lease is not None
        # In the log, not a metric: the process ends before any scrape could read one.
        fenced = self.lease.fenced_commits
        log.critical("%s; %d commit(s) refused by the fence; stopping", lost, fenced)
        _flush()
        self._exit(exit_lease_lost)


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
