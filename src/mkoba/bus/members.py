"""The fronts of one bus prefix: who is alive, who owns what, and asking an owner.

Each front is a member under a name of its own (host, process and a random part:
a restarted front is a new member). Two NATS key-value buckets hold the state:

- ``<PREFIX>_FRONTS``: one entry per live front, put again every ``beat_s``;
  entries expire after ``member_ttl_s``, so a front that died or hangs is gone
  from it within seconds and its prompts and conversations are taken over.
- ``<PREFIX>_CLAIMS``: claims made with an atomic create (a customer's STK lock,
  "I take over this prompt"): exactly one front wins each. They expire after
  ``claim_ttl_s`` at the latest, whoever made them.

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
        try:
            await self._claims.create(key, self.me.encode())
        except KeyWrongLastSequenceError:
            return False
        except NatsError as problem:  # NATS away: the channel answers busy
            raise Unavailable(f"claims cannot be made now: {type(problem).__name__}") from None
        return True

    async def release(self, key: str) -> None:
        """Give ``key`` up (a prompt finished); nothing if it is not claimed."""
        assert self._claims is not None
        with contextlib.suppress(KeyNotFoundError, NatsError):
            await self._claims.delete(key)

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
