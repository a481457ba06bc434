"""Live notices across the processes of a split platform (fronts and a core on NATS).

A phone's notices stream is open on one process, and the payment it should hear of
may be told on another (the core, or the front the payee's request reached). Each
process keeps its own streams in a ``Notices`` and hears every notice of its bus
prefix on ``<prefix>.app.notices.<msisdn>``, plain NATS (no JetStream): a notice is
a hint, and the app refreshes its balance and statement when it reconnects, so a
notice lost while NATS is away costs nothing that matters.

- ``publish`` only sends: a process's own streams hear it through the subscription,
  as every other process's do, so each stream gets it once wherever it was told.
- ``end`` ends this process's streams at once (a binding that ended must end them
  even while NATS is away) and tells the others; its own echo is ignored.
- A message for a phone with no stream here is dropped after one look-up; one that
  is not of the form we send is logged (never its content) and dropped.

``publish`` and ``end`` never wait for NATS nor raise on its account: the send runs
as one of the bus's tasks, and while NATS is away notices are dropped (logged at
warning once per outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from mkoba.channels.app.notices import Notice, Notices

if TYPE_CHECKING:
    from mkoba.bus.jetstream import NatsBus

log = logging.getLogger("mkoba.channels.app.notices")

# A phone number as a subject token: digits only (E.164 numbers have at most 15).
_MSISDN = re.compile(r"[0-9]{1,15}")
# The largest message carried. A notice is a few hundred bytes; a bigger one is a bug.
notice_bytes_max = 16_384
# How long ``start`` waits for the server to have its subscription.
subscribe_timeout_s = 5
# A stream is ended here with this reason when its process stops.
STOPPING = "the platform is stopping"


class BusNotices:
    """This process's notices streams, told of every notice of the bus prefix (``Board``)."""

    def __init__(self, bus: NatsBus) -> None:
        self.local = Notices()
        self._bus = bus
        self._subjects = f"{bus.prefix}.app.notices"
        # Which process sent an ``end`` (its own echo is not ended twice).
        self._me = secrets.token_hex(8)
        self._client: Client | None = None
        self._subscription: Subscription | None = None
        # Notices not sent in the current outage of NATS (logged when it ends).
        self._dropped = 0

    async def start(self) -> None:
        """Hear every notice of the prefix from now on (the bus is connected)."""
        assert self._subscription is None, "started already"
        self._client = self._bus.client
        self._subscription = await self._client.subscribe(
            f"{self._subjects}.*", cb=self._on_message
        )
        # The server has the subscription once it answers a ping: from here on, a notice
        # another process tells reaches this one (a notice told before would be lost).
        await self._client.flush(timeout=subscribe_timeout_s)

    async def stop(self, reason: str = STOPPING) -> None:
        """Hear no more notices; end this process's streams (the apps reconnect elsewhere).

        Only here: a process that stops must not end the streams other processes hold.
        """
        if self._subscription is not None:
            with contextlib.suppress(NatsError):
                await self._subscription.unsubscribe()
            self._subscription = None
        for msisdn in self.local.phones():
            self.local.end(msisdn, reason)
        assert self.local.listening() == 0

    # -- Board ----------------------------------------------------------------------------

    def listen(self, msisdn: str) -> AbstractContextManager[asyncio.Queue[Notice]]:
        """A queue of notices for ``msisdn`` while the block runs (a stream on this process)."""
        return self.local.listen(msisdn)

    def publish(self, msisdn: str, event: str, data: dict[str, Any]) -> None:
        """Tell every stream of ``msisdn``, on whichever process it is open."""
        assert event, "a notice names its event"
        self._send(msisdn, {"event": event, "data": data})

    def end(self, msisdn: str, reason: str) -> None:
        """End every stream of ``msisdn``: this process's now, the others' through NATS."""
        subject = self._subject(msisdn)  # refused before anything ends
        self.local.end(msisdn, reason)
        self._send(msisdn, {"end": reason, "from": self._me}, subject)

    def phones(self) -> list[str]:
        """The numbers with a stream open on this process."""
        return self.local.phones()

    def listening(self) -> int:
        """Streams open on this process (a gauge for health)."""
        return self.local.listening()

    # -- sending --------------------------------------------------------------------------

    def _subject(self, msisdn: str) -> str:
        if not _MSISDN.fullmatch(msisdn):
            raise ValueError("a phone number for notices is digits only")
        return f"{self._subjects}.{msisdn}"

    def _send(self, msisdn: str, body: dict[str, Any], subject: str = "") -> None:
        subject = subject or self._subject(msisdn)
        payload = json.dumps(body, separators=(",", ":")).encode()
        if len(payload) > notice_bytes_max:
            log.error("an app notice of %d bytes was not sent (too long)", len(payload))
            return
        client = self._client
        if client is None or not client.is_connected:
            self._drop("not connected" if client is not None else "not started")
            return
        self._bus.spawn(self._sending(client, subject, payload))

    async def _sending(self, client: Client, subject: str, payload: bytes) -> None:
        try:
            await client.publish(subject, payload)
        except NatsError as problem:
            self._drop(type(problem).__name__)
            return
        if self._dropped:
            log.warning("app notices are sent again; %d were dropped meanwhile", self._dropped)
            self._dropped = 0

    def _drop(self, why: str) -> None:
        if not self._dropped:
            log.warning("app notices are dropped until NATS is back (%s)", why)
        self._dropped += 1

    # -- hearing --------------------------------------------------------------------------

    async def _on_message(self, message: Msg) -> None:
        msisdn = message.subject.rpartition(".")[2]
        if not self.local.listens(msisdn):
            return  # no stream here: most notices are for phones on other processes
        try:
            event, data, reason, sender = _read(message.data)
        except ValueError:
            log.error("dropped a malformed app notice (%d bytes)", len(message.data))
            return
        if event:
            self.local.publish(msisdn, event, data)
        elif sender != self._me:  # this process ended its own streams when it said so
            self.local.end(msisdn, reason)


def _read(payload: bytes) -> tuple[str, dict[str, Any], str, str]:
    """``(event, data, "", "")`` of a notice, ``("", {}, reason, sender)`` of an end.

    ``ValueError`` when ``payload`` is neither, as ``BusNotices`` sends them.
    """
    if len(payload) > notice_bytes_max:
        raise ValueError("too long")
    body = json.loads(payload)  # a JSONDecodeError or UnicodeDecodeError is a ValueError
    if not isinstance(body, dict):
        raise ValueError("not an object")
    if "end" in body:
        reason, sender = body["end"], body.get("from")
        if not isinstance(reason, str) or not isinstance(sender, str):
            raise ValueError("not an end")
        return "", {}, reason, sender
    event, data = body.get("event"), body.get("data")
    if not isinstance(event, str) or not event or not isinstance(data, dict):
        raise ValueError("not a notice")
    return event, data, "", ""
