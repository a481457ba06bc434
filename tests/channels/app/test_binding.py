"""Device binding through the app's routes: the SMS code, the PIN, the key, signed requests.

Each refusal is checked as the app sees it (status, stable code, a sentence) and
for what it must not do: bind a device, or let a request act.
"""

from __future__ import annotations

import httpx
import pytest

from mkoba.channels.app import AppChannel
from tests.channels.app.bound import bound_phone, enrolment_code
from tests.channels.app.phone import AppPhone
from tests.products.world import CUSTOMER_PIN, World

pytestmark = pytest.mark.anyio


def app_channel(world: World) -> AppChannel:
    """The platform's app channel."""
    (found,) = [one for one in world.platform.channels if isinstance(one, AppChannel)]
    return found


def refusal(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    """The error body of a refusal, checked."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return dict(error)


async def test_a_bound_device_signs_and_is_known(world: World, client: httpx.AsyncClient) -> None:
    party, phone = await bound_phone(world, client, name="Juma Otieno")
    me = await phone.call("GET", "/me")
    assert me.status_code == 200, me.text
    assert me.json()["msisdn"] == party.msisdn
    assert me.json()["name"] == "JUMA OTIENO"


async def test_the_code_is_sent_by_sms_and_never_stored_in_clear(
    world: World, client: httpx.AsyncClient
) -> None:
    party = await world.customer()
    assert party.msisdn is not None
    phone = AppPhone(client, party.msisdn)
    before = len(await world.sms_to(party.msisdn))
    enrolment = await phone.start()
    code = await enrolment_code(world, party.msisdn, before)
    for table in ("app_enrolments", "outbox"):
        for row in await world.rows(f"SELECT * FROM {table}"):
            assert code not in " ".join(str(value) for value in row)
    assert (await phone.confirm(enrolment, code, CUSTOMER_PIN)).status_code == 201


async def test_an_unregistered_number_gets_the_same_answer_and_no_sms(
    world: World, client: httpx.AsyncClient
) -> None:
    msisdn = world.msisdn()
    answer = await client.post("/app/api/v1/enrol", json={"msisdn": msisdn})
    assert answer.status_code == 202
    assert set(answer.json()) == {"enrolment", "expires_in", "digits"}
    await app_channel(world).validator.drain()  # TranProc has answered: it sent nothing
    assert await world.sms_to(msisdn) == []


async def test_five_wrong_codes_end_the_enrolment(world: World, client: httpx.AsyncClient) -> None:
    party = await world.customer()
    assert party.msisdn is not None
    phone = AppPhone(client, party.msisdn)
    before = len(await world.sms_to(party.msisdn))
    enrolment = await phone.start()
    code = await enrolment_code(world, party.msisdn, before)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        error = refusal(await phone.confirm(enrolment, wrong, CUSTOMER_PIN), 401, "otp_wrong")
        assert error["tries_left"] == left
    refusal(await phone.confirm(enrolment, wrong, CUSTOMER_PIN), 401, "otp_attempts")
    # Even the right code now: the enrolment is dead; no device was bound.
    answer = await phone.confirm(enrolment, code, CUSTOMER_PIN)
    assert answer.status_code == 401
    assert phone.device == ""


async def test_a_wrong_pin_binds_nothing(world: World, client: httpx.AsyncClient) -> None:
    party = await world.customer()
    assert party.msisdn is not None
    phone = AppPhone(client, party.msisdn)
    before = len(await world.sms_to(party.msisdn))
    enrolment = await phone.start()
    code = await enrolment_code(world, party.msisdn, before)
    wrong_pin = "0000" if CUSTOMER_PIN != "0000" else "1111"
    answer = await phone.confirm(enrolment, code, wrong_pin)
    assert answer.status_code in {401, 403}, answer.text
    assert phone.device == ""
    assert (await phone.confirm(enrolment, code, CUSTOMER_PIN)).status_code == 201


async def test_a_replayed_request_is_refused(world: World, client: httpx.AsyncClient) -> None:
    _, phone = await bound_phone(world, client)
    assert (await phone.call("GET", "/me")).status_code == 200
    assert (await phone.call("GET", "/me")).status_code == 200
    refusal(await phone.call("GET", "/me", counter=phone.counter), 401, "counter_replayed")
    refusal(await phone.call("GET", "/me", counter=phone.counter - 1), 401, "counter_replayed")
    assert (await phone.call("GET", "/me")).status_code == 200


async def test_a_changed_body_or_another_key_does_not_verify(
    world: World, client: httpx.AsyncClient
) -> None:
    _, phone = await bound_phone(world, client, 100)
    answer = await phone.call(
        "POST", "/balance", {"pin": CUSTOMER_PIN}, sign_body=b'{"pin": "9999"}'
    )
    refusal(answer, 401, "signature_invalid")
    thief = AppPhone(client, phone.msisdn)
    thief.device, thief.counter = phone.device, phone.counter + 10
    refusal(await thief.call("GET", "/me"), 401, "signature_invalid")


async def test_unsigned_and_unknown_devices_are_refused(client: httpx.AsyncClient) -> None:
    refusal(await client.get("/app/api/v1/me"), 401, "device_unknown")
    stranger = AppPhone(client, "254700000000")
    stranger.device = "no-such-device"
    refusal(await stranger.call("GET", "/me"), 401, "device_unknown")


async def test_a_new_device_ends_the_old_binding(world: World, client: httpx.AsyncClient) -> None:
    party, old = await bound_phone(world, client)
    assert party.msisdn is not None
    new = AppPhone(client, party.msisdn)
    before = len(await world.sms_to(party.msisdn))
    enrolment = await new.start()
    code = await enrolment_code(world, party.msisdn, before)
    assert (await new.confirm(enrolment, code, CUSTOMER_PIN)).status_code == 201
    refusal(await old.call("GET", "/me"), 401, "binding_ended")
    assert (await new.call("GET", "/me")).status_code == 200


async def test_a_device_that_unbinds_itself_can_no_longer_act(
    world: World, client: httpx.AsyncClient
) -> None:
    _, phone = await bound_phone(world, client)
    answer = await phone.call("POST", "/unbind", {})
    assert answer.status_code == 200, answer.text
    refusal(await phone.call("GET", "/me"), 401, "binding_ended")


async def test_bad_bodies_get_a_reason_without_the_pin(
    world: World, client: httpx.AsyncClient
) -> None:
    _, phone = await bound_phone(world, client)
    for body, field in (({"pin": "12a4"}, "pin"), ({"pin": CUSTOMER_PIN, "extra": 1}, "extra")):
        error = refusal(await phone.call("POST", "/balance", body), 400, "invalid_input")
        assert field in str(error["message"])
        assert "12a4" not in str(error["message"])
