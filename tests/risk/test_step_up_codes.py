"""The step-up codes themselves (``risk/codes.py``): drawn at random, kept only as a keyed
hash, bound to one payment, few tries, short-lived, single use, and a bounded memory.

The whole path (a bound device, the app, TranProc) is ``tests/channels/app/
test_confirm_code.py``; these are the rules of one code, with a clock in the test's hands.
"""

from __future__ import annotations

import pickle

import pytest

from mkoba.codes import Code
from mkoba.parties.secrets import Otp
from mkoba.processor.risk_port import ALLOWED, BY_CODE, STEP_UP, Payment, code_of
from mkoba.risk import codes
from mkoba.risk.codes import Codes

MINUTE_NS = 60 * 1_000_000_000
NOW = 1_800_000_000 * 1_000_000_000


class Device:
    """What a bound device got (the app channel's ``send_code`` is the real one)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, int, int]] = []

    def __call__(self, msisdn: str, code: Otp, amount: int, minutes: int) -> None:
        self.got.append((msisdn, code.reveal(), amount, minutes))

    def last(self) -> Otp:
        return Otp(self.got[-1][1])


def payment(
    otp: Otp | None = None, *, now: int = NOW, amount: int = 600_000, language: str = "en"
) -> Payment:
    return Payment(
        "app:d1:7",
        "app",
        "send_money",
        11,
        "254712000001",
        "full",
        22,
        amount,
        now,
        language=language,
        otp=otp,
    )


def test_a_code_is_sent_to_the_device_and_kept_only_hashed() -> None:
    device, open_codes = Device(), Codes()
    verdict = open_codes.judge(payment(), 5, device)
    assert verdict.action == STEP_UP and verdict.confirm == BY_CODE
    assert code_of(verdict) is Code.CONFIRM_REQUIRED
    assert "we sent a code to your M-PESA app" in verdict.message and "5 minutes" in verdict.message
    ((msisdn, code, amount, minutes),) = device.got
    assert (msisdn, amount, minutes) == ("254712000001", 600_000, 5)
    assert code not in verdict.message
    kept = repr(open_codes._open) + repr(vars(open_codes))
    assert code not in kept and code.encode() not in b"".join(
        c.digest for c in open_codes._open.values()
    )
    assert open_codes.judge(payment(device.last(), now=NOW + MINUTE_NS), 5, device) is ALLOWED


def test_a_code_and_the_payment_it_carries_are_redacted() -> None:
    otp = Otp("493817")
    assert "493817" not in repr(payment(otp)) and "493817" not in f"{otp} {otp!r}"
    with pytest.raises(TypeError):
        pickle.dumps(otp)
    for bad in ("49381", "4938170", "49381x", "４９３８１７"):
        with pytest.raises(ValueError):
            Otp(bad)


def test_a_code_confirms_only_its_own_payment_once_and_in_time() -> None:
    device, open_codes = Device(), Codes()
    open_codes.judge(payment(), 5, device)
    code = device.last()
    other = open_codes.judge(payment(code, amount=600_001), 5, device)
    assert "No code is waiting" in other.message
    late = open_codes.judge(payment(code, now=NOW + 5 * MINUTE_NS + 1), 5, device)
    assert late.action == STEP_UP and "expired" in late.message
    open_codes.judge(payment(), 5, device)  # a new one
    code = device.last()
    assert open_codes.judge(payment(code, now=NOW + 5 * MINUTE_NS), 5, device) is ALLOWED  # in time
    again = open_codes.judge(payment(code, now=NOW + 5 * MINUTE_NS), 5, device)
    assert "used already" in again.message


def test_wrong_codes_count_and_three_spend_it_in_the_payers_language() -> None:
    device, open_codes = Device(), Codes()
    open_codes.judge(payment(language="sw"), 5, device)
    code = device.last()
    wrong = Otp(f"{(int(code.reveal()) + 1) % 10**6:06d}")
    first = open_codes.judge(payment(wrong, language="sw"), 5, device)
    assert "Nambari hiyo si sahihi" in first.message and "majaribio 2 yamebaki" in first.message
    open_codes.judge(payment(wrong), 5, device)
    spent = open_codes.judge(payment(wrong), 5, device)
    assert "after 3 wrong tries" in spent.message
    assert "no longer works" in open_codes.judge(payment(code), 5, device).message
    assert codes.code_tries_max == 3


def test_the_codes_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codes, "codes_max", 4)
    device, open_codes = Device(), Codes()
    for amount in range(1, 10):
        open_codes.judge(payment(amount=amount), 5, device)
        assert open_codes.open_count() <= 4
    # The newest is kept: its code still confirms it.
    assert open_codes.judge(payment(device.last(), amount=9), 5, device) is ALLOWED


def test_a_delivery_that_fails_is_logged_without_the_code(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[str] = []

    def broken(msisdn: str, code: Otp, amount: int, minutes: int) -> None:
        sent.append(code.reveal())
        raise ValueError(f"cannot reach {code.reveal()}")

    verdict = Codes().judge(payment(), 5, broken)
    assert verdict.action == STEP_UP  # the customer asks again for a new code
    assert "ValueError" in caplog.text and sent[0] not in caplog.text
