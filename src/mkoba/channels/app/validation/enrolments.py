"""Enrolments: the one-time code a new device proves its phone number with.

An enrolment is made for a number, with a fresh six-digit code (``secrets``),
kept only as its keyed digest bound to the enrolment and number (``keys.py``).
It lives ``code_life_s``; ``code_tries_max`` wrong codes kill it; a right code
confirms it, and a confirmed enrolment may bind one device within
``bind_window_s`` (after TranProc checked the PIN), which uses it up. A number
gets ``enrolments_max`` enrolments per ``enrolment_window_s``.

One instance per platform holds every live enrolment in memory, behind one lock,
and writes each change through before it answers: a wrong try is durable before
it is refused.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from mkoba.channels.app.validation import schema
from mkoba.channels.app.validation.keys import otp_digest, otp_matches
from mkoba.channels.app.validation.refusals import (
    ENROL_TOO_OFTEN,
    OTP_ATTEMPTS,
    OTP_EXPIRED,
    OTP_UNKNOWN,
    OTP_WRONG,
    AppRefused,
)
from mkoba.channels.app.validation.schema import EnrolmentRow
from mkoba.ledger import Write
from mkoba.parties import SecretKey

code_digits = 6
code_life_s = 300
code_tries_max = 5
# After the right code: time for the PIN check and the key to arrive.
bind_window_s = 120
enrolments_max = 3
enrolment_window_s = 600
# Enrolments of the last window for all numbers together: past it, someone is enrolling
# numbers by the thousand, and new enrolments wait (memory stays bounded).
live_enrolments_max = 200_000
# Longer than anything typed: the code's length is not a secret, the bound keeps HMACs cheap.
code_chars_max = 16
enrolment_id_chars_max = 64
_NS = 1_000_000_000


# Commits rows, resolving once durable (``ports.Tables.submit``).
Submit = Callable[[list[Write]], Awaitable[None]]
# Hands rows to the ledger writer now (it commits in order); the awaitable, once durable.
Enqueue = Callable[[list[Write]], Awaitable[None]]


def new_code() -> str:
    """A fresh code: six digits, uniformly drawn."""
    return f"{secrets.randbelow(10**code_digits):0{code_digits}d}"


class Enrolments:
    """Every enrolment of the last ``enrolment_window_s``, in memory, written through."""

    def __init__(self, key: SecretKey, submit: Submit, clock: Callable[[], int]) -> None:
        self._key = key
        self._submit = submit
        self._clock = clock
        self._lock = asyncio.Lock()
        # In creation order (a dict keeps the order of first insertion): pruning stops
        # at the first young one.
        self._rows: dict[str, EnrolmentRow] = {}
        # Per number, how many enrolments of the window it has (the rate limit).
        self._per_number: dict[str, int] = {}

    def load(self, rows: list[EnrolmentRow]) -> None:
        """The enrolments read at start (those of the last window)."""
        self._rows = {}
        self._per_number = {}
        for row in sorted(rows, key=lambda one: one.created):
            self._add(row)

    def _add(self, row: EnrolmentRow) -> None:
        assert row.id not in self._rows
        self._rows[row.id] = row
        self._per_number[row.msisdn] = self._per_number.get(row.msisdn, 0) + 1

    def since(self) -> int:
        """The oldest creation time still of use (rate limit and life)."""
        return self._clock() - enrolment_window_s * _NS

    def _prune(self, now: int) -> None:
        oldest = now - enrolment_window_s * _NS
        old = []
        for row in self._rows.values():
            if row.created > oldest:
                break
            old.append(row)
        for row in old:
            del self._rows[row.id]
            left = self._per_number[row.msisdn] - 1
            if left:
                self._per_number[row.msisdn] = left
            else:
                del self._per_number[row.msisdn]

    async def _write(self, row: EnrolmentRow) -> None:
        # Memory changes only once the row is durable: a failed write changes nothing.
        assert row.id in self._rows
        await self._submit([schema.enrolment_write(row)])
        self._rows[row.id] = row

    async def open(self, msisdn: str) -> tuple[str, str]:
        """A new enrolment for ``msisdn`` and its code (to send, never to keep).

        ``AppRefused(enrol_too_often)`` past the number's allowance.
        """
        async with self._lock:
            now = self._clock()
            self._prune(now)
            recent = self._per_number.get(msisdn, 0)
            if recent >= enrolments_max or len(self._rows) >= live_enrolments_max:
                minutes = enrolment_window_s // 60
                raise AppRefused(
                    ENROL_TOO_OFTEN,
                    f"At most {enrolments_max} codes per number in {minutes} minutes;"
                    " try again later.",
                )
            enrolment = secrets.token_urlsafe(18)
            code = new_code()
            row = EnrolmentRow(
                enrolment,
                msisdn,
                otp_digest(self._key, enrolment, msisdn, code),
                schema.OPEN,
                0,
                now,
                now + code_life_s * _NS,
                now,
            )
            await self._submit([schema.enrolment_write(row)])
            self._add(row)
            return enrolment, code

    def _live(self, enrolment: str, now: int) -> EnrolmentRow:
        """The enrolment if it can still be used; the contract's refusal if not."""
        row = self._rows.get(enrolment) if len(enrolment) <= enrolment_id_chars_max else None
        if row is None or row.state == schema.USED:
            raise AppRefused(OTP_UNKNOWN, "This enrolment is unknown or used: start again.")
        if row.state == schema.DEAD:
            raise AppRefused(OTP_ATTEMPTS, "Too many wrong codes: start again for a new code.")
        if now >= row.expires:
            raise AppRefused(OTP_EXPIRED, "The code has expired: start again for a new code.")
        return row

    async def check(self, enrolment: str, code: str) -> str:
        """The enrolment's number once ``code`` is right; a wrong try counted first."""
        async with self._lock:
            now = self._clock()
            row = self._live(enrolment, now)
            right = (
                isinstance(code, str)
                and len(code) <= code_chars_max
                and otp_matches(self._key, row.id, row.msisdn, code, row.digest)
            )
            if right:
                if row.state == schema.OPEN:
                    # Confirmed: the bind must follow soon; a second check with the right
                    # code (after a wrong PIN) keeps this window, never extends it.
                    expires = now + bind_window_s * _NS
                    await self._write(
                        row._replace(state=schema.CONFIRMED, expires=expires, updated=now)
                    )
                return row.msisdn
            tries = row.tries + 1
            state = schema.DEAD if tries >= code_tries_max else row.state
            await self._write(row._replace(tries=tries, state=state, updated=now))
            if state == schema.DEAD:
                raise AppRefused(OTP_ATTEMPTS, "Too many wrong codes: start again for a new code.")
            left = code_tries_max - tries
            raise AppRefused(OTP_WRONG, f"Wrong code: {left} tries left.", tries_left=left)

    def confirmed(self, enrolment: str) -> EnrolmentRow:
        """The confirmed enrolment a device may now bind with (read, not changed)."""
        row = self._live(enrolment, self._clock())
        if row.state != schema.CONFIRMED:
            raise AppRefused(OTP_UNKNOWN, "Confirm the code before binding a device.")
        return row

    def used(self, row: EnrolmentRow, now: int) -> EnrolmentRow:
        """The enrolment used up by a binding (to commit with it)."""
        assert row.state == schema.CONFIRMED
        return row._replace(state=schema.USED, updated=now)

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a binding uses an enrolment up (the validator binds under it)."""
        return self._lock

    def applied(self, row: EnrolmentRow) -> None:
        """Remember a row committed by the validator (a binding's)."""
        assert row.id in self._rows
        self._rows[row.id] = row
