"""Device bindings: which key speaks for which phone, and the last counter it used.

One active binding per phone number: binding a new device ends the others
(``ended``), as a SIM swap, staff or the device itself may. A signed request
is checked in this order: the device is known; its binding is active; the
counter is a number above the last one used; the signature verifies over the
contract's text; then, under the device's lock, the counter is checked again
and written through before the request goes on. So of two requests with one
counter exactly one passes, and a counter is used up even when the request is
then refused for another reason.

Devices are read from the table on first use and kept in memory (the server is
the table's only writer, so memory is the truth once read).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric import ec

from mkoba.channels.app.validation import schema, signature
from mkoba.channels.app.validation.enrolments import Enqueue, Submit
from mkoba.channels.app.validation.refusals import (
    BINDING_ENDED,
    COUNTER_REPLAYED,
    DEVICE_UNKNOWN,
    AppRefused,
)
from mkoba.channels.app.validation.schema import DeviceRow

# Why a binding ended (``end_bindings``): the ones a person may read in the table.
REASONS = frozenset({"new_device", "sim_swap", "staff", "unbind"})
device_id_chars_max = 64
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Query = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


class Device(NamedTuple):
    """A device bound to a phone, as the app channel sees it (no key, no secret)."""

    id: str
    msisdn: str
    name: str
    counter: int
    state: str
    created: int


def device_of(row: DeviceRow) -> Device:
    """What the channel is told of a binding."""
    return Device(row.id, row.msisdn, row.name, row.counter, row.state, row.created)


class Held:
    """A device in memory: its row, its parsed key, the lock its counter moves under."""

    __slots__ = ("key", "lock", "row", "written")

    def __init__(self, row: DeviceRow) -> None:
        self.row = row
        self.key: ec.EllipticCurvePublicKey = signature.public_key(row.public_key)[0]
        self.lock = asyncio.Lock()
        # The last counter's write, on its way to the ledger writer (None: none pending).
        self.written: Awaitable[None] | None = None


class Devices:
    """The bindings this server has seen, and the checks of a signed request."""

    def __init__(
        self, query: Query, submit: Submit, enqueue: Enqueue, clock: Callable[[], int]
    ) -> None:
        self._query = query
        self._submit = submit
        self._enqueue = enqueue
        self._clock = clock
        self._held: dict[str, Held] = {}
        # Held while bindings of a number change (binding a device, ending bindings).
        self.bindings_lock = asyncio.Lock()

    async def get(self, device_id: str) -> Held | None:
        """The device with this id (from memory, else the table), or None."""
        found = self._held.get(device_id)
        if found is not None:
            return found
        if not (isinstance(device_id, str) and _DEVICE_ID.match(device_id)):
            return None
        rows = await asyncio.to_thread(self._query, schema.DEVICE_BY_ID, (device_id,))
        if not rows:
            return None
        # Another request may have read it meanwhile: the first one kept is the truth.
        return self._held.setdefault(device_id, Held(schema.device_of(rows[0])))

    async def verify(
        self, device_id: str, counter: str, signed: str, method: str, path: str, body: bytes
    ) -> Device:
        """The device that signed this request, its counter advanced; or ``AppRefused``.

        The counter moves in memory at once (a second use of it is refused from now on)
        and its write goes to the ledger writer, which commits in order: before anything
        the request then asks. ``durable`` waits for it before the request is answered.
        """
        held = await self.get(device_id)
        if held is None:
            raise AppRefused(DEVICE_UNKNOWN, "This device is not known: enrol it again.")
        _active(held.row)
        value = signature.read_counter(counter)
        _above(held.row, value)
        signature.check(
            held.key, signed, signature.signed_text(method, path, device_id, value, body)
        )
        async with held.lock:
            # Checked again: another request may have used this counter meanwhile.
            row = held.row
            _active(row)
            _above(row, value)
            new = row._replace(counter=value, updated=self._clock())
            held.written = self._enqueue([schema.device_write(new)])
            held.row = new
        assert held.row.counter == value
        return device_of(new)

    async def durable(self, device_id: str) -> None:
        """Once the device's last counter is committed."""
        held = self._held.get(device_id)
        written = None if held is None else held.written
        if written is not None:
            await written

    async def active_of(self, msisdn: str) -> list[Held]:
        """The devices bound to ``msisdn`` now (normally one)."""
        rows = await asyncio.to_thread(self._query, schema.DEVICES_OF, (msisdn,))
        found = []
        for values in rows:
            row = schema.device_of(values)
            held = self._held.setdefault(row.id, Held(row))
            if held.row.state == schema.ACTIVE:
                found.append(held)
        return found

    def new_row(self, msisdn: str, key: str, name: str, now: int) -> DeviceRow:
        """A new binding of a key (canonical SPKI, base64url) to a phone; counter 0."""
        return DeviceRow(
            secrets.token_urlsafe(16), msisdn, name, key, 0, schema.ACTIVE, "", now, now
        )

    def remember(self, row: DeviceRow) -> None:
        """A binding committed by the validator (a new one, or one ended)."""
        held = self._held.get(row.id)
        if held is None:
            self._held[row.id] = Held(row)
        else:
            held.row = row


async def lock_all(stack: AsyncExitStack, held: list[Held]) -> None:
    """Take the locks of ``held`` (in id order, so two callers never wait on each other)."""
    for device in sorted(held, key=lambda one: one.row.id):
        await stack.enter_async_context(device.lock)


def ended_row(row: DeviceRow, reason: str, now: int) -> DeviceRow:
    """The binding ended, and why."""
    assert reason in REASONS, reason
    return row._replace(state=schema.ENDED, reason=reason, updated=now)


def _active(row: DeviceRow) -> None:
    if row.state != schema.ACTIVE:
        raise AppRefused(
            BINDING_ENDED, "This device's binding has ended: enrol it again to use the app."
        )


def _above(row: DeviceRow, counter: int) -> None:
    if counter <= row.counter:
        raise AppRefused(COUNTER_REPLAYED, "This request was already used (its counter is old).")
