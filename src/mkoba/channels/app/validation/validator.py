"""The validation server: one narrow interface between the smartphone app and TranProc.

The app channel calls it for everything it must not decide itself: enrolment
codes, device bindings, signed requests, and payment codes. It owns its tables
(``schema.py``) and keeps the hot state in memory behind asyncio locks, loaded
at ``start`` and written through before it answers, so one instance per
platform serves any number of concurrent requests safely. Every refusal is an
``AppRefused`` with the contract's code (docs/app-protocol.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

from mkoba.channels.app.keqr import Payee, PaymentCode
from mkoba.channels.app.validation import charge_rows, enrolments, schema, tokens
from mkoba.channels.app.validation import devices as bindings
from mkoba.channels.app.validation.charges import Charges
from mkoba.channels.app.validation.devices import Device, Devices, device_of
from mkoba.channels.app.validation.enrolments import Enrolments
from mkoba.channels.app.validation.keys import b64url, load_keys
from mkoba.channels.app.validation.refusals import NAME_INVALID, AppRefused
from mkoba.channels.app.validation.sender import CodeSender
from mkoba.channels.app.validation.signature import public_key
from mkoba.channels.app.validation.tokens import IssuedCode, Tokens
from mkoba.ledger import Write
from mkoba.parties import SecretKey
from mkoba.parties.msisdn import InvalidMsisdn, normalize_msisdn
from mkoba.ports import Submit, Tables
from mkoba.text import storable

log = logging.getLogger("mkoba.app.validation")
MSISDN_INVALID = "msisdn_invalid"
device_name_chars_max = 40


class Validator:
    """Enrolment codes, device bindings, signed requests and payment codes."""

    def __init__(
        self,
        tables: Tables,
        request: Submit,
        keys_dir: Path,
        clock: Callable[[], int],
        transport_key: SecretKey,
        *,
        region: str = "KE",
        code_life_s: int = tokens.code_life_s,
    ) -> None:
        keys = load_keys(keys_dir)
        self._tables = tables
        self._clock = clock
        self._region = region
        self._sender = CodeSender(request, transport_key)
        self._enrolments = Enrolments(keys.otp, self._submit, clock)
        self._devices = Devices(tables.query, self._submit, self._enqueue, clock)
        self._tokens = Tokens(
            keys.codes, self._submit, self._enqueue, clock, self._devices, code_life_s
        )
        # Pay by code (customer-presented): the channel calls it directly.
        self.charges = Charges(keys.codes, self._submit, clock, self._devices)
        # Rows handed to the writer and not yet known durable (``drain`` waits for them).
        self._writing: set[asyncio.Future[None]] = set()
        # Codes on their way to TranProc (``enrol`` answers without waiting for them).
        self._sending: set[asyncio.Task[bool]] = set()

    async def _submit(self, writes: list[Write]) -> None:
        await self._tables.submit(writes)

    def _enqueue(self, writes: list[Write]) -> asyncio.Future[None]:
        """Hand ``writes`` to the writer now; a future that resolves once they are durable."""
        written = asyncio.ensure_future(self._tables.submit(writes))
        self._writing.add(written)
        written.add_done_callback(_written)
        written.add_done_callback(self._writing.discard)
        return written

    async def start(self) -> None:
        """Make the tables ("app-0001", "app-0002") and load the live rows."""
        await asyncio.to_thread(self._tables.migrate_script, schema.MIGRATION, schema.SCHEMA)
        found = await asyncio.to_thread(
            self._tables.query, schema.ENROLMENTS_SINCE, (self._enrolments.since(),)
        )
        self._enrolments.load([schema.enrolment_of(values) for values in found])
        found = await asyncio.to_thread(
            self._tables.query, schema.TOKENS_SINCE, (self._tokens.since(),)
        )
        self._tokens.load([schema.token_of(values) for values in found])
        await self._load_charges()

    async def _load_charges(self) -> None:
        """Make the pay-by-code tables ("app-0002") and load their live rows."""
        tables, charges = self._tables, self.charges
        await asyncio.to_thread(tables.migrate_script, charge_rows.MIGRATION, charge_rows.SCHEMA)
        since = charges.since()
        codes = await asyncio.to_thread(tables.query, charge_rows.PAYCODES_SINCE, (since,))
        made = await asyncio.to_thread(tables.query, charge_rows.CHARGES_SINCE, (since,))
        tries = await asyncio.to_thread(
            tables.query, charge_rows.TRIES_SINCE, (charges.tries_since(),)
        )
        charges.load(
            [charge_rows.paycode_of(values) for values in codes],
            [charge_rows.charge_of(values) for values in made],
            [charge_rows.tries_of(values) for values in tries],
        )

    async def drain(self) -> None:
        """Wait until every code asked for was answered by TranProc, every row committed."""
        while self._sending or self._writing:
            await asyncio.gather(*self._sending, *self._writing, return_exceptions=True)

    async def stop(self) -> None:
        """Let the codes on their way reach TranProc."""
        await self.drain()

    def _msisdn(self, text: str) -> str:
        try:
            return normalize_msisdn(text, self._region)
        except InvalidMsisdn as error:
            raise AppRefused(MSISDN_INVALID, str(error)) from None

    # -- enrolment ------------------------------------------------------------------------

    async def enrol(self, msisdn: str) -> tuple[str, int]:
        """A new enrolment (its id, seconds to live); its code goes by SMS to a customer.

        The answer is the same whether or not the number is a customer's (TranProc
        sends the SMS only to one), and comes as soon as the enrolment is stored,
        before TranProc looks the number up: nobody learns the directory from it,
        not even from the time it takes.
        """
        number = self._msisdn(msisdn)
        enrolment, code = await self._enrolments.open(number)
        task = asyncio.create_task(self._sender.send(number, code))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return enrolment, enrolments.code_life_s

    async def check_code(self, enrolment: str, code: str) -> str:
        """The enrolment's number once ``code`` is right (the enrolment is confirmed)."""
        return await self._enrolments.check(enrolment, code)

    async def bind(self, enrolment: str, public_key_spki: bytes | str, device_name: str) -> Device:
        """Bind a device key to a confirmed enrolment's number; earlier bindings end."""
        key = public_key(_text_key(public_key_spki))[1]
        name = _device_name(device_name)
        async with self._enrolments.lock:
            row = self._enrolments.confirmed(enrolment)
            now = self._clock()
            new = self._devices.new_row(row.msisdn, key, name, now)
            used = self._enrolments.used(row, now)
            await self._change(row.msisdn, "new_device", new, [schema.enrolment_write(used)])
            self._enrolments.applied(used)
        log.info("device %s bound", new.id)
        return device_of(new)

    async def end_bindings(self, msisdn: str, reason: str) -> int:
        """End every binding of a number (SIM swap, staff, the device itself); how many."""
        if reason not in bindings.REASONS:
            raise ValueError(f"a binding ends for one of {sorted(bindings.REASONS)}")
        return await self._change(self._msisdn(msisdn), reason, None, [])

    async def _change(
        self, msisdn: str, reason: str, new: schema.DeviceRow | None, also: list[Write]
    ) -> int:
        """End the number's active bindings (and add ``new``), in one commit."""
        async with self._devices.bindings_lock, AsyncExitStack() as stack:
            held = await self._devices.active_of(msisdn)
            await bindings.lock_all(stack, held)
            now = self._clock()
            ended = [bindings.ended_row(one.row, reason, now) for one in held]
            rows = ended if new is None else [*ended, new]
            await self._submit([schema.device_write(row) for row in rows] + also)
            for row in rows:
                self._devices.remember(row)
        if ended:
            log.info("%d binding(s) ended: %s", len(ended), reason)
        return len(ended)

    async def device(self, device_id: str) -> Device | None:
        """The device with this id, as bound (or ended), or None."""
        held = await self._devices.get(device_id)
        return None if held is None else device_of(held.row)

    # -- signed requests ------------------------------------------------------------------

    async def verify(
        self, device_id: str, counter: str, signature: str, method: str, path: str, body: bytes
    ) -> Device:
        """The device that signed this request; its counter advanced durably first."""
        return await self._devices.verify(device_id, counter, signature, method, path, body)

    async def durable(self, device: Device) -> None:
        """Once the counter ``verify`` moved for ``device`` is committed (before answering)."""
        await self._devices.durable(device.id)

    # -- payment codes --------------------------------------------------------------------

    async def issue(
        self, payee: Device, amount: int | None, reference: str, payee_view: Payee
    ) -> IssuedCode:
        """A code for the payee's app: dynamic (5 minutes, one payment) or static (no amount)."""
        return await self._tokens.issue(payee, amount, reference, payee_view)

    async def check(self, payload: str, payer: Device) -> PaymentCode:
        """What a code says, once it is fit to pay (the payer's app shows it)."""
        return await self._tokens.check(payload, payer)

    async def reserve(self, payload: str, payer: Device, request_id: str) -> PaymentCode:
        """``check``, and take the code's token for this payment request."""
        return await self._tokens.reserve(payload, payer, request_id)

    async def settle(self, token: str, request_id: str, paid: bool) -> None:
        """The payment ``request_id`` took the token for was paid, or refused (open again)."""
        await self._tokens.settle(token, request_id, paid)


def _written(done: asyncio.Future[None]) -> None:
    """A row the validator did not wait for could not be committed: say so (never silently)."""
    if not done.cancelled() and done.exception() is not None:
        log.error("a validation row could not be committed: %s", type(done.exception()).__name__)


def _text_key(spki: bytes | str) -> str:
    """The key as the contract carries it: SPKI DER in base64url (bytes are DER)."""
    if isinstance(spki, bytes):
        return b64url(spki)
    return spki


def _device_name(text: str) -> str:
    name = text.strip() if isinstance(text, str) else ""
    if not (0 < len(name) <= device_name_chars_max and storable(name)):
        raise AppRefused(
            NAME_INVALID, f"The device name is 1 to {device_name_chars_max} plain characters."
        )
    return name
