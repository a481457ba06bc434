"""Money requests: a tutor asks a parent for the lesson's fee; the parent pays or declines.

Method: a Kenya world (send money of Ksh500 costs Ksh7; requests live 7 days,
20 open at most per requester). The test reads the request number from the
payer's SMS, as the payer would, and pays it; it checks that asking moves no
money, that paying is a send (balances, fee, receipt, both SMS) that marks the
request paid once, even when two pays race, every refusal with no money moved,
declining, lapsing, and the app's list of requests.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mkoba.codes import Code
from mkoba.parties import Party, PartyState
from mkoba.processor.request import Response
from tests.products.world import CUSTOMER_PIN, EXCISE, FEES, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio
DAY_NS = 86_400 * 1_000_000_000


@pytest.fixture(scope="module")
async def ready(world: World) -> World:
    return await world.setup()


async def ask_for(
    world: World, requester: Party, payer: Party | str, amount: str = "500", **extra: str
) -> Response:
    assert requester.msisdn
    number = payer if isinstance(payer, str) else payer.msisdn
    assert number
    pin = extra.pop("pin", CUSTOMER_PIN)
    return await world.ask(
        "request_money", requester.msisdn, pin, payer=number, amount=amount, **extra
    )


async def number_sent_to(world: World, payer: Party) -> str:
    """The request number in the payer's last SMS, as they read it."""
    texts = await world.sms_to(payer.msisdn or "")
    found = re.search(r"request number (\d{8})", texts[-1])
    assert found is not None, texts
    return found.group(1)


async def pay(world: World, payer: Party, number: str, **extra: str) -> Response:
    assert payer.msisdn
    pin = extra.pop("pin", CUSTOMER_PIN)
    return await world.ask("pay_request", payer.msisdn, pin, number=number, **extra)


@contextmanager
def later(world: World, ns: int) -> Iterator[None]:
    """The platform's clock ``ns`` ahead, for one block."""
    world.platform.clock.fixed = world.platform.clock() + ns
    try:
        yield
    finally:
        world.platform.clock.fixed = None


async def test_a_request_reaches_the_payer_and_moves_no_money(ready: World) -> None:
    world = ready
    tutor = await world.customer(0, name="Baraka Mwangi")
    parent = await world.customer(2_000, name="Zawadi Achieng")
    before = await world.balances(wallet(tutor), wallet(parent), FEES)
    response = await ask_for(world, tutor, parent, "500", note="Maths lesson")
    assert response.code is Code.OK, response
    assert response.receipt is None
    number = response.data["number"]
    assert re.fullmatch(r"\d{8}", number)
    assert response.data["amount"] == 500 * KSH
    assert f"Request {number} for Ksh500.00 sent to ZAWADI ACHIENG" in response.message
    assert await world.balances(wallet(tutor), wallet(parent), FEES) == before
    (sms,) = await world.sms(response.request_id)
    assert sms.recipient == parent.msisdn
    assert sms.body.startswith(f"BARAKA MWANGI 0{tutor.msisdn[3:]} asks you for Ksh500.00.")
    assert f'"Maths lesson" To pay, use request number {number}' in sms.body
    assert await number_sent_to(world, parent) == number
    rows = await world.rows(
        "SELECT requester_id, payer_id, amount, state, expires - created FROM money_requests"
        " WHERE request_id = ?",
        (response.request_id,),
    )
    assert rows == [(tutor.id, parent.id, 500 * KSH, "open", 7 * DAY_NS)]


async def test_paying_a_request_is_a_send_and_marks_it_paid(ready: World) -> None:
    world = ready
    tutor = await world.customer(0, name="Baraka Mwangi")
    parent = await world.customer(2_000, name="Zawadi Achieng")
    asked = await ask_for(world, tutor, parent, "500")
    number = asked.data["number"]
    fees = sum(await world.balances(FEES, EXCISE))
    paid = await pay(world, parent, number)
    assert paid.code is Code.OK, paid
    assert paid.receipt is not None
    assert f"Ksh500.00 paid to BARAKA MWANGI 0{tutor.msisdn[3:]} for request {number}" in (
        paid.message
    )
    assert await world.balances(wallet(parent), wallet(tutor)) == [1_493 * KSH, 500 * KSH]
    assert sum(await world.balances(FEES, EXCISE)) == fees + 7 * KSH
    receipt = await world.receipt(paid.receipt)
    assert (receipt["product"], receipt["amount"], receipt["fee"], receipt["reference"]) == (
        "pay_request",
        500 * KSH,
        7 * KSH,
        number,
    )
    assert (receipt["payer_id"], receipt["payee_id"]) == (parent.id, tutor.id)
    texts = {sms.recipient: sms.body for sms in await world.sms(paid.request_id)}
    assert "Ksh500.00 paid to BARAKA MWANGI" in texts[parent.msisdn]
    assert "New M-PESA balance is Ksh1,493.00. Transaction cost, Ksh7.00." in texts[parent.msisdn]
    assert (
        f"ZAWADI ACHIENG 0{parent.msisdn[3:]} has paid your request {number}"
        in (texts[tutor.msisdn])
    )
    state = await world.rows(
        "SELECT state, settled_receipt FROM money_requests WHERE request_id = ?",
        (asked.request_id,),
    )
    assert state == [("paid", paid.receipt)]
    refused(await pay(world, parent, number), Code.REQUEST_NOT_FOUND, "already been paid")
    replay = await pay(world, parent, number, request_id=paid.request_id)
    assert replay == paid
    assert await world.balances(wallet(parent), wallet(tutor)) == [1_493 * KSH, 500 * KSH]


async def test_two_pays_of_one_request_at_once_pay_once(ready: World) -> None:
    world = ready
    tutor = await world.customer(0)
    parent = await world.customer(3_000)
    number = (await ask_for(world, tutor, parent, "1000")).data["number"]
    answers = await asyncio.gather(pay(world, parent, number), pay(world, parent, number))
    assert sorted(answer.code for answer in answers) == [Code.OK, Code.REQUEST_NOT_FOUND]
    assert await world.balances(wallet(tutor)) == [1_000 * KSH]
    # Ksh1,000 costs Ksh13 to send.
    assert await world.balances(wallet(parent)) == [(3_000 - 1_013) * KSH]


async def test_asking_refusals(ready: World) -> None:
    world = ready
    tutor = await world.customer(100)
    parent = await world.customer(100)
    refused(await ask_for(world, tutor, tutor), Code.SAME_ACCOUNT, "yourself")
    refused(await ask_for(world, tutor, world.msisdn()), Code.RECIPIENT_NOT_REGISTERED)
    refused(await ask_for(world, tutor, parent, "0.50"), Code.BELOW_MINIMUM, "Ksh1.00")
    refused(await ask_for(world, tutor, parent, "250,001"), Code.ABOVE_MAXIMUM, "Ksh250,000.00")
    refused(await ask_for(world, tutor, parent, pin="0000"), Code.WRONG_PIN)
    refused(await ask_for(world, tutor, parent, note="x" * 61), Code.INVALID_INPUT, "note")
    refused(await ask_for(world, tutor, "0800"), Code.INVALID_INPUT, "payer")
    frozen = await world.set_state(await world.customer(0), PartyState.FROZEN)
    refused(await ask_for(world, tutor, frozen), Code.ACCOUNT_INACTIVE, "cannot pay requests")
    assert not any("asks you" in text for text in await world.sms_to(parent.msisdn or ""))
    assert await world.rows(
        "SELECT COUNT(*) FROM money_requests WHERE requester_id = ?", (tutor.id,)
    ) == [(0,)]


async def test_open_requests_are_capped_per_requester(ready: World) -> None:
    world = ready
    spammer = await world.customer(0)
    target = await world.customer(0)
    for _ in range(20):
        assert (await ask_for(world, spammer, target, "10")).ok
    refused(await ask_for(world, spammer, target, "10"), Code.NOT_ALLOWED, "20 open requests")
    # One declined frees a place.
    first = (await world.sms_to(target.msisdn or ""))[1]  # after the welcome
    found = re.search(r"request number (\d{8})", first)
    assert found is not None
    declined = await world.ask(
        "decline_request", target.msisdn or "", CUSTOMER_PIN, number=found.group(1)
    )
    assert declined.ok, declined
    assert (await ask_for(world, spammer, target, "10")).ok


async def test_paying_refusals_move_no_money(ready: World) -> None:
    world = ready
    tutor = await world.customer(0)
    parent = await world.customer(100)
    stranger = await world.customer(5_000)
    number = (await ask_for(world, tutor, parent, "500")).data["number"]
    refused(await pay(world, parent, "12345"), Code.INVALID_INPUT, "8 digits")
    other = f"{(int(number) + 1) % 10**8:08d}"
    refused(await pay(world, parent, other), Code.REQUEST_NOT_FOUND)
    # Only the payer asked can pay it: to anyone else the number means nothing.
    refused(await pay(world, stranger, number), Code.REQUEST_NOT_FOUND)
    refused(await pay(world, parent, number, pin="0000"), Code.WRONG_PIN)
    refused(await pay(world, parent, number), Code.INSUFFICIENT_FUNDS)
    assert await world.balances(wallet(parent), wallet(tutor), wallet(stranger)) == [
        100 * KSH,
        0,
        5_000 * KSH,
    ]
    # Still open: the payer pays once they have the money.
    await world.deposit(parent, 500 * KSH)
    assert (await pay(world, parent, number)).ok


async def test_the_payer_declines(ready: World) -> None:
    world = ready
    tutor = await world.customer(0, name="Baraka Mwangi")
    parent = await world.customer(1_000, name="Zawadi Achieng")
    number = (await ask_for(world, tutor, parent, "300")).data["number"]
    assert parent.msisdn
    declined = await world.ask("decline_request", parent.msisdn, CUSTOMER_PIN, number=number)
    assert declined.code is Code.OK, declined
    assert declined.data == {"number": number, "state": "declined"}
    (sms,) = await world.sms(declined.request_id)
    assert sms.recipient == tutor.msisdn
    assert f"ZAWADI ACHIENG 0{parent.msisdn[3:]} has declined your request {number}" in sms.body
    refused(await pay(world, parent, number), Code.REQUEST_NOT_FOUND, "was declined")
    again = await world.ask("decline_request", parent.msisdn, CUSTOMER_PIN, number=number)
    refused(again, Code.REQUEST_NOT_FOUND, "was declined")
    assert await world.balances(wallet(parent), wallet(tutor)) == [1_000 * KSH, 0]


async def test_a_request_lapses_after_seven_days(ready: World) -> None:
    world = ready
    tutor = await world.customer(0)
    parent = await world.customer(1_000)
    number = (await ask_for(world, tutor, parent, "300")).data["number"]
    with later(world, 7 * DAY_NS - 60 * 10**9):
        almost = await world.ask("my_requests", parent.msisdn or "", CUSTOMER_PIN)
    assert [r["state"] for r in almost.data["to_me"] if r["number"] == number] == ["open"]
    with later(world, 7 * DAY_NS + 1):
        refused(await pay(world, parent, number), Code.REQUEST_NOT_FOUND, "has lapsed")
    assert await world.balances(wallet(parent), wallet(tutor)) == [1_000 * KSH, 0]


async def test_my_requests_lists_both_directions(ready: World) -> None:
    world = ready
    me = await world.customer(1_000, name="Imani Njeri")
    tutor = await world.customer(0, name="Baraka Mwangi")
    friend = await world.customer(0, name="Otieno Odhiambo")
    to_me = (await ask_for(world, tutor, me, "200", note="Lesson")).data["number"]
    from_me = (await ask_for(world, me, friend, "150")).data["number"]
    assert (await pay(world, me, to_me)).ok
    assert me.msisdn
    listed = await world.ask("my_requests", me.msisdn, CUSTOMER_PIN)
    assert listed.code is Code.OK, listed
    (mine,) = listed.data["to_me"]
    assert (mine["number"], mine["amount"], mine["state"], mine["other"], mine["note"]) == (
        to_me,
        200 * KSH,
        "paid",
        "BARAKA MWANGI",
        "Lesson",
    )
    assert mine["receipt"]
    (theirs,) = listed.data["from_me"]
    assert (theirs["number"], theirs["state"], theirs["other_msisdn"]) == (
        from_me,
        "open",
        friend.msisdn,
    )
    assert listed.data["bills"] == []
    refused(await world.ask("my_requests", me.msisdn, "0000"), Code.WRONG_PIN)


async def test_the_books_balance(ready: World) -> None:
    ready.check_books()
