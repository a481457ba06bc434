"""Enrolment: the SMS code, its life and tries, the rate limit, and binding a device key.

Method: a real platform (SQLite, then PostgreSQL); the code is read where the
customer reads it, in the SMS at the platform's in-memory SMSC; time passing is
the validator's clock moved on. Every refusal of the contract's enrolment part
is asked for, and what is stored is read back to see it holds no clear code.
"""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from mkoba.channels.app.validation import AppRefused, enrolments
from mkoba.codes import Code
from mkoba.commands.catalog import AppCode
from mkoba.parties import Pin, seal_pin
from mkoba.processor.request import Channel, Request
from tests.channels.app.validation.phones import Phone, Phones, b64url, spki
from tests.products.world import refused

pytestmark = pytest.mark.anyio


def other(code: str) -> str:
    """A code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def refusal(call: object) -> AppRefused:
    try:
        await call  # type: ignore[misc]
    except AppRefused as error:
        return error
    raise AssertionError("not refused")


async def test_a_customer_gets_the_code_by_sms_and_only_its_digest_is_kept(
    phones: Phones,
) -> None:
    phone = await phones.customer()
    enrolment, expires_in = await phones.validator.enrol("0" + phone.msisdn[3:])
    assert expires_in == 300
    code = await phones.code(phone.msisdn)
    stored = await phones.world.rows(
        "SELECT msisdn, digest, state FROM app_enrolments WHERE id = ?", (enrolment,)
    )
    assert stored == [(phone.msisdn, stored[0][1], "open")]
    assert code not in str(stored)
    # The SMS went out sealed, and is scrubbed once sent; the request row holds no code.
    sent = await phones.world.rows(
        "SELECT o.body, r.response, r.fingerprint FROM outbox o JOIN requests r"
        " ON r.id = o.request_id WHERE o.recipient = ? AND r.product = 'app_code'",
        (phone.msisdn,),
    )
    assert len(sent) == 1
    assert code not in str(sent)
    assert await phones.validator.check_code(enrolment, code) == phone.msisdn


async def test_an_unknown_number_gets_the_same_answer_and_no_sms(phones: Phones) -> None:
    stranger = phones.world.msisdn()
    enrolment, expires_in = await phones.validator.enrol(stranger)
    assert (len(enrolment), expires_in) == (24, 300)
    await phones.validator.drain()
    assert phones.platform.smsc.inbox(stranger) == []
    assert await phones.world.rows("SELECT id FROM outbox WHERE recipient = ?", (stranger,)) == []
    error = await refusal(phones.validator.check_code(enrolment, "123456"))
    assert (error.code, error.extra) == ("otp_wrong", {"tries_left": 4})


async def test_five_wrong_codes_kill_the_enrolment(phones: Phones) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    code = await phones.code(phone.msisdn)
    for left in (4, 3, 2, 1):
        error = await refusal(phones.validator.check_code(enrolment, other(code)))
        assert (error.code, error.extra["tries_left"], error.status) == ("otp_wrong", left, 401)
    error = await refusal(phones.validator.check_code(enrolment, "not a code"))
    assert error.code == "otp_attempts"
    # Dead: even the right code is refused now, and after a restart too.
    assert (await refusal(phones.validator.check_code(enrolment, code))).code == "otp_attempts"
    again = await Phones.validator_on(phones.platform, phones.clock)
    assert (await refusal(again.check_code(enrolment, code))).code == "otp_attempts"


async def test_wrong_tries_are_kept_across_a_restart(phones: Phones) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    code = await phones.code(phone.msisdn)
    await refusal(phones.validator.check_code(enrolment, other(code)))
    again = await Phones.validator_on(phones.platform, phones.clock)
    error = await refusal(again.check_code(enrolment, other(code)))
    assert error.extra == {"tries_left": 3}
    assert await again.check_code(enrolment, code) == phone.msisdn


async def test_a_code_lives_five_minutes(phones: Phones) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    code = await phones.code(phone.msisdn)
    phones.clock.advance(300)
    assert (await refusal(phones.validator.check_code(enrolment, code))).code == "otp_expired"


async def test_an_unknown_or_used_enrolment_is_refused(phones: Phones) -> None:
    error = await refusal(phones.validator.check_code("no-such-enrolment", "123456"))
    assert error.code == "otp_unknown"
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    code = await phones.code(phone.msisdn)
    await phones.validator.check_code(enrolment, code)
    await phones.validator.bind(enrolment, spki(phone.key), "Pixel 8")
    assert (await refusal(phones.validator.check_code(enrolment, code))).code == "otp_unknown"
    again = await refusal(phones.validator.bind(enrolment, spki(phone.key), "Pixel 8"))
    assert again.code == "otp_unknown"


async def test_three_enrolments_per_number_in_ten_minutes(phones: Phones) -> None:
    phone = await phones.customer()
    for _ in range(3):
        await phones.validator.enrol(phone.msisdn)
    error = await refusal(phones.validator.enrol(phone.msisdn))
    assert (error.code, error.status) == ("enrol_too_often", 429)
    assert len(await phones.codes(phone.msisdn, 3)) == 3
    # The limit is kept across a restart, and lifts once ten minutes have passed.
    again = await Phones.validator_on(phones.platform, phones.clock)
    assert (await refusal(again.enrol(phone.msisdn))).code == "enrol_too_often"
    phones.clock.advance(601)
    await phones.validator.enrol(phone.msisdn)


async def test_enrolments_of_all_numbers_together_are_bounded(
    phones: Phones, monkeypatch: pytest.MonkeyPatch
) -> None:
    await phones.validator.enrol(phones.world.msisdn())
    live = len(phones.validator._enrolments._rows)
    monkeypatch.setattr(enrolments, "live_enrolments_max", live)
    error = await refusal(phones.validator.enrol(phones.world.msisdn()))
    assert error.code == "enrol_too_often"


async def test_a_right_code_confirms_and_can_be_typed_again_after_a_wrong_pin(
    phones: Phones,
) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    code = await phones.code(phone.msisdn)
    assert await phones.validator.check_code(enrolment, code) == phone.msisdn
    # TranProc refused the PIN: the app sends the same code with another PIN.
    assert await phones.validator.check_code(enrolment, code) == phone.msisdn
    (state,) = await phones.world.rows(
        "SELECT state FROM app_enrolments WHERE id = ?", (enrolment,)
    )
    assert state == ("confirmed",)
    # Two minutes to bind once confirmed.
    phones.clock.advance(121)
    error = await refusal(phones.validator.bind(enrolment, spki(phone.key), "Pixel 8"))
    assert error.code == "otp_expired"


async def test_binding_needs_a_confirmed_enrolment(phones: Phones) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    error = await refusal(phones.validator.bind(enrolment, spki(phone.key), "Pixel 8"))
    assert error.code == "otp_unknown"


async def test_a_bound_device_starts_at_counter_zero_and_ends_the_earlier_one(
    phones: Phones,
) -> None:
    first = await phones.bound()
    assert first.device is not None
    assert (first.device.msisdn, first.device.counter, first.device.state) == (
        first.msisdn,
        0,
        "active",
    )
    await phones.validator.verify(*first.sign())
    second = await phones.bound(Phone(first.msisdn))
    error = await refusal(phones.validator.verify(*first.sign()))
    assert (error.code, error.status) == ("binding_ended", 401)
    await phones.validator.verify(*second.sign())
    stored = await phones.world.rows(
        "SELECT id, state, reason FROM app_devices WHERE msisdn = ? ORDER BY created",
        (first.msisdn,),
    )
    assert stored == [(first.device_id, "ended", "new_device"), (second.device_id, "active", "")]


async def test_ending_bindings_of_a_number(phones: Phones) -> None:
    phone = await phones.bound()
    assert await phones.validator.end_bindings(phone.msisdn, "sim_swap") == 1
    assert await phones.validator.end_bindings(phone.msisdn, "sim_swap") == 0
    assert (await refusal(phones.validator.verify(*phone.sign()))).code == "binding_ended"
    # A restarted validator reads the ended binding from its table.
    again = await Phones.validator_on(phones.platform, phones.clock)
    assert (await refusal(again.verify(*phone.sign()))).code == "binding_ended"


def p384_key() -> bytes:
    return spki(ec.generate_private_key(ec.SECP384R1()))  # type: ignore[arg-type]


def compressed_p256() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def ed25519_key() -> bytes:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(p384_key(), id="P-384"),
        pytest.param(ed25519_key(), id="Ed25519"),
        pytest.param(compressed_p256(), id="bare point"),
        pytest.param(b"\x30" * 90, id="garbage"),
        pytest.param(spki(ec.generate_private_key(ec.SECP256R1())) + b"\x00", id="trailing"),
        pytest.param(b"\x30" * 5000, id="huge"),
        pytest.param("not base64url!", id="text"),
    ],
)
async def test_only_a_p256_spki_key_is_bound(phones: Phones, key: bytes | str) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    await phones.validator.check_code(enrolment, await phones.code(phone.msisdn))
    error = await refusal(phones.validator.bind(enrolment, key, "Pixel 8"))
    assert (error.code, error.status) == ("key_invalid", 400)
    # The enrolment is not used up: the right key binds.
    text = b64url(spki(phone.key))
    assert (await phones.validator.bind(enrolment, text, "Pixel 8")).msisdn == phone.msisdn


@pytest.mark.parametrize("name", ["", "   ", "x" * 41, "esc\x1b[2J"])
async def test_a_device_name_is_plain_text(phones: Phones, name: str) -> None:
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    await phones.validator.check_code(enrolment, await phones.code(phone.msisdn))
    error = await refusal(phones.validator.bind(enrolment, spki(phone.key), name))
    assert error.code == "name_invalid"


async def test_a_number_that_is_no_number_is_refused(phones: Phones) -> None:
    error = await refusal(phones.validator.enrol("hello"))
    assert error.code == "msisdn_invalid"


async def test_only_the_app_channel_may_have_a_code_texted(phones: Phones) -> None:
    phone = await phones.customer()
    request = phones.validator._sender.request_for(phone.msisdn, "123456")
    answer = await phones.platform.request(request._replace(channel=Channel.API))
    refused(answer, Code.NOT_ALLOWED, "app")
    assert phones.codes_now(phone.msisdn) == 0


async def test_a_code_sealed_for_another_request_is_not_opened(phones: Phones) -> None:
    phone = await phones.customer()
    request = phones.validator._sender.request_for(phone.msisdn, "123456")
    answer = await phones.platform.request(request._replace(id=request.id + "x"))
    refused(answer, Code.INVALID_INPUT)


async def test_a_phone_gets_at_most_ten_codes_a_day(phones: Phones) -> None:
    phone = await phones.customer()
    key = phones.platform.transport_key
    for number in range(11):
        request_id = f"app-code:test:{phone.msisdn}:{number}"
        sealed = seal_pin(Pin("123456"), key, AppCode.context(request_id))
        command = AppCode(base64.urlsafe_b64encode(sealed.blob).decode().rstrip("="))
        answer = await phones.platform.request(
            Request(request_id, Channel.APP, "app_code", phone.msisdn, command)
        )
        if number < 10:
            assert answer.code is Code.OK, answer
    refused(answer, Code.LIMIT_EXCEEDED, "10 app codes a day")
    assert await phones.codes(phone.msisdn, 10) == ["123456"] * 10


async def test_the_code_never_reaches_a_log(
    phones: Phones, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    phone = await phones.customer()
    enrolment, _ = await phones.validator.enrol(phone.msisdn)
    code = await phones.code(phone.msisdn)
    wrong = await refusal(phones.validator.check_code(enrolment, other(code)))
    await phones.validator.check_code(enrolment, code)
    await phones.validator.bind(enrolment, spki(phone.key), "Pixel 8")
    await phones.validator.drain()
    request = phones.validator._sender.request_for(phone.msisdn, code)
    assert code not in repr(request)
    assert code not in str(request.fingerprint())
    assert code not in repr(wrong) + str(wrong)
    assert caplog.records, "the validator logs what it does"
    for record in caplog.records:
        assert code not in record.getMessage()
        assert enrolment not in record.getMessage()
