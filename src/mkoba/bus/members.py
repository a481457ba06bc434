"""The fronts of one bus prefix: who is alive, who owns what, and asking an owner.

Each front is a member under a name of its own (host, process and a random part:
a restarted front is a new member). Two NATS key-value buckets hold the state:

- ``<PREFIX>_FRONTS``: one entry per live front, put again every ``beat_s``;
  entries expire after ``member_ttl_s``, so a front that died or hangs is gone
  from it within seconds and its prompts and conversations are taken over.
- ``<PREFIX>_CLAIMS``: claims made with an atomic create (a customer's STK lock,
  "I take over this prompt"): exactly one front wins each. They expire after
  ``claim_ttl_s`` at the latest, whoever made them. A released claim leaves a
  delete marker, which a plain create must first read (three round trips to
  NATS): a front remembers the markers it left and claims such a key again with
  one conditional write (it succeeds only while that marker is the key's last
  revision, so exactly as a create would).

A front asks another directly on ``<prefix>.front.<name>.<what>`` (an STK answer
that reached the front that does not own the prompt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from mkoba.bus.jetstream import NatsBus
from mkoba.ports import Unavailable

log = logging.getLogger("mkoba.bus.members")

# A front that stops beating is gone after this long; it beats four times in it.
member_ttl_s = 8.0
beat_s = member_ttl_s / 4
# The longest any claim lasts (an STK prompt lives at most 600 s).
claim_ttl_s = 900.0
# How long a front waits for another to answer what it forwarded.
ask_timeout_s = 10.0
# Delete markers a front remembers leaving (a customer's next STK lock is one write).
released_kept_max = 65_536

Answerer = Callable[[bytes], Awaitable[bytes]]


def member_name() -> str:
    """A name no other front (nor this one restarted) has: host, process, random."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"{host[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class Members:
    """This front among the fronts of a prefix (the cluster form's ``ports.Fronts``)."""

    def __init__(self, bus: NatsBus, name: str | None = None) -> None:
        self.bus = bus
        self.me = name or member_name()
        bucket = bus.stream.removesuffix("_REQUESTS")
        self._names = (f"{bucket}_FRONTS", f"{bucket}_CLAIMS")
        self._fronts: KeyValue | None = None
        self._claims: KeyValue | None = None
        self._beating: asyncio.Task[None] | None = None
        # The revision of the delete marker this front's release left, by claim key.
        self._released: OrderedDict[str, int] = OrderedDict()

    async def start(self) -> None:
        """Join: make the buckets if missing, say this front is alive, keep saying it."""
        js = self.bus.jetstream
        fronts, claims = self._names
        self._fronts = await js.create_key_value(bucket=fronts, ttl=member_ttl_s, history=1)
        self._claims = await js.create_key_value(bucket=claims, ttl=claim_ttl_s, history=1)
        await self._fronts.put(self.me, b"1")
        self._beating = asyncio.get_running_loop().create_task(self._beat(), name="front-beat")
        log.info("front %s joined bus prefix %s", self.me, self.bus.prefix)

    async def _beat(self) -> None:
        assert self._fronts is not None
        while True:
            await asyncio.sleep(beat_s)
            try:
                await self._fronts.put(self.me, b"1")
            except NatsError as problem:
                log.warning("front heartbeat failed: %s", type(problem).__name__)

    async def alive(self, name: str) -> bool:
        """Whether the front ``name`` beats (this one always does; "" never: no front's)."""
        if name == self.me:
            return True
        if not name or self._fronts is None:
            return False
        try:
            await self._fronts.get(name)
        except KeyNotFoundError:
            return False
        except NatsError:
            return True  # cannot tell: never take over from a front that may live
        return True

    async def claim(self, key: str) -> bool:
        """Claim ``key`` for this front: True for exactly one claimant until it is released."""
        assert self._claims is not None
        released = self._released.pop(key, None)
        try:
            if released is not None:
                # Free exactly while the marker this front left is still the key's last word.
                with contextlib.suppress(KeyWrongLastSequenceError):
                    await self._claims.update(key, self.me.encode(), last=released)
                    return True
            await self._claims.create(key, self.me.encode())
        except KeyWrongLastSequenceError:
            return False
        except NatsError as problem:  # NATS away: the channel answers busy
            raise Unavailable(f"claims cannot be made now: {type(problem).__name__}") from None
        return True

    async def release(self, key: str) -> None:
        """Give ``key`` up (a prompt finished); nothing if it is not claimed."""
        assert self._claims is not None
        # KeyValue.delete's own write (a delete marker), kept to learn the marker's revision.
        subject = f"$KV.{self._names[1]}.{key}"
        with contextlib.suppress(KeyNotFoundError, NatsError):
            ack = await self.bus.jetstream.publish(subject, headers={"KV-Operation": "DEL"})
            self._released[key] = ack.seq
            self._released.move_to_end(key)
            if len(self._released) > released_kept_max:
                self._released.popitem(last=False)

    async def holder(self, key: str) -> str:
        """Who holds the claim ``key`` ("" when nobody does)."""
        assert self._claims is not None
        try:
            entry = await self._claims.get(key)
        except KeyNotFoundError:
            return ""
        except NatsError as problem:
            raise Unavailable(f"claims cannot be read now: {type(problem).__name__}") from None
        return (entry.value or b"").decode()

    async def answer(self, what: str, answerer: Answerer) -> None:
        """Answer what other fronts forward to this one on ``what``."""

        async def respond(message: Msg) -> None:
            try:
                body = await answerer(message.data)
            except Exception:
                log.exception("answering a forwarded %s failed", what)
                body = b""
            await message.respond(body)

        subject = f"{self.bus.prefix}.front.{self.me}.{what}"
        await self.bus.client.subscribe(subject, cb=respond)

    async def ask(self, owner: str, what: str, body: bytes) -> bytes | None:
        """Forward ``body`` to the front ``owner``; its answer, or None if it did not answer."""
        subject = f"{self.bus.prefix}.front.{owner}.{what}"
        try:
            answer = await self.bus.client.request(subject, body, timeout=ask_timeout_s)
        except (TimeoutError, NatsError):
            return None
        return bytes(answer.data)

    async def stop(self) -> None:
        """Leave: stop beating and say so at once (others take over without waiting)."""
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
        if self._fronts is not None:
            with contextlib.suppress(NatsError):
                await self._fronts.delete(self.me)
