"""The composition root: the one place that knows every part and wires them together.

``Platform`` starts the ledger writer on its store, loads the catalog and the
directory, starts TranProc behind the bus, the outbox sender, and (on an empty
store) the operator's chart of accounts and the demo data. ``create_app``
serves it all on one port.

On a NATS bus the work can be split in processes (``settings.role``): the
``core`` runs all of the above; a ``front`` runs only the Daraja and native
APIs, sends its requests over the bus, reads the store, and has the core's
ledger writer commit its channel rows (``bus/rows.py``); a ``validator`` only
the app's validation server (``validator_role.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mkoba import health, metrics
from mkoba.bus import Bus
from mkoba.bus.jetstream import BusUnavailable, NatsBus
from mkoba.bus.members import Members
from mkoba.bus.opening import open_bus
from mkoba.bus.remote import RemoteRows, RowsServer
from mkoba.bus.rows import Admission, LocalRows, Rows
from mkoba.catalog import Catalog, load_catalog
from mkoba.channels.api import ApiChannel, Service
from mkoba.channels.api import build_app as build_shell
from mkoba.channels.app import AppChannel
from mkoba.channels.console import ConsoleChannel
from mkoba.channels.console.actions import Books

# Re-exported: the command line serves the console through it, and ``mkoba bench sms``
# reaches the SMS channel only through here.
from mkoba.channels.console.listener import Listeners
from mkoba.channels.daraja import DarajaChannel
from mkoba.channels.sim.channel import SimChannel
from mkoba.channels.sms import SmsChannel
from mkoba.channels.sms.bench_access import smpp_client, smpp_message_id, smpp_single_part
from mkoba.channels.ussd import UssdChannel
from mkoba.clock import Clock
from mkoba.ledger import LedgerWriter, Store, books, open_store
from mkoba.ledger.identity import ensure_ledger_id, ledger_id
from mkoba.ledger.loop_writer import LoopWriter
from mkoba.outbox import Gateway, MemorySmsc, OutboxSender
from mkoba.outbox.schema import SCHEMA as OUTBOX_SCHEMA
from mkoba.parties import OPERATOR_ID, Directory, PinVault, SecretKey, load_or_create_key
from mkoba.parties.chart import operator_accounts, operator_change
from mkoba.ports import Channel, Fronts, Ports, SoleFront, Unavailable
from mkoba.processor import history, ids
from mkoba.processor import schema as processor_schema
from mkoba.processor.processor import Processor
from mkoba.processor.request import Request, Response
from mkoba.processor.schema import SCHEMA as PROCESSOR_SCHEMA
from mkoba.processor.services import Services
from mkoba.products import all_products, reversal_book, ticket_book
from mkoba.products.background import Background
from mkoba.products.kit import Kit
from mkoba.risk import alert_schema
from mkoba.risk.alerts import Alerts
from mkoba.risk_wiring import start_risk
from mkoba.settings import Settings
from mkoba.standby import Standby
from mkoba.statements.delivery import mail_gateways
from mkoba.tables import Tables
from mkoba.validator_role import validator_app
from mkoba.warmup import Warm

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("mkoba")

__all__ = [
    "Clock",
    "Listeners",
    "Platform",
    "build_app",
    "create_app",
    "create_apps",
    "lifespan",
    "smpp_client",
    "smpp_message_id",
    "smpp_single_part",
]

# How often a front reads the directory again (parties the core registered since).
directory_refresh_s = 5.0


@dataclass
class Platform:
    """Everything a running mkoba is made of."""

    settings: Settings
    clock: Clock = field(default_factory=Clock)
    catalog: Catalog = field(init=False)
    writer: LedgerWriter = field(init=False)
    services: Services = field(init=False)
    processor: Processor = field(init=False)
    bus: Bus = field(init=False)
    smsc: MemorySmsc = field(init=False)
    outbox: OutboxSender = field(init=False)
    transport_key: SecretKey = field(init=False)
    # Where channels commit their own rows: this process's writer, or the core's.
    rows: Rows = field(init=False)
    # The channel rows a front may have committed here, by table (the root fills it).
    admission: Admission = field(default_factory=dict)
    started: float = 0.0
    # Every channel, in the order they start (and stop in reverse); the native API first.
    channels: list[Channel] = field(init=False)
    sms: SmsChannel | None = field(init=False, default=None)
    sim: SimChannel | None = field(init=False, default=None)
    console: ConsoleChannel | None = field(init=False, default=None)
    # The compliance alert queue (the core's: the rules raise, the console works them).
    alerts: Alerts | None = field(init=False, default=None)
    daraja: DarajaChannel = field(init=False)
    kit: Kit = field(init=False)
    background: Background = field(init=False)
    # Who else serves the channels' state (the other fronts), or this process alone.
    fronts: Fronts = field(default_factory=SoleFront)
    standby: Standby = field(init=False)  # a core's hold on the ledger's lease
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = self.settings
        self.transport_key = load_or_create_key(settings.keys_dir / "transport.key")
        ports = Ports(
            request=self.request,
            acknowledge=self.acknowledge,
            # Late bound: the directory exists once started, and a front replaces it.
            party=lambda msisdn: self._live().directory.by_msisdn(msisdn),  # noqa: PLW0108
            profile=lambda: self._live().profile(self.clock()),
            profile_at=lambda at: self._live().profile(at),
            directory=lambda: self._live().directory,
            clock=self.clock,
            transport_key=self.transport_key,
            # Late bound: a front joins the other fronts at start.
            fronts=lambda: self.fronts,
        )
        self.ports = ports
        front = self.front
        # In memory, made at once: the native API serves its inbox to simulated handsets.
        self.smsc = MemorySmsc()
        tables = Tables(lambda: self._live().store, lambda: self.rows)
        # One per process that holds the writer: its ids and changes go under its lock.
        self.alerts = None if front else Alerts(tables, self.clock)
        self.channels = [ApiChannel(ports, settings, self.smsc, operator=not front)]
        if not front:
            ussd = UssdChannel(ports, settings, lambda: tuple(self.processor.products))
            self.channels.append(ussd)
            self.sms = SmsChannel(ports, settings, tables)
            # The SIM toolkit's secured packets reach it as binary SMS through the SMSC.
            self.sim = SimChannel(ports, settings, tables)
            self.sms.sim_data = self.sim.sim_data
            # Its menus over the air are the USSD menus, pushed as SIM data SMS.
            self.sim.menu_document, self.sim.send = (
                ussd.menu_document,
                self.sms.sim_sender(self.smsc),
            )
            self.channels += [self.sms, self.sim]
        # The smartphone app (where its validation server runs: ``AppChannel``'s docstring).
        self.app_channel = AppChannel(ports, settings, tables)
        self.channels.append(self.app_channel)
        self.daraja = DarajaChannel(ports, settings, tables)
        self.channels.append(self.daraja)
        if self.sim is not None:  # STK prompts to a line with a SIM card: a secured push
            self.daraja.daraja.reach = self.sim.prompts.reach
            self.sim.server.answer_prompt = self.daraja.answer_from_handset
        # The staff API, on a listener of its own (``console_app``), in the process that
        # holds the writer: never on a front.
        self.console = (
            None
            if front
            else ConsoleChannel(
                ports,
                tables,
                settings.keys_dir,
                Books(
                    reversal_book.Queue(lambda: self._live().store),
                    ticket_book.Desk(lambda: self._live().store),
                    # Late bound: the vault exists once started.
                    lambda number: self._live().vault.id_digest(number),  # noqa: PLW0108
                    lambda: books.now(self.writer),
                    lambda request_id, approve: self.processor.release(request_id, approve),  # noqa: PLW0108
                ),
                callbacks=self.daraja.callback_log,
                alerts=self.alerts,
                goaml_entity=settings.goaml_entity,
            )
        )
        self.kit = Kit()
        self.background = Background(settings.keys_dir, self.kit)

    def _live(self) -> Services:
        """What the channels use once this process serves; ``Unavailable`` before.

        A standby core (or one still starting) has no ledger or directory to serve from:
        a request that reaches it anyway is answered busy by its channel, not failed.
        """
        services: Services | None = getattr(self, "services", None)
        if services is None:
            raise Unavailable("this core is not serving yet (standing by or starting)")
        return services

    @property
    def front(self) -> bool:
        """Whether this process is a front (no writer, TranProc or outbox of its own)."""
        return self.settings.role == "front"

    async def start(self) -> None:
        """Open the store, load everything, start TranProc, the bus and the outbox."""
        settings = self.settings
        self.catalog = load_catalog(settings.profile)
        # First, so that an unreachable bus fails the start before anything is open.
        self.bus = await open_bus(settings)
        if self.front:
            await self._start_front()
            return
        store = open_store(
            settings.db, commit_process=settings.commit_process, lease_s=settings.lease_s
        )
        # A second core on a PostgreSQL ledger stands by for the lease, warm (standby.py).
        self.standby = Standby(store, stand_by=settings.role == "core")
        tail = getattr(store, "tail", None)
        warm = Warm(tail(), tail()) if settings.standby_warm and tail is not None else None
        await self.standby.start(lambda warm: self._start_core(store, warm), warm)

    async def _start_core(self, store: Store, warm: Warm | None = None) -> None:
        """Load the ledger (this process holds its lease), start TranProc, then the bus.

        ``warm``: the ledger and directory a standby kept loaded, caught up instead.
        """
        settings = self.settings
        loop = asyncio.get_running_loop()
        ledger = None if warm is None else warm.ledger
        self.writer = LoopWriter(store, loop, clock=self.clock, warm=ledger)
        if warm is None:
            await asyncio.to_thread(self._open_store)  # the directory's tables: migrated
            directory = await asyncio.to_thread(Directory.load, store)
        else:  # a standby holds the lease already: its directory catches up beside the ledger
            reading = asyncio.ensure_future(asyncio.to_thread(warm.take_directory, store))
            try:
                await asyncio.to_thread(self._open_store)
                directory = await reading
            finally:
                await asyncio.gather(reading, return_exceptions=True)
                warm.stop()
        if isinstance(self.bus, NatsBus):
            await self.bus.bind(await asyncio.to_thread(ensure_ledger_id, store))
            self.bus.readiness = lambda: self.health_report()[1]
            if settings.role == "core":  # the fronts' app channels call its validator
                lease = getattr(store, "lease", None)  # PostgreSQL's: answer while it is ours
                self.app_channel.join(self.bus, lease.fresh if lease else lambda: True)
        pin_key = load_or_create_key(settings.keys_dir / "pin.key")
        last = await asyncio.to_thread(history.last_number, store)
        self.services = Services(
            writer=self.writer,
            store=store,
            catalog=self.catalog,
            directory=directory,
            vault=PinVault(pin_key),
            transport_key=self.transport_key,
            counter=ids.Counter(last),
            clock=self.clock,
        )
        if self.daraja.validation is not None and self.daraja.payments is not None:
            self.services.validation = self.daraja.validation
            self.services.subscribers = (self.daraja.payments,)
            self.services.renderers = self.daraja.renderers
        await self._load_usage()
        if settings.risk_rules:  # the profile's fraud and AML rules (mkoba.risk)
            sim, app = self.sim, self.app_channel
            self.services.risk = await start_risk(settings, self.services, self.alerts, sim, app)
        self.processor = Processor(self.services, all_products(self.kit))
        self.processor.observer = _observe
        await self.processor.start()
        gateways: dict[str, Gateway] = {"sms": self.smsc, **mail_gateways(settings, self.services)}
        if self.daraja.gateway is not None:
            gateways["callback"] = self.daraja.gateway
        self.outbox = OutboxSender(store, self.writer, gateways, self.clock, key=self.transport_key)
        self.rows = LocalRows(self.writer, self.outbox.poke)
        self.outbox.start()
        await self.bus.serve(self._handle, self._acknowledge)
        await self._ensure_operator()
        if settings.demo and len(directory.parties) <= 1:
            from mkoba.demo.seed import seed

            await seed(self)
        await self.background.start(self.services)
        await self._start_channels()
        if settings.demo:
            await self.ensure_sandbox()
        if settings.role == "core":
            assert isinstance(self.bus, NatsBus) and isinstance(self.rows, LocalRows)
            self.admission.update(self.daraja.front_rows())
            self.admission.update(self.app_channel.front_rows())  # app_validator "apart"
            await RowsServer(self.bus, self.rows, self.admission, store).serve()
        self.started = time.time()

    async def _handle(self, request: Request) -> Response:
        response = await self.processor.handle(request)
        # A request committed at once (no delivery deadline) may have queued messages.
        self.outbox.poke()
        return response

    async def _acknowledge(self, request_id: str, delivered: bool) -> bool:
        changed = await self.processor.acknowledge(request_id, delivered)
        self.outbox.poke()
        return changed

    async def _start_front(self) -> None:
        """Read the store, send requests and rows to the core, serve the front's channels."""
        settings = self.settings
        assert isinstance(self.bus, NatsBus), "settings require a NATS bus for a front"
        store = open_store(settings.db)
        ledger = await asyncio.to_thread(ledger_id, store)
        if ledger is None:
            raise BusUnavailable("no core has started on this store yet: start a core first")
        await self.bus.bind(ledger)
        self.bus.watch_core()
        members = Members(self.bus)
        await members.start()
        self.fronts = members
        # Never started: a front commits nothing itself (its rows go to the core).
        self.writer = LedgerWriter(store, clock=self.clock)
        self.rows = RemoteRows(self.bus, settings.request_timeout_s)
        directory = await asyncio.to_thread(Directory.load, store)
        self.services = Services(
            writer=self.writer,
            store=store,
            catalog=self.catalog,
            directory=directory,
            vault=PinVault(load_or_create_key(settings.keys_dir / "pin.key")),
            transport_key=self.transport_key,
            counter=ids.Counter(0),
            clock=self.clock,
        )
        self._tasks.append(asyncio.create_task(self._refresh_directory(), name="directory"))
        self.app_channel.join(self.bus)
        await self._start_channels()
        self.started = time.time()

    async def _ensure_operator(self) -> None:
        """Create the operator and its chart of accounts on a store that has none."""
        services = self.services
        if services.directory.get(OPERATOR_ID) is not None:
            return
        profile = services.profile(self.clock())
        accounts = operator_accounts(profile.ledger, profile.currency.code)
        results = await asyncio.wrap_future(services.writer.create_accounts(accounts))
        assert all(result.ok for result in results), results
        change = operator_change(profile.name, accounts, self.clock())
        await services.writer.submit_async([], attach=change.writes())
        services.directory.apply(change)

    async def ensure_sandbox(self) -> None:
        """The Daraja sandbox: its businesses and test customer, funded, and its app."""
        from mkoba.demo.sandbox import ensure_world

        await ensure_world(self.services, self.settings.daraja_sandbox_pin, self.clock())
        await self.daraja.ensure_sandbox()

    async def _start_channels(self) -> None:
        if self.console is not None:
            await self.console.start()
        for channel in self.channels:
            await channel.start()
            if channel is self.sms:
                # From now on (the demo's history went to the in-memory SMSC): SMS go out
                # over SMPP when configured, and the channel hears of every attempt.
                self.outbox.subscribe(channel.sent)
                if channel.gateway is not None:
                    self.outbox.gateways["sms"] = channel.gateway

    async def _refresh_directory(self) -> None:
        while True:
            await asyncio.sleep(directory_refresh_s)
            try:
                store = self.services.store
                self.services.directory = await asyncio.to_thread(Directory.load, store)
            except Exception:  # a failed read must not stop the front; try again later
                log.exception("reading the directory failed")

    def _open_store(self) -> None:
        self.writer.start()
        store = self.writer.store
        Directory.migrate(store)
        store.migrate_script("processor-0001", PROCESSOR_SCHEMA)
        store.migrate_script(processor_schema.INDEXES_MIGRATION, processor_schema.INDEXES)
        store.migrate_script("outbox-0001", OUTBOX_SCHEMA)
        store.migrate_script(alert_schema.MIGRATION, alert_schema.SCHEMA)

    async def _load_usage(self) -> None:
        profile = self.services.profile(self.clock())
        since = (dt.datetime.now(profile.timezone).date() - dt.timedelta(days=2)).isoformat()
        used = await asyncio.to_thread(history.usage_since, self.services.store, since)
        self.services.usage.update(used)

    async def stop(self) -> None:
        """Stop taking requests, finish what is in flight, checkpoint and close the store.

        The outbox sender stops first: what is still queued goes out at the next
        start instead of being handed to a gateway its channel is closing.
        """
        if not self.front and not await self.standby.settle():
            await self.bus.close()  # a standby: nothing else was started
            return
        if not self.front:
            await self.outbox.stop()
        for channel in reversed(self.channels):
            await channel.stop()
        if self.console is not None:
            await self.console.stop()
        if not self.front:
            await self.background.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.front:
            if isinstance(self.fronts, Members):
                await self.fronts.stop()
            await self.bus.close()
            await asyncio.to_thread(self.services.store.close)
            return
        await self.outbox.stop()
        await self.bus.close()
        await self.processor.stop()
        await asyncio.to_thread(self.writer.stop)

    def health_report(self) -> tuple[dict[str, Any], bool]:
        """What ``/health`` answers, and whether every part works (``mkoba.health``)."""
        return health.report(self)

    def refresh_metrics(self) -> None:
        """Bring the gauges up to date before ``/metrics`` is read."""
        health.refresh_metrics(self)

    async def request(self, request: Request) -> Response:
        """Send a request through the bus, as a channel does."""
        return await self.bus.request(request, self.settings.request_timeout_s)

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """Report a response's delivery, as a channel does."""
        return await self.bus.acknowledge(request_id, delivered)


def _observe(request: Request, response: Response, seconds: float) -> None:
    metrics.requests_total.labels(str(request.channel), request.product, str(response.code)).inc()
    metrics.request_seconds.labels(request.product).observe(seconds)


def lifespan(platform: Platform) -> Callable[[Any], Any]:
    """The ASGI lifespan that starts and stops the platform with the server."""

    @asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    return run


def build_app(platform: Platform, lifespan: Callable[[Any], Any]) -> FastAPI:
    """The HTTP app serving ``platform``: the shell, then every channel's routes."""
    app = build_shell(lifespan, Service(platform.health_report, platform.refresh_metrics))
    for channel in platform.channels:
        channel.mount(app)
    return app


def create_app(settings: Settings, platform: Platform | None = None) -> Any:
    """The whole platform as one ASGI app: native API, health, metrics and every channel."""
    platform = platform or Platform(settings)
    return build_app(platform, lifespan(platform))


def create_apps(settings: Settings) -> tuple[Any, FastAPI | None]:
    """The public app (which starts the platform) and the staff console's app (or None)."""
    if settings.role == "validator":  # the app's validation server alone
        return validator_app(settings), None
    platform = Platform(settings)
    console = platform.console.app() if platform.console is not None else None
    return build_app(platform, lifespan(platform)), console
