"""What a message gateway must do for the outbox sender."""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol


class Message(NamedTuple):
    """One outbox row to deliver."""

    id: int
    request_id: str
    channel: str
    recipient: str
    body: str
    attempts: int
    reference: str


class Delivery(enum.StrEnum):
    """What a gateway did with a message."""

    # Handed over; a delivery receipt will confirm later (SMPP).
    SENT = "sent"
    # Known to have reached the recipient.
    DELIVERED = "delivered"
    # Not now; try again after a backoff.
    RETRY = "retry"
    # Never: give up on it.
    FAILED = "failed"


class Gateway(Protocol):
    """Sends messages of one channel (sms, callback...)."""

    async def send(self, message: Message) -> Delivery:
        """Try to deliver ``message``."""
        ...
