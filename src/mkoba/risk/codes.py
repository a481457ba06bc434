"""A step-up confirmed by a one-time code sent to the payer's app device.

When the strongest rule that fired steps a payment up, the payer's app device is
bound, and the payment came from a channel that carries a code
(``risk_port.CODE_CHANNELS``), ``Codes.judge`` answers instead of "PIN again":

- without a code, a fresh one is drawn (``secrets``), kept only as its keyed hash
  (HMAC-SHA-256 under a key of this process, bound to the payment: payer, payee,
  amount), and sent to the device (``risk_port.DeviceCode``); the answer says so;
- the same payment sent again with that code (and the PIN: TranProc checked it
  before the rules ran) within ``confirm_minutes`` goes through, once;
- a wrong code counts: ``code_tries_max`` wrong ones spend it; an expired, used or
  spent code, or one for no waiting payment, confirms nothing. Each is answered
  ``confirm_required`` with what to do (send it again without a code for a new one).

Kept in memory, as the "PIN again" window is: a restart forgets the open codes (the
customer asks again), and no code, clear or hashed, reaches the store or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import NamedTuple

from mkoba.messages import render
from mkoba.parties.secrets import Otp, otp_digits
from mkoba.processor.risk_port import ALLOWED, BY_CODE, STEP_UP, DeviceCode, Payment, Verdict

log = logging.getLogger("mkoba.risk")

# Wrong codes before a code is spent (a guess has 1 in 10^6 of being right).
code_tries_max = 3
# Open codes kept before the expired and finished ones are forgotten.
codes_max = 10_000
_MINUTE_NS = 60 * 1_000_000_000
assert code_tries_max * 100_000 < 10**otp_digits  # guessing stays hopeless

Key = tuple[int, int, int]  # payer, payee, amount


class Challenge(NamedTuple):
    """An open code: its keyed hash, until when it confirms (ns), wrong tries, used."""

    digest: bytes
    until: int
    tries: int = 0
    used: bool = False


def draw_code() -> str:
    """Six random digits (``secrets``: unpredictable)."""
    return f"{secrets.randbelow(10**otp_digits):0{otp_digits}d}"


class Codes:
    """The open step-up codes of this process."""

    def __init__(self, draw: Callable[[], str] = draw_code) -> None:
        self._key = secrets.token_bytes(32)
        self._open: dict[Key, Challenge] = {}
        self._draw = draw

    def judge(self, payment: Payment, minutes: int, deliver: DeviceCode) -> Verdict:
        """The step-up of ``payment`` by a code: send one, or check the one it carries
        (ALLOWED: confirmed)."""
        assert minutes >= 1
        key = (payment.payer_id, payment.payee_id, payment.amount)
        if payment.otp is None:
            return self._issue(payment, key, minutes, deliver)
        return self._check(payment, key, payment.otp)

    def open_count(self) -> int:
        """Codes kept (a gauge, and what tests check is bounded)."""
        return len(self._open)

    def _issue(self, payment: Payment, key: Key, minutes: int, deliver: DeviceCode) -> Verdict:
        code = Otp(self._draw())
        self._open.pop(key, None)  # a new code replaces the payment's old one (kept last)
        if len(self._open) >= codes_max:
            self._forget(payment.now)
        while len(self._open) >= codes_max:  # all still open: the oldest goes
            del self._open[next(iter(self._open))]
        self._open[key] = Challenge(self._digest(key, code), payment.now + minutes * _MINUTE_NS)
        try:
            deliver(payment.msisdn, code, payment.amount, minutes)
        except Exception as problem:  # never the code: only what kind of failure it was
            log.error("risk: a step-up code could not be sent (%s)", type(problem).__name__)
        return _answer(payment, "risk.code.sent", minutes=minutes)

    def _check(self, payment: Payment, key: Key, code: Otp) -> Verdict:
        challenge = self._open.get(key)
        if challenge is None:
            return _answer(payment, "risk.code.none")
        if challenge.used:
            return _answer(payment, "risk.code.used")
        if challenge.tries >= code_tries_max:
            return _answer(payment, "risk.code.spent", tries=code_tries_max)
        if challenge.until < payment.now:
            return _answer(payment, "risk.code.expired")
        if not hmac.compare_digest(challenge.digest, self._digest(key, code)):
            tries = challenge.tries + 1
            self._open[key] = challenge._replace(tries=tries)
            if tries >= code_tries_max:
                return _answer(payment, "risk.code.spent", tries=code_tries_max)
            return _answer(payment, "risk.code.wrong", left=code_tries_max - tries)
        self._open[key] = challenge._replace(used=True)
        return ALLOWED

    def _digest(self, key: Key, code: Otp) -> bytes:
        message = f"{key[0]}:{key[1]}:{key[2]}:{code.reveal()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _forget(self, now: int) -> None:
        """Drop the codes that can confirm nothing any more (expired, used, spent)."""
        self._open = {
            key: challenge
            for key, challenge in self._open.items()
            if challenge.until >= now and not challenge.used and challenge.tries < code_tries_max
        }


def _answer(payment: Payment, template: str, **params: int) -> Verdict:
    """A step-up by code, with what the customer is told in their language."""
    text = render(template, payment.language, {name: str(value) for name, value in params.items()})
    return Verdict(STEP_UP, "", text, confirm=BY_CODE)
