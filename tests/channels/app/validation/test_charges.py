"""Pay codes and charges in the validation server: races, restarts, the guessing window.

Method: phones bound through the real SMS path and a validator on the platform's
tables; time passing is the validator's clock; a restart is a fresh validator on
the same tables. Races run with ``asyncio.gather``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from mkoba.channels.app.validation import AppRefused, Device
from mkoba.channels.app.validation import charges as limits
from tests.channels.app.validation.phones import Phone, Phones

pytestmark = pytest.mark.anyio


def device(phone: Phone) -> Device:
    assert phone.device is not None
    return phone.device


def wrong(digits: str) -> str:
    """Other digits than ``digits``."""
    return f"{(int(digits) + 1) % 10**limits.paycode_digits:0{limits.paycode_digits}d}"


async def test_two_payees_charging_one_code_at_once_make_one_charge(phones: Phones) -> None:
    payer, first, second = await phones.bound(), await phones.bound(), await phones.bound()
    digits, _ = await phones.validator.charges.issue(device(payer))
    results = await asyncio.gather(
        phones.validator.charges.charge(device(first), digits, 100, ""),
        phones.validator.charges.charge(device(second), digits, 200, ""),
        return_exceptions=True,
    )
    made = [one for one in results if not isinstance(one, BaseException)]
    refused = [one.code for one in results if isinstance(one, AppRefused)]
    assert len(made) == 1 and refused == ["paycode_used"]


async def test_a_charge_is_taken_by_one_confirmation_only(phones: Phones) -> None:
    payer, payee = await phones.bound(), await phones.bound()
    charges = phones.validator.charges
    digits, _ = await charges.issue(device(payer))
    made = await charges.charge(device(payee), digits, 100, "")
    results = await asyncio.gather(
        charges.take(device(payer), made.id, "first"),
        charges.take(device(payer), made.id, "second"),
        return_exceptions=True,
    )
    assert sorted(type(one).__name__ for one in results) == ["AppRefused", "ChargeRow"]
    # A refused payment (a wrong PIN) gives it back; it can be taken again.
    (taken,) = [one for one in results if not isinstance(one, BaseException)]
    await charges.settle(made.id, taken.request_id, None)
    again = await charges.take(device(payer), made.id, "third")
    done = await charges.settle(made.id, again.request_id, "RCPT1")
    assert (done.state, done.receipt) == ("paid", "RCPT1")


async def test_codes_charges_and_wrong_tries_are_kept_across_a_restart(phones: Phones) -> None:
    payer, payee, guesser = await phones.bound(), await phones.bound(), await phones.bound()
    charges = phones.validator.charges
    digits, _ = await charges.issue(device(payer))
    made = await charges.charge(device(payee), digits, 100, "X")
    later, _ = await charges.issue(device(payer))
    for _ in range(limits.tries_max):
        with pytest.raises(AppRefused):
            await charges.charge(device(guesser), wrong(later), 100, "")
    await phones.validator.stop()
    again = (await Phones.validator_on(phones.platform, phones.clock)).charges
    assert (await again.status(device(payee), made.id))[1] == "pending"
    with pytest.raises(AppRefused) as used:
        await again.charge(device(payee), digits, 100, "")
    assert used.value.code == "paycode_used"
    with pytest.raises(AppRefused) as capped:
        await again.charge(device(guesser), later, 100, "")
    assert capped.value.code == "paycode_attempts"
    # The hour over, the guesser's phone may charge again (a new code: the old expired).
    phones.clock.advance(limits.tries_window_s + 1)
    fresh, _ = await again.issue(device(payer))
    assert (await again.charge(device(guesser), fresh, 100, "")).state == "pending"


async def test_no_pay_code_reaches_a_log_or_a_refusal(
    phones: Phones, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payer, payee = await phones.bound(), await phones.bound()
    charges = phones.validator.charges
    digits, _ = await charges.issue(device(payer))
    await charges.charge(device(payee), digits, 100, "")
    errors = []
    for attempt in (digits, wrong(digits)):
        with pytest.raises(AppRefused) as refused:
            await charges.charge(device(payee), attempt, 100, "")
        errors.append(refused.value)
    texts = [record.getMessage() for record in caplog.records]
    for text in texts + [str(one) for one in errors] + [repr(one) for one in errors]:
        assert digits not in text and wrong(digits) not in text
