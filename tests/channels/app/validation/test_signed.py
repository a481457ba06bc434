"""Signed requests: the device key, the contract's text, and a counter used once.

Method: phones enrolled through the real SMS path sign as WebCrypto does (raw
``r || s``, base64url) over the contract's text, written out in the test. Each
refusal of the contract's signed part is provoked; duplicates race with
``asyncio.gather``; a restarted validator reads counters back from the table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from mkoba.channels.app.validation import AppRefused, Device
from tests.channels.app.validation.phones import Phones, b64url, signed_text, webcrypto_sign

pytestmark = pytest.mark.anyio


async def refusal(call: Awaitable[object]) -> AppRefused:
    try:
        await call
    except AppRefused as error:
        return error
    raise AssertionError("not refused")


async def test_a_signed_request_passes_and_its_counter_is_stored(phones: Phones) -> None:
    phone = await phones.bound()
    device = await phones.validator.verify(*phone.sign(b'{"pin": "1234"}', "/app/api/v1/balance"))
    assert (device.id, device.msisdn, device.counter) == (phone.device_id, phone.msisdn, 1)
    await phones.validator.drain()  # rows the validator did not wait for
    stored = await phones.world.rows(
        "SELECT counter FROM app_devices WHERE id = ?", (phone.device_id,)
    )
    assert stored == [(1,)]


async def test_a_replayed_or_older_counter_is_refused(phones: Phones) -> None:
    phone = await phones.bound()
    first = phone.sign()
    phone.sign()
    second = phone.sign()
    await phones.validator.verify(*second)
    error = await refusal(phones.validator.verify(*second))
    assert (error.code, error.status) == ("counter_replayed", 401)
    # Counter 1 was never used, but 3 was: only numbers above the last are taken.
    assert (await refusal(phones.validator.verify(*first))).code == "counter_replayed"
    # A counter may jump (a request the server never saw).
    phone.counter = 1000
    assert (await phones.validator.verify(*phone.sign())).counter == 1001


async def test_a_counter_is_kept_across_a_restart(phones: Phones) -> None:
    phone = await phones.bound()
    used = phone.sign()
    await phones.validator.verify(*used)
    await phones.validator.stop()  # a restart: the old one stops first
    again = await Phones.validator_on(phones.platform, phones.clock)
    assert (await refusal(again.verify(*used))).code == "counter_replayed"
    assert (await again.verify(*phone.sign())).counter == 2


async def test_another_key_or_a_changed_request_does_not_verify(phones: Phones) -> None:
    phone = await phones.bound()
    device, counter, signature, method, path, body = phone.sign(b'{"amount": 100}')
    for changed in (
        (device, counter, signature, method, path, b'{"amount": 900}'),
        (device, counter, signature, "GET", path, body),
        (device, counter, signature, method, "/app/api/v1/pay", body),
        (device, str(int(counter) + 1), signature, method, path, body),
    ):
        error = await refusal(phones.validator.verify(*changed))
        assert (error.code, error.status) == ("signature_invalid", 401)
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = webcrypto_sign(stranger, signed_text(method, path, device, int(counter), body))
    error = await refusal(phones.validator.verify(device, counter, forged, method, path, body))
    assert error.code == "signature_invalid"
    # A refused signature does not use the counter up: nobody proved they own it.
    assert (await phones.validator.verify(device, counter, signature, method, path, body)).counter


async def test_a_der_signature_is_not_webcrypto_s(phones: Phones) -> None:
    phone = await phones.bound()
    device, counter, _, method, path, body = phone.sign()
    der = phone.key.sign(
        signed_text(method, path, device, int(counter), body), ec.ECDSA(hashes.SHA256())
    )
    error = await refusal(phones.validator.verify(device, counter, b64url(der), method, path, body))
    assert error.code == "signature_invalid"


@pytest.mark.parametrize(
    "counter",
    ["0", "-1", "01", "1.5", "", "9007199254740993", "12345678901234567", "١٢", " 1"],
)
async def test_a_counter_is_a_decimal_from_1_to_2_53(phones: Phones, counter: str) -> None:
    phone = await phones.bound()
    device, _, _, method, path, body = phone.sign()
    text = f"mkoba-app-v1\n{method}\n{path}\n{device}\n{counter}\n".encode()
    signature = webcrypto_sign(phone.key, text)
    error = await refusal(phones.validator.verify(device, counter, signature, method, path, body))
    assert error.code == "signature_invalid"


async def test_the_largest_counter_is_2_53(phones: Phones) -> None:
    phone = await phones.bound()
    phone.counter = 2**53 - 1
    assert (await phones.validator.verify(*phone.sign())).counter == 2**53


async def test_an_unknown_device_is_refused(phones: Phones) -> None:
    phone = await phones.bound()
    _, counter, signature, method, path, body = phone.sign()
    for device in ("unknown-device-id", "x" * 65, "../../etc", ""):
        error = await refusal(
            phones.validator.verify(device, counter, signature, method, path, body)
        )
        assert (error.code, error.status) == ("device_unknown", 401)


async def test_of_duplicate_requests_racing_exactly_one_passes(phones: Phones) -> None:
    phone = await phones.bound()
    request = phone.sign()
    outcomes = await asyncio.gather(
        *(phones.validator.verify(*request) for _ in range(10)), return_exceptions=True
    )
    passed = [outcome for outcome in outcomes if isinstance(outcome, Device)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, AppRefused)]
    assert len(passed) == 1
    assert {error.code for error in refused} == {"counter_replayed"}
    assert len(refused) == 9


async def test_requests_racing_with_rising_counters_all_pass(phones: Phones) -> None:
    phone = await phones.bound()
    requests = [phone.sign() for _ in range(10)]
    outcomes = await asyncio.gather(*(phones.validator.verify(*one) for one in requests))
    assert [device.counter for device in outcomes] == list(range(1, 11))
    await phones.validator.drain()  # rows the validator did not wait for
    stored = await phones.world.rows(
        "SELECT counter FROM app_devices WHERE id = ?", (phone.device_id,)
    )
    assert stored == [(10,)]
