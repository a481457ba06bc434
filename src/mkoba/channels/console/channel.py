"""The console channel: its tables at start, its staff API on the console's own app."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from mkoba.channels.console import (
    alert_pages,
    alert_routes,
    audit_routes,
    bulk_pages,
    bulk_routes,
    callback_routes,
    close,
    command_routes,
    customers,
    dashboard,
    finance,
    health,
    hold_routes,
    pages,
    people_pages,
    report_pages,
    report_routes,
    routes,
    rule_routes,
    staff_routes,
    ticket_routes,
)
from mkoba.channels.console.actions import Books, Reads
from mkoba.channels.console.auth import Refusal
from mkoba.channels.console.bulk import Bulk
from mkoba.channels.console.desk import Desk
from mkoba.edge.crashes import Crashes
from mkoba.edge.limits import BodyLimit
from mkoba.edge.validation import validation_message
from mkoba.ports import CallbackLog, Ports, Tables
from mkoba.risk import insider, overrides
from mkoba.risk.alerts import Alerts
from mkoba.risk.insider import Insider
from mkoba.staff import accounts, audit, schema
from mkoba.staff.policy import Policy, shipped
from mkoba.staff.sessions import Sessions

log = logging.getLogger(__name__)
T = TypeVar("T")

# Password checks run at most this many at once (routes.py: how many may wait).
checks_at_once = 2
# Profile views R12 reads back at start, at most (an hour of a busy care floor).
views_max = 100_000


class ConsoleChannel:
    """Staff sign-in, sessions and commands, over the staff tables (``mkoba.staff``)."""

    def __init__(
        self,
        ports: Ports,
        tables: Tables,
        keys_dir: Path,
        books: Books,
        policy: Policy | None = None,
        callbacks: CallbackLog | None = None,
        alerts: Alerts | None = None,
        goaml_entity: str = "",
    ) -> None:
        self.ports = ports
        self.tables = tables
        self.reads = Reads(ports, tables, books)
        self.key = accounts.staff_key(keys_dir)
        self.policy = policy or shipped()
        # Callbacks to businesses and their delivery log (the Daraja channel's), if served.
        self.callbacks = callbacks
        # The compliance alert queue (the risk package's, shared with the rules), if kept.
        self.alerts = alerts
        # The reporting entity's goAML id ('' : the reports download as CSV only).
        self.goaml_entity = goaml_entity
        # R12: profiles opened with no ticket, per member of staff (alerts to the queue).
        self.insider = Insider(alerts.raise_alert) if alerts is not None else None
        self.sessions = Sessions()
        self.trail = audit.Trail(tables, tables.submit, audit.audit_key(keys_dir))
        # Each password check takes 64 MiB and tens of ms of a core (argon2id): a few at
        # a time, so a flood of sign-ins cannot take the memory or the threads others use.
        self.checks = asyncio.Semaphore(checks_at_once)
        self.waiting = 0
        self.desk = Desk(self)
        # Enrolments complete one at a time: a token is spent once (``enrol.py``).
        self.enrolling = asyncio.Lock()
        self.bulk = Bulk(self)
        # Success rate and latency, sampled from the metrics once a minute (the dashboard).
        self.health = health.Sampler()
        # One day's close at a time (its order check and its insert).
        self.closing = asyncio.Lock()

    async def read(self, query: Callable[..., T], *args: object) -> T:
        """A staff table's read, off the event loop."""
        return await asyncio.to_thread(query, self.tables, *args)

    def app(self) -> FastAPI:
        """The console's own HTTP app (served on the console listener)."""
        app = FastAPI(
            title="mkoba staff API",
            summary="The operator console: staff sign-in, sessions and staff actions.",
            version="1",
            docs_url="/staff/docs",
            redoc_url=None,
            openapi_url="/staff/openapi.json",
        )
        app.add_middleware(BodyLimit, prefix="/staff/", too_large=_error("The body is too large."))
        app.add_middleware(Crashes, body=_error("Something went wrong on our side."))

        @app.exception_handler(Refusal)
        async def refused(request: Request, exc: Refusal) -> Response:
            if request.url.path.startswith("/staff/v1/"):
                return JSONResponse({"error": exc.message}, status_code=exc.status)
            return pages.refusal_page(request, exc)

        @app.exception_handler(RequestValidationError)
        async def invalid(request: Request, exc: RequestValidationError) -> Response:
            message = validation_message(exc.errors())
            if request.url.path.startswith("/staff/v1/"):
                return JSONResponse({"error": message}, status_code=422)
            return pages.refusal_page(request, Refusal(422, message))

        self.mount(app)
        return app

    def mount(self, app: FastAPI) -> None:
        """Add the staff API's routes."""
        app.include_router(routes.router(self))
        app.include_router(command_routes.router(self))
        app.include_router(audit_routes.router(self))
        app.include_router(customers.router(self))
        app.include_router(ticket_routes.router(self))
        app.include_router(finance.router(self))
        app.include_router(bulk_routes.router(self))
        app.include_router(dashboard.router(self))
        app.include_router(callback_routes.router(self))
        app.include_router(close.router(self))
        app.include_router(staff_routes.router(self))
        app.include_router(hold_routes.router(self))  # before the alerts' /{verb}
        app.include_router(alert_routes.router(self))
        app.include_router(report_routes.router(self))
        app.include_router(rule_routes.router(self))
        app.include_router(pages.router(self))
        app.include_router(bulk_pages.router(self))
        app.include_router(people_pages.router(self))
        app.include_router(alert_pages.router(self))
        app.include_router(report_pages.router(self))
        app.mount("/staff/static", pages.static_files(), name="staff-static")

    async def watch_view(self, staff: str, staff_id: int, party_id: int) -> bool | None:
        """A customer profile opened by ``staff``: rule R12 counts it unless the customer
        has an open care ticket (``risk/insider.py``); whether they had one (None: no
        rule watches)."""
        if self.insider is None:
            return None
        tickets = await self.reads.tickets.of_party(party_id, 5)
        open_ticket = any(ticket.state not in ("resolved", "closed") for ticket in tickets)
        now = self.ports.clock()
        await self.insider.viewed(staff, staff_id, party_id, open_ticket, now, self.ports.profile())
        return open_ticket

    async def _rebuild_insider(self) -> None:
        """R12's counts from the audit trail's profile views of the last hour."""
        if self.insider is None:
            return
        since = self.ports.clock() - insider.HOUR_NS
        entries = await self.read(audit.entries_since, "customer.view", since, views_max)
        views = [
            insider.View(
                entry.at,
                entry.actor,
                int(entry.entity[6:]),
                bool(json.loads(entry.detail).get("open_ticket", False)),
            )
            for entry in entries
            if entry.outcome == "ok" and entry.entity.startswith("party:")
        ]
        counted = self.insider.rebuild(views, self.ports.profile())
        if counted:
            log.info("R12 remembers %d customer profiles opened in the last hour", counted)

    async def start(self) -> None:
        """The staff tables, once."""
        await asyncio.to_thread(schema.migrate, self.tables.migrate_script)
        if self.alerts is not None:  # its owner's tables (once by name, whoever is first)
            await asyncio.to_thread(self.alerts.migrate)
        await self._rebuild_insider()
        await asyncio.to_thread(overrides.migrate, self.tables)  # the rule changes (risk's)
        self.health.start()
        resumed = await self.desk.resume()
        if resumed:
            log.warning("sent %d staff command(s) again whose answer was lost", resumed)
        paying = await self.bulk.resume()
        if paying:
            log.warning("paying on %d bulk batch(es) a stop interrupted", paying)

    async def stop(self) -> None:
        """Every session ends with the server; batches being paid go on at the next start."""
        self.sessions = Sessions()
        await self.bulk.stop()
        await self.health.stop()

    @staticmethod
    def now() -> float:
        """Wall-clock seconds: TOTP steps and session clocks are real time."""
        return time.time()


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()
