"""The validation server across the NATS bus: a front's calls answered by the core's one.

Method: a real ``Validator`` on the module's platform, served by ``ValidatorServer``
on one NATS connection (the core's) and called through ``RemoteValidator`` on
another (a front's). Phones enrol through the real SMS path and sign as WebCrypto
does; what comes back is compared with what the validator says in process. A
retry is the same call id sent again; a missing server is a prefix nobody serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import pytest

from mkoba.app import Platform
from mkoba.bus.jetstream import NatsBus
from mkoba.channels.app.keqr import Payee, PayeeKind
from mkoba.channels.app.validation import AppRefused, Device, ValidationServer, wire
from mkoba.channels.app.validation.remote import (
    RemoteValidator,
    ValidationFailedError,
    ValidatorServer,
    ValidatorUnavailableError,
)
from mkoba.ports import Unavailable
from tests.channels.app.validation.phones import Clock, Phone, Phones, spki
from tests.products.world import World

pytestmark = pytest.mark.anyio


@dataclass
class Split:
    """The core's validator and server, and a front's remote validator."""

    phones: Phones
    server: ValidatorServer
    remote: RemoteValidator
    front: NatsBus

    async def bound(self) -> Phone:
        """A customer's phone enrolled and bound through the front (the SMS code read)."""
        phone = await self.phones.customer()
        enrolment, life_s = await self.remote.enrol(phone.msisdn)
        assert life_s > 0
        code = await self.phones.code(phone.msisdn)
        assert await self.remote.check_code(enrolment, code) == phone.msisdn
        phone.device = await self.remote.bind(enrolment, spki(phone.key), "Pixel 8")
        return phone


@pytest.fixture
async def split(platform: Platform, world: World, bus_url: str) -> AsyncIterator[Split]:
    phones = await Phones.start(platform, world, Clock(platform))
    core, front = NatsBus(bus_url), NatsBus(bus_url)
    await core.connect()
    await front.connect()
    server = ValidatorServer(core, phones.validator)
    await server.serve()
    yield Split(phones, server, RemoteValidator(front, timeout_s=5.0), front)
    await server.stop()
    await front.close()
    await core.close()
    await phones.validator.stop()


async def refusal(call: Awaitable[object]) -> AppRefused:
    try:
        await call
    except AppRefused as error:
        return error
    raise AssertionError("not refused")


def device(phone: Phone) -> Device:
    assert phone.device is not None
    return phone.device


def person(phone: Phone) -> Payee:
    return Payee(PayeeKind.SEND_MONEY, phone.msisdn, "AMINA WANJIRU", "NAIROBI", "6012")


async def test_a_phone_enrols_binds_and_signs_through_a_front(split: Split) -> None:
    remote: ValidationServer = split.remote
    phone = await split.bound()
    assert await remote.device(phone.device_id) == phone.device
    assert (device(phone).msisdn, device(phone).state) == (phone.msisdn, "active")
    verified = await remote.verify(*phone.sign(b'{"pin": "1234"}', "/app/api/v1/balance"))
    assert (verified.id, verified.counter) == (phone.device_id, 1)
    # Answered once its counter was committed: the front's ``durable`` waits for nothing.
    stored = await split.phones.world.rows(
        "SELECT counter FROM app_devices WHERE id = ?", (phone.device_id,)
    )
    assert stored == [(1,)]
    await remote.durable(verified)
    assert await remote.device("no-such-device") is None


async def test_a_replayed_counter_is_refused_as_in_process(split: Split) -> None:
    phone = await split.bound()
    used = phone.sign()
    await split.remote.verify(*used)
    across = await refusal(split.remote.verify(*used))
    in_process = await refusal(split.phones.validator.verify(*used))
    assert (across.code, across.status, across.message) == (
        in_process.code,
        in_process.status,
        in_process.message,
    )
    assert (across.code, across.status) == ("counter_replayed", 401)
    assert await split.remote.end_bindings(phone.msisdn, "unbind") == 1
    assert (await refusal(split.remote.verify(*phone.sign()))).code == "binding_ended"


async def test_a_payment_code_is_issued_checked_reserved_and_settled(split: Split) -> None:
    payee, payer = await split.bound(), await split.bound()
    issued = await split.remote.issue(device(payee), 15_000, "INV001", person(payee))
    assert issued.token is not None and issued.expires_ns > 0
    read = await split.remote.check(issued.payload, device(payer))
    assert read == await split.phones.validator.check(issued.payload, device(payer))
    assert (read.amount_minor, read.reference, read.payee.number) == (
        15_000,
        "INV001",
        payee.msisdn,
    )
    assert read.expires_at is not None and read.expires_at.tzinfo is not None
    taken = await split.remote.reserve(issued.payload, device(payer), "pay-1")
    assert taken.token == issued.token
    await split.remote.settle(issued.token, "pay-1", True)
    paid = await refusal(split.remote.check(issued.payload, device(payer)))
    assert (paid.code, paid.status) == ("qr_paid", 409)
    own = await refusal(split.remote.check(issued.payload, device(payee)))
    assert own.code in ("qr_paid", "qr_own")
    static = await split.remote.issue(
        device(payee), None, "", Payee(PayeeKind.BUY_GOODS, "174379", "MAMA", "NAIROBI", "5411")
    )
    assert (static.expires_ns, static.token) == (0, None)
    assert (await split.remote.check(static.payload, device(payer))).amount_minor is None


async def test_a_charge_is_made_taken_and_paid_and_refusals_keep_their_extra(split: Split) -> None:
    payer, payee = await split.bound(), await split.bound()
    charges = split.remote.charges
    digits, expires = await charges.issue(device(payer))
    assert len(digits) == 8 and expires > 0
    wrong = f"{(int(digits) + 1) % 10**8:08d}"
    guess = await refusal(charges.charge(device(payee), wrong, 100, ""))
    assert (guess.code, guess.status, guess.extra) == ("paycode_unknown", 404, {"tries_left": 9})
    made = await charges.charge(device(payee), digits, 100, "LUNCH")
    assert (made.amount, made.reference, made.state) == (100, "LUNCH", "pending")
    assert await charges.status(device(payee), made.id) == (made, "pending")
    taken = await charges.take(device(payer), made.id, "req-1")
    assert taken.state == "confirming"
    done = await charges.settle(made.id, "req-1", "RCPT1")
    assert (done.state, done.receipt) == ("paid", "RCPT1")
    assert (await charges.status(device(payer), made.id))[1] == "paid"
    again, _ = await charges.issue(device(payer))
    other = await charges.charge(device(payee), again, 50, "")
    assert (await charges.decline(device(payer), other.id)).state == "declined"
    late = await refusal(charges.take(device(payer), other.id, "req-2"))
    assert (late.code, late.status) == ("charge_done", 409)


async def test_a_call_asked_again_is_answered_once(split: Split) -> None:
    phone = await split.bound()
    signed = phone.sign()
    call_id = split.remote.new_id()
    first = await split.remote.call("verify", *signed, call_id=call_id)
    again = await split.remote.call("verify", *signed, call_id=call_id)
    assert first == again and first.counter == 1
    assert (await refusal(split.remote.verify(*signed))).code == "counter_replayed"
    payee = await split.bound()
    digits, _ = await split.remote.charges.issue(device(phone))
    made = await split.remote.charges.charge(device(payee), digits, 100, "")
    take_id = split.remote.new_id()
    taken = [
        await split.remote.call("charges.take", device(phone), made.id, "req-1", call_id=take_id)
        for _ in range(2)
    ]
    assert taken[0] == taken[1] and taken[0].state == "confirming"


async def test_malformed_calls_and_unexpected_errors_cross_as_plain_failures(split: Split) -> None:
    subject = f"{split.front.prefix}.validation"
    for body in (b"{}", b"not json", b'{"id":"x","method":"drop_tables","args":[]}'):
        answer = await split.front.client.request(subject, body, timeout=2)
        assert json.loads(answer.data)["failed"].startswith("refused: ")
    bad_amount = wire.request_bytes("y", "end_bindings", ["0712345678", "x"]).replace(
        b'"x"', b"true"
    )
    answer = await split.front.client.request(subject, bad_amount, timeout=2)
    assert json.loads(answer.data)["failed"].startswith("refused: ")
    # An unexpected error: only its type crosses (its text might hold a secret).
    with pytest.raises(ValidationFailedError) as failed:
        await split.remote.end_bindings("0712345678", "whim")
    assert str(failed.value).endswith("failed: ValueError")
    assert "whim" not in str(failed.value) and "sim_swap" not in str(failed.value)
    refused = await refusal(split.remote.enrol("12"))
    assert (refused.code, refused.status) == ("msisdn_invalid", 400)


async def test_without_a_server_a_call_is_busy_by_its_deadline(bus_url: str) -> None:
    front = NatsBus(bus_url)
    await front.connect()
    try:
        started = time.monotonic()
        with pytest.raises(ValidatorUnavailableError) as busy:
            await RemoteValidator(front, timeout_s=0.6).enrol("0712345678")
        assert isinstance(busy.value, Unavailable)
        assert 0.5 <= time.monotonic() - started < 2.0
    finally:
        await front.close()


async def test_a_server_whose_lease_is_stale_answers_nothing(split: Split) -> None:
    """A validator apart answers only while its lease is fresh (``validator_role``)."""
    phone = await split.bound()
    fresh = False
    split.server.serving = lambda: fresh
    remote = RemoteValidator(split.front, timeout_s=0.6)
    signed = phone.sign()
    with pytest.raises(ValidatorUnavailableError):
        await remote.verify(*signed)
    fresh = True  # renewed in time: it answers again, and the unanswered call moved nothing
    assert (await remote.verify(*signed)).counter == 1


def test_the_wire_refuses_what_it_does_not_expect() -> None:
    good = Device("d1", "254712345678", "Pixel", 3, "active", 10)
    body = wire.request_bytes("id1", "device", [good.id])
    assert wire.request_from(body) == ("id1", "device", ["d1"])
    assert wire.answer_from("device", wire.ok_bytes("device", good)).value == good
    for answer in (
        b'{"ok":["d1","254712345678","Pixel",true,"active",10]}',  # a bool for an int
        b'{"ok":["d1","254712345678","Pixel",3,"active"]}',  # a field missing
        b'{"ok":null,"busy":true}',
        b'{"refused":{"code":"x","message":"y"}}',
        b'{"refused":{"code":"x","message":"y","extra":{"code":1}}}',
        b"[]",
    ):
        with pytest.raises(ValueError):
            wire.answer_from("device", answer)
    with pytest.raises(ValueError):
        wire.request_from(b'{"id":"","method":"device","args":["d1"]}')
    with pytest.raises(ValueError):
        wire.request_from(b'{"id":"a","method":"verify","args":["d","1","s","POST","/","%%"]}')
