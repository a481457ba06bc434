"""One holder at a time across the bus: a lease in a NATS key-value bucket.

The smartphone app's validation server keeps its state (device counters, one-time
tokens) in memory, so two of them would let a token be paid twice. The process
that hosts it apart (``mkoba serve --role validator``) holds this lease first:

- ``<PREFIX>_VALIDATOR``: one key, ``holder``, in a bucket whose entries expire
  after ``ttl_s``. ``take`` creates the key (exactly one process wins); the holder
  renews it every ``ttl_s / 4`` by updating it at the revision it last wrote, so
  a renewal fails once anyone else has written it (or it expired meanwhile).
- ``fresh``: the holder's own monotonic clock says its last renewal is younger
  than ``ttl_s`` minus a margin. The entry on the server lives at least ``ttl_s``
  from that renewal, so a holder that was paused (and resumes believing it holds
  the lease) sees first that it is stale, before another could have taken it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from mkoba.bus.jetstream import NatsBus
from mkoba.bus.members import member_name

log = logging.getLogger("mkoba.bus.lease")

# An unrenewed lease is free after this long; its holder renews it four times in it.
lease_ttl_s = 8.0
_KEY = "holder"


class LeaseLostError(RuntimeError):
    """A renewal found the lease written by another (or expired): this holder is done."""


class KvLease:
    """This process's claim on a bus-wide lease (``<PREFIX>_<name>``)."""

    def __init__(
        self,
        bus: NatsBus,
        name: str,
        *,
        ttl_s: float = lease_ttl_s,
        me: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.bucket = f"{bus.stream.removesuffix('_REQUESTS')}_{name}"
        self.me = me or member_name()
        self.ttl_s = ttl_s
        self.renew_s = ttl_s / 4
        # Served only while the last renewal is younger than this (the margin: ttl / 4).
        self.fresh_s = ttl_s - ttl_s / 4
        self._clock = clock
        self._kv: KeyValue | None = None
        self._revision = 0  # the revision this process last wrote; 0: not held
        self._renewed = float("-inf")  # when that write was sent, by the monotonic clock

    async def open(self) -> None:
        """Make the bucket if it is missing."""
        self._kv = await self.bus.jetstream.create_key_value(
            bucket=self.bucket, ttl=self.ttl_s, history=1
        )

    @property
    def held(self) -> bool:
        """Whether this process took the lease (and has not lost or released it)."""
        return self._revision != 0

    def fresh(self) -> bool:
        """Whether this holder may act now: held, and renewed recently by its own clock."""
        return self.held and self._clock() - self._renewed < self.fresh_s

    async def take(self) -> bool:
        """Take the lease if nobody holds it: True for exactly one process."""
        assert self._kv is not None, "open first"
        sent = self._clock()
        try:
            self._revision = await self._kv.create(_KEY, self.me.encode())
        except KeyWrongLastSequenceError:
            return False
        self._renewed = sent
        return True

    async def renew(self) -> None:
        """Write the lease again at the revision this process wrote last.

        ``LeaseLostError`` when another wrote it since (or it expired): never held again.
        A ``NatsError`` (NATS away) leaves it held; it goes stale if that lasts.
        """
        assert self._kv is not None and self.held, "take first"
        sent = self._clock()
        try:
            self._revision = await self._kv.update(_KEY, self.me.encode(), last=self._revision)
        except KeyWrongLastSequenceError:
            self._revision = 0
            raise LeaseLostError(f"the {self.bucket} lease is no longer {self.me}'s") from None
        self._renewed = sent

    async def holder(self) -> str:
        """Who holds the lease now ("" when nobody does)."""
        assert self._kv is not None, "open first"
        try:
            entry = await self._kv.get(_KEY)
        except KeyNotFoundError:
            return ""
        return (entry.value or b"").decode()

    async def release(self) -> None:
        """Give the lease up at once (a clean stop), if this process still holds it."""
        if self._kv is None or not self.held:
            return
        revision, self._revision = self._revision, 0
        with contextlib.suppress(NatsError):
            await self._kv.delete(_KEY, last=revision)
