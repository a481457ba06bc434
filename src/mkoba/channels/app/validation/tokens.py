"""Payment codes: issuing a dynamic code bound to the payee's device, and taking it once.

A dynamic code carries a fresh one-time token and, in field 80/03, the server's
MAC over everything the code says (``keys.code_mac``). The token is kept (by its
keyed digest) with what the code said and the payee's device, until its expiry
and a margin. A code is checked in this order: it reads (CRC, format, expiry:
``keqr.read_code``); for a dynamic code, its token is one we issued; its MAC is
ours and what it says is what we issued (``qr_tampered``); the payee's binding
is still active; it is not taken or paid (``qr_paid``); the payer is not the
payee (``qr_own``); and it has not expired by our own record. A static code is
checked for its format only. ``reserve`` takes the token for one request under
its lock (open → pending, written through); ``settle`` makes it paid, or open
again when TranProc refused (a wrong PIN must not burn the code).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mkoba.channels.app import keqr
from mkoba.channels.app.keqr import Payee, PayeeKind, PaymentCode
from mkoba.channels.app.refusal import QrRefused, Refusal
from mkoba.channels.app.validation import schema
from mkoba.channels.app.validation.devices import Device, Devices
from mkoba.channels.app.validation.enrolments import Enqueue, Submit
from mkoba.channels.app.validation.keys import code_mac, mac_matches, token_digest
from mkoba.channels.app.validation.refusals import (
    BINDING_ENDED,
    QR_OWN,
    QR_PAID,
    QR_TAMPERED,
    QR_UNKNOWN,
    AppRefused,
    from_reading,
)
from mkoba.channels.app.validation.schema import TokenRow
from mkoba.parties import SecretKey

code_life_s = 300
# Tokens are kept this long past their expiry: a payment taken just before it settles.
token_margin_s = 600
prune_every_s = 30
token_bytes = 18  # 24 characters of base64url: within keqr's 16 to 32
request_id_chars_max = 255
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXPIRY_FORMAT = "%Y%m%d%H%M%S"


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A code for the payee's app to show: its payload and expiry (ns; 0 for a static one)."""

    payload: str = field(repr=False)
    expires_ns: int
    # The one-time token (a dynamic code's), for the channel's notices; never logged.
    token: str | None = field(default=None, repr=False)


def moment(ns: int) -> datetime:
    """A clock reading (ns) as an aware datetime."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


class HeldToken:
    """A token in memory: its row and the lock its state changes under.

    ``payload``: the code this server issued with it (this process's issues only), and
    ``code``: that payload once read, so that the same bytes are not parsed again.
    """

    __slots__ = ("code", "lock", "payload", "row")

    def __init__(self, row: TokenRow, payload: str = "") -> None:
        self.row = row
        self.lock = asyncio.Lock()
        self.payload = payload
        self.code: PaymentCode | None = None


class Tokens:
    """Every token issued in the last ``code_life_s + token_margin_s``, written through."""

    def __init__(
        self,
        key: SecretKey,
        submit: Submit,
        enqueue: Enqueue,
        clock: Callable[[], int],
        devices: Devices,
        life_s: int = code_life_s,
    ) -> None:
        self._key = key
        self._life_s = life_s
        self._submit = submit
        # Taking and settling a token: in memory at once, committed in order behind.
        self._enqueue = enqueue
        self._clock = clock
        self._devices = devices
        self._held: dict[str, HeldToken] = {}
        # The codes issued here, by their exact text: a payer's read and pay of the same
        # bytes need no second parse (the MAC, the record and the clock are still checked).
        self._issued_here: dict[str, HeldToken] = {}
        self._pruned = 0

    def since(self) -> int:
        """The oldest expiry still kept."""
        return self._clock() - token_margin_s * _NS

    def load(self, rows: list[TokenRow]) -> None:
        """The tokens read at start."""
        self._held = {row.digest: HeldToken(row) for row in rows}

    def _prune(self, now: int) -> None:
        if now - self._pruned < prune_every_s * _NS:
            return
        self._pruned = now
        oldest = now - token_margin_s * _NS
        for digest, held in list(self._held.items()):
            if held.row.expires <= oldest and not held.lock.locked():
                del self._held[digest]
                self._issued_here.pop(held.payload, None)

    async def issue(
        self, payee: Device, amount: int | None, reference: str, view: Payee
    ) -> IssuedCode:
        """A code for ``payee``'s app: dynamic with ``amount`` (5 minutes), else static."""
        if payee.state != schema.ACTIVE:
            raise AppRefused(BINDING_ENDED, "This device's binding has ended.")
        try:
            if amount is None:
                return IssuedCode(keqr.static_code(view, reference or None), 0)
            return await self._dynamic(payee, amount, reference, view)
        except QrRefused as error:
            raise from_reading(error) from None

    async def _dynamic(self, payee: Device, amount: int, reference: str, view: Payee) -> IssuedCode:
        if type(amount) is not int or amount <= 0:
            raise AppRefused("qr_invalid", "The amount is a whole number of cents above zero.")
        if view.kind is PayeeKind.SEND_MONEY and view.number != payee.msisdn:
            raise AppRefused("qr_invalid", "A person's code pays the phone that shows it.")
        now = self._clock()
        self._prune(now)
        expires_at = moment(now + self._life_s * _NS).replace(microsecond=0)
        expires = int((expires_at - _EPOCH).total_seconds()) * _NS
        token = secrets.token_urlsafe(token_bytes)
        mac = code_mac(
            self._key, view, amount, reference, expires_at.strftime(_EXPIRY_FORMAT), token
        )
        payload = keqr.dynamic_code(view, amount, reference, expires_at, token, mac)
        row = TokenRow(
            token_digest(self._key, token),
            payee.id,
            payee.msisdn,
            view.kind.value,
            view.number,
            view.name,
            amount,
            reference,
            expires,
            schema.PAYABLE,
            "",
            now,
            now,
        )
        await self._submit([schema.token_write(row)])
        held = self._held[row.digest] = HeldToken(row, payload)
        self._issued_here[payload] = held
        return IssuedCode(payload, expires, token)

    def _read(self, payload: str, now: int) -> PaymentCode:
        held = self._issued_here.get(payload)
        try:
            if held is not None and held.code is not None:
                if now >= held.row.expires:  # as ``read_code`` says it of these bytes
                    raise QrRefused(Refusal.EXPIRED, keqr.EXPIRED_TEXT)
                return held.code
            code = keqr.read_code(payload, moment(now))
        except QrRefused as error:
            raise from_reading(error) from None
        if held is not None:
            held.code = code
        return code

    async def _issued(self, code: PaymentCode, now: int) -> HeldToken:
        """The token's record once the code is ours, untouched, and its payee still bound."""
        assert code.token is not None and code.amount_minor is not None
        held = self._held.get(token_digest(self._key, code.token))
        if held is None:
            raise AppRefused(QR_UNKNOWN, "This code was not issued by mkoba: ask for a new one.")
        row = held.row
        expiry = moment(row.expires).strftime(_EXPIRY_FORMAT)
        expected = code_mac(
            self._key, code.payee, code.amount_minor, code.reference or "", expiry, code.token
        )
        said = (
            code.payee.kind.value,
            code.payee.number,
            code.payee.name,
            code.amount_minor,
            code.reference,
            code.expires_at,
        )
        issued = (row.kind, row.number, row.name, row.amount, row.reference, moment(row.expires))
        if not mac_matches(expected, code.signature) or said != issued:
            raise AppRefused(QR_TAMPERED, "This code was changed after it was made: do not pay it.")
        device = await self._devices.get(row.device_id)
        if device is None or device.row.state != schema.ACTIVE:
            raise AppRefused(QR_UNKNOWN, "The payee's app no longer offers this code.")
        if now >= row.expires:
            raise AppRefused("qr_expired", "The code has expired: ask the payee for a new one.")
        return held

    def _payable(self, row: TokenRow, payer: Device, request_id: str | None) -> bool:
        """Whether the token may be taken; True when ``request_id`` already holds it."""
        if row.request_id == request_id and row.state in (schema.PENDING, schema.PAID):
            return True
        if row.state != schema.PAYABLE:
            raise AppRefused(QR_PAID, "This code has already been paid.")
        if payer.msisdn == row.msisdn:
            raise AppRefused(QR_OWN, "This is your own code: show it to the payer instead.")
        return False

    async def check(self, payload: str, payer: Device) -> PaymentCode:
        """The code, once every check a payer's app needs before the PIN has passed."""
        now = self._clock()
        code = self._read(payload, now)
        if not code.dynamic:
            return code
        held = await self._issued(code, now)
        self._payable(held.row, payer, None)
        return code

    async def reserve(self, payload: str, payer: Device, request_id: str) -> PaymentCode:
        """``check``, then take the token for ``request_id`` (a retry of it keeps it)."""
        assert isinstance(request_id, str) and 0 < len(request_id) <= request_id_chars_max
        now = self._clock()
        code = self._read(payload, now)
        if not code.dynamic:
            return code
        held = await self._issued(code, now)
        async with held.lock:
            if self._payable(held.row, payer, request_id):
                return code
            taken = held.row._replace(state=schema.PENDING, request_id=request_id, updated=now)
            # Committed before the payment TranProc is asked next (the writer keeps order).
            self._enqueue([schema.token_write(taken)])
            held.row = taken
        return code

    async def settle(self, token: str, request_id: str, paid: bool) -> None:
        """The payment taken by ``request_id`` is paid, or refused (the code is open again)."""
        held = self._held.get(token_digest(self._key, token)) if token else None
        if held is None:
            raise AppRefused(QR_UNKNOWN, "This code is not known.")
        async with held.lock:
            row = held.row
            state = schema.PAID if paid else schema.PAYABLE
            if row.state == state and (row.request_id == request_id or not paid):
                return  # settled already: a retry
            if row.state != schema.PENDING or row.request_id != request_id:
                raise AppRefused(QR_PAID, "This code is taken by another payment.")
            new = row._replace(
                state=state, request_id=request_id if paid else "", updated=self._clock()
            )
            self._enqueue([schema.token_write(new)])
            held.row = new
