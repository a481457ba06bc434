"""Payment codes: a dynamic code bound to the payee's device, paid once, and every refusal.

Method: two phones bound through the real SMS path; the payee's app has a code
issued, the payer's app reads and takes it. Tampering is done as an attacker
would: the code rewritten with ``keqr`` (a fresh CRC), keeping or dropping the
MAC. Reserves race with ``asyncio.gather``; time passing is the validator's clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta

import pytest

from mkoba.channels.app import keqr
from mkoba.channels.app.keqr import Payee, PayeeKind, PaymentCode
from mkoba.channels.app.validation import AppRefused, Device
from mkoba.channels.app.validation.tokens import moment
from tests.channels.app.payloads import with_crc
from tests.channels.app.validation.phones import Phone, Phones

pytestmark = pytest.mark.anyio

TILL = Payee(PayeeKind.BUY_GOODS, "174379", "MAMA MBOGA", "NAIROBI", "5411")


async def refusal(call: Awaitable[object]) -> AppRefused:
    try:
        await call
    except AppRefused as error:
        return error
    raise AssertionError("not refused")


def person(phone: Phone) -> Payee:
    """What a person's code shows: their number and name."""
    return Payee(PayeeKind.SEND_MONEY, phone.msisdn, "AMINA WANJIRU", "NAIROBI", "6012")


async def two_phones(phones: Phones) -> tuple[Phone, Phone]:
    return await phones.bound(), await phones.bound()


async def issued(phones: Phones, payee: Phone, amount: int = 15_000) -> str:
    assert payee.device is not None
    code = await phones.validator.issue(payee.device, amount, "INV001", person(payee))
    return code.payload


def device(phone: Phone) -> Device:
    assert phone.device is not None
    return phone.device


async def test_a_dynamic_code_reads_back_as_issued_and_is_paid_once(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    code = await phones.validator.issue(device(payee), 15_000, "INV001", person(payee))
    # Five minutes, to the second (the code says the expiry in seconds).
    assert 299 * 10**9 < code.expires_ns - phones.clock() <= 300 * 10**9
    assert code.expires_ns % 10**9 == 0
    read = await phones.validator.check(code.payload, device(payer))
    assert (read.amount_minor, read.reference, read.payee.number) == (
        15_000,
        "INV001",
        payee.msisdn,
    )
    assert read.token == code.token
    taken = await phones.validator.reserve(code.payload, device(payer), "pay-1")
    assert taken == read
    # A second payment of the same code, while the first is in TranProc's hands.
    error = await refusal(phones.validator.reserve(code.payload, device(payer), "pay-2"))
    assert (error.code, error.status) == ("qr_paid", 409)
    assert (await refusal(phones.validator.check(code.payload, device(payer)))).code == "qr_paid"
    assert code.token is not None
    await phones.validator.settle(code.token, "pay-1", paid=True)
    error = await refusal(phones.validator.reserve(code.payload, device(payer), "pay-3"))
    assert error.code == "qr_paid"
    await phones.validator.drain()  # rows the validator did not wait for
    stored = await phones.world.rows(
        "SELECT state, request_id, amount, msisdn FROM app_tokens WHERE device_id = ?",
        (payee.device_id,),
    )
    assert stored == [("paid", "pay-1", 15_000, payee.msisdn)]
    assert code.token not in str(stored)


async def test_a_refused_payment_leaves_the_code_payable(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    code = await phones.validator.issue(device(payee), 5_000, "LUNCH", person(payee))
    assert code.token is not None
    await phones.validator.reserve(code.payload, device(payer), "wrong-pin")
    await phones.validator.settle(code.token, "wrong-pin", paid=False)
    await phones.validator.reserve(code.payload, device(payer), "right-pin")
    await phones.validator.settle(code.token, "right-pin", paid=True)
    # A retry of the settling request is answered as before; another request's is not.
    await phones.validator.settle(code.token, "right-pin", paid=True)
    error = await refusal(phones.validator.settle(code.token, "wrong-pin", paid=True))
    assert error.code == "qr_paid"


async def test_a_retried_reserve_of_the_same_request_keeps_the_code(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    payload = await issued(phones, payee)
    await phones.validator.reserve(payload, device(payer), "pay-1")
    assert (await phones.validator.reserve(payload, device(payer), "pay-1")).amount_minor


async def test_of_reserves_racing_exactly_one_takes_the_code(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    payload = await issued(phones, payee)
    outcomes = await asyncio.gather(
        *(phones.validator.reserve(payload, device(payer), f"pay-{n}") for n in range(10)),
        return_exceptions=True,
    )
    taken = [outcome for outcome in outcomes if isinstance(outcome, PaymentCode)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, AppRefused)]
    assert len(taken) == 1
    assert [error.code for error in refused] == ["qr_paid"] * 9


async def test_a_changed_amount_with_a_fresh_crc_is_tampered(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    payload = await issued(phones, payee, 15_000)
    read = keqr.read_code(payload, keqr_now(phones))
    assert read.token is not None and read.expires_at is not None
    for changes in (
        {"amount_minor": 1_500},
        {"reference": "INV002"},
        {"payee": dataclasses.replace(read.payee, name="THIEF")},
        {"payee": dataclasses.replace(read.payee, number="254700000001")},
        {"payee": dataclasses.replace(read.payee, city="MOMBASA")},
        {"expires_at": read.expires_at + timedelta(hours=1)},
        {"signature": None},
        {"signature": "A" * 22},
    ):
        forged = dataclasses.replace(read, **changes)
        assert forged.amount_minor is not None and forged.reference and forged.token
        assert forged.expires_at is not None
        text = keqr.dynamic_code(
            forged.payee,
            forged.amount_minor,
            forged.reference,
            forged.expires_at,
            forged.token,
            forged.signature,
        )
        error = await refusal(phones.validator.check(text, device(payer)))
        assert error.code == "qr_tampered", changes
        error = await refusal(phones.validator.reserve(text, device(payer), "pay-forged"))
        assert error.code == "qr_tampered", changes
    # The true code is still payable.
    await phones.validator.reserve(payload, device(payer), "pay-true")


def keqr_now(phones: Phones) -> datetime:
    return moment(phones.clock())


async def test_a_code_we_never_issued_is_unknown(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    read = keqr.read_code(await issued(phones, payee), keqr_now(phones))
    assert read.expires_at is not None and read.reference
    text = keqr.dynamic_code(
        read.payee, 15_000, read.reference, read.expires_at, "Z" * 24, read.signature
    )
    error = await refusal(phones.validator.check(text, device(payer)))
    assert (error.code, error.status) == ("qr_unknown", 404)


async def test_a_code_expires_after_five_minutes(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    payload = await issued(phones, payee)
    phones.clock.advance(301)
    error = await refusal(phones.validator.check(payload, device(payer)))
    assert (error.code, error.status) == ("qr_expired", 410)
    error = await refusal(phones.validator.reserve(payload, device(payer), "late"))
    assert error.code == "qr_expired"


async def test_a_code_read_before_it_expired_is_refused_once_it_has(phones: Phones) -> None:
    """The payer's app read it in time (its reading is kept), then paid too late."""
    payee, payer = await two_phones(phones)
    payload = await issued(phones, payee)
    shown = await phones.validator.check(payload, device(payer))
    assert shown.amount_minor is not None
    phones.clock.advance(299)
    assert await phones.validator.check(payload, device(payer)) == shown
    phones.clock.advance(2)
    error = await refusal(phones.validator.reserve(payload, device(payer), "late"))
    assert (error.code, error.status) == ("qr_expired", 410)
    assert "expired" in error.message


async def test_ones_own_code_is_not_paid(phones: Phones) -> None:
    payee = await phones.bound()
    payload = await issued(phones, payee)
    error = await refusal(phones.validator.check(payload, device(payee)))
    assert error.code == "qr_own"
    assert (await refusal(phones.validator.reserve(payload, device(payee), "own"))).code == "qr_own"


async def test_a_code_whose_payee_binding_ended_is_withdrawn(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    payload = await issued(phones, payee)
    await phones.validator.end_bindings(payee.msisdn, "sim_swap")
    error = await refusal(phones.validator.check(payload, device(payer)))
    assert error.code == "qr_unknown"


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda text: text[:-1] + ("0" if text[-1] != "0" else "1"), "qr_checksum"),
        (lambda text: "hello", "qr_malformed"),
        (lambda text: with_crc(text.replace("5303404", "5303840")), "qr_unsupported"),
        (lambda text: with_crc(text.replace("0202SM", "0202XX")), "qr_invalid"),
    ],
)
async def test_a_damaged_code_is_refused_for_what_is_wrong(
    phones: Phones, damage: object, code: str
) -> None:
    payee, payer = await two_phones(phones)
    payload = damage(await issued(phones, payee))  # type: ignore[operator]
    error = await refusal(phones.validator.check(payload, device(payer)))
    assert (error.code, error.status) == (code, 400)


async def test_a_static_code_is_checked_for_its_format_only(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    code = await phones.validator.issue(device(payee), None, "", TILL)
    assert (code.expires_ns, code.token) == (0, None)
    read = await phones.validator.check(code.payload, device(payer))
    assert (read.dynamic, read.payee) == (False, TILL)
    # Reusable: any number of payments.
    for request_id in ("till-1", "till-2"):
        assert (await phones.validator.reserve(code.payload, device(payer), request_id)) == read


async def test_a_person_has_no_static_code_and_only_their_own_number(phones: Phones) -> None:
    payee = await phones.bound()
    error = await refusal(phones.validator.issue(device(payee), None, "", person(payee)))
    assert error.code == "qr_invalid"
    someone = dataclasses.replace(person(payee), number="254700000001")
    error = await refusal(phones.validator.issue(device(payee), 100, "X", someone))
    assert error.code == "qr_invalid"
    for amount in (0, -5):
        error = await refusal(phones.validator.issue(device(payee), amount, "X", person(payee)))
        assert error.code == "qr_invalid"


async def test_tokens_are_kept_across_a_restart(phones: Phones) -> None:
    payee, payer = await two_phones(phones)
    paid = await phones.validator.issue(device(payee), 100, "A", person(payee))
    open_ = await issued(phones, payee)
    assert paid.token is not None
    await phones.validator.reserve(paid.payload, device(payer), "before-restart")
    await phones.validator.settle(paid.token, "before-restart", paid=True)
    await phones.validator.stop()  # a restart: the old one stops first
    again = await Phones.validator_on(phones.platform, phones.clock)
    assert (await refusal(again.reserve(paid.payload, device(payer), "after"))).code == "qr_paid"
    assert (await again.reserve(open_, device(payer), "after")).amount_minor == 15_000


async def test_no_token_reaches_a_log(phones: Phones, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    payee, payer = await two_phones(phones)
    code = await phones.validator.issue(device(payee), 100, "A", person(payee))
    assert code.token is not None
    await phones.validator.reserve(code.payload, device(payer), "pay")
    errors = [await refusal(phones.validator.check(code.payload, device(payer)))]
    errors.append(await refusal(phones.validator.check(code.payload[:-3] + "XYZ", device(payer))))
    assert code.token not in repr(code)
    for text in [record.getMessage() for record in caplog.records] + [str(e) for e in errors]:
        assert code.token not in text
