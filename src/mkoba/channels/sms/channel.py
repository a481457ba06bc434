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
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from mkoba.channels.sms import encoding, receipts
from mkoba.channels.sms.esme import Esme, Inbound
from mkoba.channels.sms.gateway import SmppGateway
from mkoba.channels.sms.inbound import Inbox
from mkoba.channels.sms.replies import Replies
from mkoba.channels.sms.schema import SCHEMA
from mkoba.channels.sms.tracker import Tracker, is_reply
from mkoba.outbox import Delivery, Message

if TYPE_CHECKING:
    from mkoba.app import Platform

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


class SmsChannel:
    """Everything the SMS channel runs."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings
        services = platform.services
        self.replies = Replies(services.writer, platform.outbox.poke)
        self.inbox = Inbox(
            platform.request,
            services.directory.by_msisdn,
            self.replies,
            settings.sms_reversal_number,
            lambda: services.profile(platform.clock()).country,
        )
        self.tracker = Tracker(services.store, services.writer, platform.acknowledge)
        self.esme: Esme | None = None
        self.gateway: SmppGateway | None = None
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue(maxsize=queue_items_max)
        self._workers: list[asyncio.Task[None]] = []
        self._acks: set[asyncio.Task[bool]] = set()

    async def start(self) -> None:
        """Create the table, hook the outbox, bind to the SMSC if one is configured."""
        store = self.platform.services.store
        await asyncio.to_thread(store.migrate_script, "sms-0001", SCHEMA)
        outbox = self.platform.outbox
        previous = outbox.on_sent

        def on_sent(message: Message, outcome: Delivery) -> None:
            if previous is not None:
                previous(message, outcome)
            self._sent(message, outcome)

        outbox.on_sent = on_sent
        self.tracker.start()
        self._workers = [
            asyncio.get_running_loop().create_task(self._work(), name=f"sms-inbound-{n}")
            for n in range(workers)
        ]
        settings = self.platform.settings
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
            outbox.gateways["sms"] = self.gateway
            self.esme.start()
            log.info("SMS over SMPP to %r", address)

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

    def _sent(self, message: Message, outcome: Delivery) -> None:
        """The outbox sender recorded an attempt (a hook on ``OutboxSender.on_sent``)."""
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
        task = asyncio.get_running_loop().create_task(
            self.platform.acknowledge(request_id, delivered)
        )
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
        text = encoding.decode(inbound.short_message, inbound.data_coding, inbound.esm_class)
        await self.inbox.handle(inbound.source, inbound.destination, text)
