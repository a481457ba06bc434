"""``mkoba serve --role validator``: the app's validation server in a process of its own.

With ``app_validator = "apart"`` neither the core nor a front hosts the smartphone
app's validation server: this process does, on the NATS bus (``<prefix>.validation``,
``channels/app/validation/remote.py``), so an operator can run it apart. Like a
front it reads the store, has the core's writer commit its rows (``RemoteRows``;
the core admits only the validator's tables) and sends its requests (the
enrolment SMS) to TranProc over the bus. It serves ``/health`` and nothing else.

Its state (device counters, one-time tokens) lives in its memory, so exactly one
may serve: it holds the ``<PREFIX>_VALIDATOR`` lease (``bus/lease.py``) first. A
second one stands by (``/health`` says so, and the log), tries for the lease every
``poll_s``, and once it holds it loads the state from the tables and serves. A
holder answers only while its lease is fresh by its own clock, and one whose
renewal finds the lease lost exits at once with ``exit_lease_lost``: restarted,
it stands by.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from nats.errors import Error as NatsError

from mkoba import __version__
from mkoba.bus.jetstream import BusUnavailable, NatsBus
from mkoba.bus.lease import KvLease, LeaseLostError
from mkoba.bus.opening import open_bus
from mkoba.bus.remote import RemoteRows
from mkoba.channels.api import Service
from mkoba.channels.api import build_app as build_shell
from mkoba.channels.app.validation import Validator
from mkoba.channels.app.validation.remote import ValidatorServer
from mkoba.clock import Clock
from mkoba.ledger import Store, open_store
from mkoba.ledger.identity import ledger_id
from mkoba.parties import load_or_create_key
from mkoba.processor.request import Request, Response
from mkoba.settings import Settings
from mkoba.tables import Tables

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("mkoba.validator")

# How often a standby tries for the lease.
poll_s = 0.5
# A validator that lost its lease exits with this (EX_TEMPFAIL): restarted, it stands by.
exit_lease_lost = 75


class ValidatorRole:
    """This process: starting, standing by, serving, or (briefly) lost."""

    def __init__(self, settings: Settings, exit: Callable[[int], Any] = os._exit) -> None:
        self.settings = settings
        self.state = "starting"
        self.started = 0.0
        self._exit = exit
        self._tasks: list[asyncio.Task[None]] = []
        self._holder = ""  # who holds the lease, as a standby last read it

    async def start(self) -> None:
        """Read the store, join the bus, then serve (holding the lease) or stand by."""
        settings = self.settings
        bus = await open_bus(settings)
        assert isinstance(bus, NatsBus), "settings require a NATS bus for a validator"
        self.bus = bus
        self.store: Store = open_store(settings.db)
        ledger = await asyncio.to_thread(ledger_id, self.store)
        if ledger is None:
            raise BusUnavailable("no core has started on this store yet: start a core first")
        await bus.bind(ledger)
        bus.watch_core()  # the rows and the SMS go to the core: /health says if none serves
        rows = RemoteRows(bus, settings.request_timeout_s)
        self.validator = Validator(
            Tables(lambda: self.store, lambda: rows),
            self.request,
            settings.keys_dir,
            Clock(),
            load_or_create_key(settings.keys_dir / "transport.key"),
            code_life_s=settings.app_code_life_s,
        )
        self.lease = KvLease(bus, "VALIDATOR")
        self.server = ValidatorServer(bus, self.validator, self.lease.fresh)
        await self.lease.open()
        self.started = time.time()
        if await self.lease.take():
            await self._serve()
            return
        self.state = "standby"
        self._holder = await _or_empty(self.lease.holder())
        log.warning(
            "validation server: standing by; %s holds the lease (this one takes over when it"
            " expires)",
            self._holder or "another validator",
        )
        self._tasks.append(asyncio.create_task(self._stand_by(), name="validator-standby"))

    async def request(self, request: Request) -> Response:
        """Send a request to TranProc through the bus (the enrolment code's SMS)."""
        return await self.bus.request(request, self.settings.request_timeout_s)

    async def _serve(self) -> None:
        """Holding the lease: keep it, load the state from the tables, then answer."""
        self._tasks.append(asyncio.create_task(self._renew(), name="validator-lease"))
        await self.validator.start()
        await self.server.serve()
        self.state = "serving"
        log.info("validation server: serving on %s.validation", self.bus.prefix)

    async def _stand_by(self) -> None:
        while not await self._try():
            await asyncio.sleep(poll_s)
            holder = await _or_empty(self.lease.holder())
            if holder and holder != self._holder:
                log.warning("validation server: standing by; %s holds the lease now", holder)
                self._holder = holder
        log.warning("validation server: took the lease over; loading the state")
        self.state = "starting"
        try:
            await self._serve()
        except Exception:
            log.exception("validation server: could not start after taking the lease")
            self._exit(1)

    async def _try(self) -> bool:
        """One attempt at the lease (NATS away: not this time)."""
        try:
            return await self.lease.take()
        except NatsError as problem:
            log.warning("validation server: the lease cannot be read: %s", type(problem).__name__)
            return False

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease.renew_s)
            try:
                await self.lease.renew()
            except LeaseLostError as lost:
                # Another holds it now (or it expired): this state is stale; answer nothing.
                self.state = "lost"
                log.error("validation server: %s; this process stops", lost)
                self._exit(exit_lease_lost)
                return
            except NatsError as problem:  # NATS away: stale soon, serving nothing then
                log.warning("validation server: lease renewal failed: %s", type(problem).__name__)

    async def stop(self) -> None:
        """Stop answering, let the calls, rows and codes in hand land, give the lease up.

        The lease is renewed meanwhile: no successor serves before this one is done.
        """
        if self.state == "serving":
            await self.server.stop()
            await self.validator.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(AttributeError):  # started only partly
            await self.lease.release()
        with contextlib.suppress(AttributeError):
            await self.bus.close()
            await asyncio.to_thread(self.store.close)

    def health_report(self) -> tuple[dict[str, Any], bool]:
        """``/health``: ready only while serving under a fresh lease and with a core."""
        bus = self.bus.health() if hasattr(self, "bus") else {"state": "starting"}
        serving = self.state == "serving" and self.lease.fresh()
        if self.state == "standby":
            lease = {"state": "standby", "holder": self._holder}
        else:
            lease = {"state": "ok" if serving else self.state}
        parts = {"bus": bus, "validator": lease}
        ok = serving and bus.get("state") == "ok"
        status = self.state if self.state in ("standby", "starting", "lost") else "degraded"
        return {
            "status": "ok" if ok else status,
            "version": __version__,
            "role": "validator",
            "uptime_s": round(time.time() - self.started, 3) if self.started else 0.0,
            "parts": parts,
        }, ok


async def _or_empty(reading: Any) -> str:
    """Who holds the lease, or "" when NATS cannot say now (a standby only logs it)."""
    try:
        holder: str = await reading
    except NatsError:
        return ""
    return holder


def validator_app(settings: Settings) -> FastAPI:
    """The validator's HTTP app: ``/health`` (live, ready) and ``/metrics``, nothing else."""
    role = ValidatorRole(settings)

    @asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        await role.start()
        try:
            yield
        finally:
            await role.stop()

    return build_shell(run, Service(role.health_report, lambda: None))
