"""What a message gateway must do for the outbox sender."""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol, runtime_checkable

from mkoba.ledger import Write


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


@runtime_checkable
class Recorder(Protocol):
    """A gateway that keeps a log of its attempts in a table of its own.

    The sender commits the log's rows with its own record of the same attempts, in
    one batch: the log never says more or less than the outbox does.
    """

    def records(self) -> list[Write]:
        """The log rows of the attempts made since the last call (never raises).

        Not a coroutine: nothing may come between the attempts and the commit that
        records them, or a stop there would leave a sent message queued, to go again.
        """
        ...
