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
        inbox = self._inboxes.setdefault(message.recipient, deque(maxlen=inbox_messages_max))
        inbox.append(Sms(next(self._ids), self.sender, message.body, time.time(), message.id))
        event = self._arrivals.pop(message.recipient, None)
        if event is not None:
            event.set()
        return Delivery.DELIVERED

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
