"""The SMS channel, wired: SMPP gateway (when configured), receipts, inbound commands.

Without ``MKOBA_SMPP`` the outbox keeps the in-memory SMSC, and inbound SMS
come through the developer route (``POST /api/v1/sms/inbound``); replies to
SMS-initiated requests are acknowledged when the in-memory SMSC delivers them.
With it, the outbox's "sms" gateway speaks SMPP to the SMSC; receipts move
outbox rows to delivered or undelivered and acknowledge replies; deliver_sm
from phones become inbound commands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from mkoba.channels.sms import encoding, receipts, simdata
from mkoba.channels.sms.esme import Esme, Inbound
from mkoba.channels.sms.gateway import SmppGateway
from mkoba.channels.sms.inbound import Inbox
from mkoba.channels.sms.replies import Replies
from mkoba.channels.sms.schema import SCHEMA
from mkoba.channels.sms.simdata import SimDataHandler
from mkoba.channels.sms.tracker import Tracker, is_reply
from mkoba.outbox import Delivery, MemorySmsc, Message
from mkoba.ports import Ports, Tables
from mkoba.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("mkoba.sms")

# Inbound work (receipts and messages) waiting for a worker; past this the SMSC is
# answered "try later" (it redelivers), so a flood cannot grow memory without end.
queue_items_max = 20_000
workers = 4


class SmppAddress:
    """Where and how to bind: parsed from ``smpp://system_id:password@host:port``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        assert parts.hostname and parts.port and parts.username
        self.host = parts.hostname
        self.port = parts.port
        self.system_id = unquote(parts.username)
        self.password = unquote(parts.password or "")

    def __repr__(self) -> str:
        return f"SmppAddress({self.system_id}@{self.host}:{self.port})"


# Sends SIM data download SMS (user data, UDH included) to a number.
SimSender = Callable[[str, list[bytes]], Awaitable[None]]


class SmsChannel:
    """Everything the SMS channel runs.

    The composition root gives it the ports and its tables (``sms_parts``, and
    reply rows for the outbox); it hands the outbox ``gateway`` (when SMPP is
    configured) and subscribes ``sent`` to the outbox's delivery records. It
    sets ``sim_data`` to the SIM server's handler: SIM data messages (binary,
    ``simdata.py``) go there, never to the text inbox.
    """

    sim_data: SimDataHandler | None = None
    # The in-memory SMSC simulated phones read, without a real one (``sim_sender``).
    memory: MemorySmsc | None = None

    def __init__(self, ports: Ports, settings: Settings, tables: Tables) -> None:
        self.ports = ports
        self.settings = settings
        self.tables = tables
        self.replies = Replies(tables)
        self.inbox = Inbox(
            ports.request,
            ports.party,
            self.replies,
            settings.sms_reversal_number,
            lambda: ports.profile().country,
        )
        self.tracker = Tracker(tables, ports.acknowledge)
        self.esme: Esme | None = None
        self.gateway: SmppGateway | None = None
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue(maxsize=queue_items_max)
        self._workers: list[asyncio.Task[None]] = []
        self._acks: set[asyncio.Task[bool]] = set()
        if settings.smpp:
            address = SmppAddress(settings.smpp)
            self.esme = Esme(
                address.host,
                address.port,
                address.system_id,
                address.password,
                on_inbound=self._queue.put_nowait,
                window=settings.smpp_window,
                tps_max=settings.smpp_tps_max,
            )
            self.gateway = SmppGateway(self.esme, self.tracker, settings.sms_sender)
            self._address = address

    def sim_sender(self, memory: MemorySmsc | None = None) -> SimSender | None:
        """How another part sends SIM data download SMS to a phone unprompted (menus
        over the air, STK prompts to a SIM), from the SMS sender: through the SMSC when
        one is bound, else into ``memory``'s inboxes (simulated phones read them)."""
        esme, sender = self.esme, self.settings.sms_sender
        if esme is None:
            if memory is None:
                return None
            self.memory = memory

            async def put(msisdn: str, parts: list[bytes]) -> None:
                for part in parts:
                    memory.send_data(sender, msisdn, part)

            return put

        async def send(msisdn: str, parts: list[bytes]) -> None:
            for part in parts:
                await esme.submit_binary(sender, msisdn, part)

        return send

    def mount(self, app: FastAPI) -> None:
        """Add ``POST /api/v1/sms/inbound`` for simulated handsets (not with a real SMSC)."""
        from mkoba.channels.sms.routes import mount

        mount(app, self)

    async def start(self) -> None:
        """Create the table, start the tracker and the workers, bind to the SMSC if any."""
        await asyncio.to_thread(self.tables.migrate_script, "sms-0001", SCHEMA)
        self.tracker.start()
        self._workers = [
            asyncio.get_running_loop().create_task(self._work(), name=f"sms-inbound-{n}")
            for n in range(workers)
        ]
        if self.esme is not None:
            self.esme.start()
            log.info("SMS over SMPP to %r", self._address)

    async def stop(self) -> None:
        """Unbind, finish the queued work that can be finished, stop."""
        if self.esme is not None:
            await self.esme.stop()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self.tracker.stop()
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)

    def sent(self, message: Message, outcome: Delivery) -> None:
        """The outbox sender recorded an attempt (subscribed to by the composition root)."""
        if message.channel != "sms":
            return
        if outcome == Delivery.SENT:
            self.tracker.recorded(message.id)
            return
        if not is_reply(message.request_id, message.reference):
            return
        if outcome == Delivery.DELIVERED:
            self._acknowledge(message.request_id, True)
        elif outcome == Delivery.FAILED:
            self._acknowledge(message.request_id, False)

    def _acknowledge(self, request_id: str, delivered: bool) -> None:
        task = asyncio.get_running_loop().create_task(self.ports.acknowledge(request_id, delivered))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _work(self) -> None:
        while True:
            inbound = await self._queue.get()
            try:
                await self._handle(inbound)
            except Exception:
                log.exception("inbound SMS work failed")

    async def _handle(self, inbound: Inbound) -> None:
        if inbound.is_receipt:
            receipt = receipts.read(inbound)
            if receipt is None:
                log.warning("a delivery receipt without a message id")
                return
            await self.tracker.receipt(receipt)
            return
        if simdata.is_sim_data(inbound):
            await simdata.route(inbound, self.sim_data, self.esme)
            return
        text = encoding.decode(inbound.short_message, inbound.data_coding, inbound.esm_class)
        await self.inbox.handle(inbound.source, inbound.destination, text)
