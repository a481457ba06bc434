"""Pay by code (customer-presented): the payer's pay code, the payee's charge on it.

The payer's app shows a pay code: ``paycode_digits`` digits drawn with ``secrets``,
bound to the payer's device, living ``paycode_life_s``, kept only as its keyed
digest (``keys.paycode_digest``), good for one charge. The payee's app types (or
scans) it with an amount: that makes a charge for the payer to confirm with the
PIN (TranProc checks it) or decline, within ``charge_life_s``; past it the charge
has lapsed. A code that is unknown, expired or used counts as a wrong try of the
payee's device; ``tries_max`` wrong tries per ``tries_window_s`` and the device may
charge no more codes until the window ends: 10 guesses an hour against at most a
few hundred live codes in 10^8 is hopeless.

One instance holds the live rows in memory behind one lock and writes every
change through before it answers (a wrong try is durable before it is refused).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from mkoba.channels.app.validation import charge_rows as rows
from mkoba.channels.app.validation.charge_rows import ChargeRow, PayCodeRow, TriesRow
from mkoba.channels.app.validation.devices import Device, Devices
from mkoba.channels.app.validation.enrolments import Submit
from mkoba.channels.app.validation.keys import paycode_digest
from mkoba.channels.app.validation.refusals import (
    BINDING_ENDED,
    CHARGE_DONE,
    CHARGE_LAPSED,
    CHARGE_UNKNOWN,
    PAYCODE_ATTEMPTS,
    PAYCODE_EXPIRED,
    PAYCODE_OWN,
    PAYCODE_UNKNOWN,
    PAYCODE_USED,
    AppRefused,
)
from mkoba.ledger import Write
from mkoba.parties import SecretKey

paycode_digits = 8
paycode_life_s = 90
charge_life_s = 120
tries_max = 10
tries_window_s = 3600
# Rows are kept this long past their expiry (a late status poll still finds its charge).
margin_s = 600
prune_every_s = 30
charge_id_chars_max = 64
_NS = 1_000_000_000


def new_paycode() -> str:
    """Fresh digits for a pay code, uniformly drawn."""
    return f"{secrets.randbelow(10**paycode_digits):0{paycode_digits}d}"


class Charges:
    """Every pay code, charge and wrong-try count still of use, in memory, written through."""

    def __init__(
        self, key: SecretKey, submit: Submit, clock: Callable[[], int], devices: Devices
    ) -> None:
        self._key = key
        self._submit = submit
        self._clock = clock
        self._devices = devices
        self._lock = asyncio.Lock()
        self._codes: dict[str, PayCodeRow] = {}
        self._charges: dict[str, ChargeRow] = {}
        self._tries: dict[str, TriesRow] = {}
        # Each payer device's newest code: showing a new one withdraws it, so a device has
        # one live code at most (and guessers as few targets as there are phones showing).
        self._newest: dict[str, str] = {}
        self._pruned = 0

    def since(self) -> int:
        """The oldest expiry still kept."""
        return self._clock() - margin_s * _NS

    def tries_since(self) -> int:
        """The oldest wrong-try window still counting."""
        return self._clock() - tries_window_s * _NS

    def load(
        self, codes: list[PayCodeRow], charges: list[ChargeRow], tries: list[TriesRow]
    ) -> None:
        """The rows read at start."""
        self._codes = {row.digest: row for row in codes}
        self._newest = {row.device_id: row.digest for row in sorted(codes, key=_created)}
        self._charges = {row.id: row for row in charges}
        self._tries = {row.device_id: row for row in tries}

    def _prune(self, now: int) -> None:
        if now - self._pruned < prune_every_s * _NS:
            return
        self._pruned = now
        oldest = now - margin_s * _NS
        self._codes = {key: row for key, row in self._codes.items() if row.expires > oldest}
        self._newest = {
            device: digest for device, digest in self._newest.items() if digest in self._codes
        }
        self._charges = {
            key: row
            for key, row in self._charges.items()
            if row.expires > oldest or row.state == rows.CONFIRMING
        }
        window = now - tries_window_s * _NS
        self._tries = {key: row for key, row in self._tries.items() if row.since > window}

    async def _write(self, *writes: Write) -> None:
        await self._submit(list(writes))

    async def issue(self, payer: Device) -> tuple[str, int]:
        """A pay code for ``payer``'s app to show: its digits (never kept) and expiry (ns)."""
        if payer.state != "active":
            raise AppRefused(BINDING_ENDED, "This device's binding has ended.")
        async with self._lock:
            now = self._clock()
            self._prune(now)
            while True:  # digits no live code has (a clash would make a code ambiguous)
                digits = new_paycode()
                digest = paycode_digest(self._key, digits)
                if digest not in self._codes:
                    break
            expires = now + paycode_life_s * _NS
            row = PayCodeRow(digest, payer.id, payer.msisdn, rows.OPEN, expires, now, now)
            writes = [rows.paycode_write(row)]
            earlier = self._codes.get(self._newest.get(payer.id, ""))
            if earlier is not None and earlier.state == rows.OPEN:
                earlier = earlier._replace(state=rows.USED, updated=now)
                writes.append(rows.paycode_write(earlier))
            await self._write(*writes)
            if earlier is not None:
                self._codes[earlier.digest] = earlier
            self._codes[digest] = row
            self._newest[payer.id] = digest
        return digits, expires

    async def _wrong(self, payee: Device, now: int, code: str, message: str) -> AppRefused:
        """A wrong try counted (durably) for the payee's device, and its refusal."""
        held = self._tries.get(payee.id)
        if held is None or held.since <= now - tries_window_s * _NS:
            held = TriesRow(payee.id, now, 0)
        counted = held._replace(tries=held.tries + 1)
        await self._write(rows.tries_write(counted))
        self._tries[payee.id] = counted
        return AppRefused(code, message, tries_left=max(tries_max - counted.tries, 0))

    def _allowed(self, payee: Device, now: int) -> None:
        held = self._tries.get(payee.id)
        recent = held is not None and held.since > now - tries_window_s * _NS
        if recent and held is not None and held.tries >= tries_max:
            minutes = tries_window_s // 60
            raise AppRefused(
                PAYCODE_ATTEMPTS,
                f"Too many wrong pay codes: this phone may try again within {minutes} minutes.",
            )

    async def charge(self, payee: Device, digits: str, amount: int, reference: str) -> ChargeRow:
        """A charge of ``amount`` on the pay code ``digits``, for its payer to confirm."""
        assert type(amount) is int and amount > 0, "money is integer minor units"
        async with self._lock:
            now = self._clock()
            self._prune(now)
            self._allowed(payee, now)
            code = self._codes.get(paycode_digest(self._key, digits))
            if code is None:
                raise await self._wrong(
                    payee, now, PAYCODE_UNKNOWN, "No such pay code: check the digits."
                )
            if code.msisdn == payee.msisdn:
                raise AppRefused(PAYCODE_OWN, "This is your own pay code.")
            if now >= code.expires:
                raise await self._wrong(
                    payee, now, PAYCODE_EXPIRED, "This pay code has expired: ask for a new one."
                )
            if code.state != rows.OPEN:
                raise await self._wrong(
                    payee, now, PAYCODE_USED, "This pay code was used: ask for a new one."
                )
            payer = await self._devices.get(code.device_id)
            if payer is None or payer.row.state != "active":
                raise AppRefused(PAYCODE_UNKNOWN, "The payer's app no longer offers this code.")
            charge = ChargeRow(
                secrets.token_urlsafe(16),
                code.device_id,
                code.msisdn,
                payee.id,
                payee.msisdn,
                amount,
                reference,
                rows.PENDING,
                "",
                "",
                now + charge_life_s * _NS,
                now,
                now,
            )
            used = code._replace(state=rows.USED, updated=now)
            await self._write(rows.paycode_write(used), rows.charge_write(charge))
            self._codes[used.digest] = used
            self._charges[charge.id] = charge
        return charge

    def _payers(self, payer: Device, charge_id: str, now: int) -> ChargeRow:
        """The payer's pending charge; the contract's refusal otherwise."""
        row = self._charges.get(charge_id) if len(charge_id) <= charge_id_chars_max else None
        # Only the device that showed the code may confirm: another one (even the same
        # phone's earlier binding) learns nothing of the charge.
        if row is None or row.payer_device != payer.id:
            raise AppRefused(CHARGE_UNKNOWN, "No such charge for this phone.")
        if row.state != rows.PENDING:
            raise AppRefused(CHARGE_DONE, "This charge was already answered.")
        if now >= row.expires:
            raise AppRefused(CHARGE_LAPSED, "This charge has lapsed: the payee may charge again.")
        return row

    async def take(self, payer: Device, charge_id: str, request_id: str) -> ChargeRow:
        """The payer confirms: the charge goes to TranProc as ``request_id`` (once)."""
        async with self._lock:
            now = self._clock()
            row = self._payers(payer, charge_id, now)
            taken = row._replace(state=rows.CONFIRMING, request_id=request_id, updated=now)
            await self._write(rows.charge_write(taken))
            self._charges[row.id] = taken
        return taken

    async def settle(self, charge_id: str, request_id: str, receipt: str | None) -> ChargeRow:
        """TranProc answered ``request_id``: paid (with its receipt), or pending again."""
        async with self._lock:
            row = self._charges[charge_id]
            assert row.state == rows.CONFIRMING and row.request_id == request_id
            if receipt is None:  # refused (a wrong PIN): the payer may try again in time
                new = row._replace(state=rows.PENDING, request_id="", updated=self._clock())
            else:
                new = row._replace(state=rows.PAID, receipt=receipt, updated=self._clock())
            await self._write(rows.charge_write(new))
            self._charges[row.id] = new
        return new

    async def decline(self, payer: Device, charge_id: str) -> ChargeRow:
        """The payer declines the charge."""
        async with self._lock:
            now = self._clock()
            row = self._payers(payer, charge_id, now)
            new = row._replace(state=rows.DECLINED, updated=now)
            await self._write(rows.charge_write(new))
            self._charges[row.id] = new
        return new

    async def status(self, device: Device, charge_id: str) -> tuple[ChargeRow, str]:
        """A charge this device made or was asked to pay, and where it stands now.

        Async as every call of the validation server: across the bus it is one.
        """
        row = self._charges.get(charge_id) if len(charge_id) <= charge_id_chars_max else None
        if row is None or device.id not in (row.payer_device, row.payee_device):
            raise AppRefused(CHARGE_UNKNOWN, "No such charge for this phone.")
        if row.state == rows.PENDING and self._clock() >= row.expires:
            return row, rows.LAPSED
        return row, row.state


def _created(row: PayCodeRow) -> int:
    return row.created
