"""An SMSC in memory: every message is delivered at once into the recipient's inbox."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from typing import NamedTuple

from mkoba.outbox.gateway import Delivery, Message

# Messages kept per phone number (the oldest are dropped).
inbox_messages_max = 200


class Sms(NamedTuple):
    """A message as a handset shows it."""

    id: int
    sender: str
    body: str
    at: float
    # The outbox row it was sent from (0 for messages that came another way).
    outbox_id: int = 0
    # SIM data (a SIM-toolkit packet's SMS, 8-bit, user data header included): a
    # phone hands it to its SIM and never shows it; ``body`` is then empty.
    data: bytes = b""


class MemorySmsc:
    """The embedded default SMS gateway, and the inbox developers read."""

    def __init__(self, sender: str = "MPESA") -> None:
        self.sender = sender
        # Inbox ids are this SMSC's own, in arrival order (as a real SMSC numbers its
        # messages): outbox ids are not in sending order (channel replies, callbacks).
        self._ids = itertools.count(1)
        self._inboxes: dict[str, deque[Sms]] = {}
        self._arrivals: dict[str, asyncio.Event] = {}

    async def send(self, message: Message) -> Delivery:
        """Put the message in the recipient's inbox."""
        self._deliver(
            message.recipient,
            Sms(next(self._ids), self.sender, message.body, time.time(), message.id),
        )
        return Delivery.DELIVERED

    def send_data(self, sender: str, msisdn: str, user_data: bytes) -> None:
        """Deliver one SIM data SMS (its user data, header included) to ``msisdn``."""
        self._deliver(msisdn, Sms(next(self._ids), sender, "", time.time(), data=user_data))

    def _deliver(self, msisdn: str, sms: Sms) -> None:
        self._inboxes.setdefault(msisdn, deque(maxlen=inbox_messages_max)).append(sms)
        event = self._arrivals.pop(msisdn, None)
        if event is not None:
            event.set()

    def sent_from(self, outbox_id: int) -> Sms | None:
        """The message a given outbox row became, if it has arrived."""
        for inbox in self._inboxes.values():
            for sms in inbox:
                if sms.outbox_id == outbox_id:
                    return sms
        return None

    def inbox(self, msisdn: str, after: int = 0) -> list[Sms]:
        """Messages to ``msisdn`` (newer than message id ``after``), oldest first."""
        return [sms for sms in self._inboxes.get(msisdn, ()) if sms.id > after]

    async def wait(self, msisdn: str, timeout_s: float) -> None:
        """Wait until a message arrives for ``msisdn`` (or the timeout passes)."""
        event = self._arrivals.setdefault(msisdn, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            return
