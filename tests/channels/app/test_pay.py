"""Paying a payment code through the app's routes, with the books checked after each.

The payee's phone shows a dynamic code; the payer's app reads it (the payee's name
from the directory, the amount fixed) and pays with the PIN. Every refusal leaves
the balances as they were.
"""

from __future__ import annotations

import httpx
import pytest

from mkoba.app import Platform
from mkoba.channels.app import keqr
from mkoba.parties import Party, PartyKind, Purpose, Role, account_id
from tests.channels.app.bound import bound_phone
from tests.channels.app.payloads import with_crc
from tests.channels.app.phone import AppPhone
from tests.channels.app.test_binding import refusal
from tests.products.world import BUSINESS_PIN, CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio

AMOUNT = 150 * KSH


async def issued(phone: AppPhone, amount: int = AMOUNT, reference: str = "LESSON-1") -> str:
    """A dynamic code the payee's phone shows."""
    answer = await phone.call("POST", "/codes", {"amount": amount, "reference": reference})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["svg"].lstrip().startswith("<")
    return str(body["payload"])


async def balances(world: World, *parties: Party) -> list[int]:
    return await world.balances(*(wallet(party) for party in parties))


async def test_a_tutor_is_paid_by_qr_and_the_books_balance(
    world: World, client: httpx.AsyncClient
) -> None:
    tutor, tutor_app = await bound_phone(world, client, name="Grace Tutor")
    student, student_app = await bound_phone(world, client, 1_000, name="Brian Student")
    payload = await issued(tutor_app)
    shown = await student_app.call("POST", "/codes/read", {"payload": payload})
    assert shown.status_code == 200, shown.text
    assert shown.json()["payee"]["name"] == "GRACE TUTOR"
    assert shown.json()["amount"] == AMOUNT
    assert shown.json()["reference"] == "LESSON-1"
    before = await balances(world, tutor, student)
    paid = await student_app.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN})
    assert paid.status_code == 200, paid.text
    assert paid.json()["receipt"]
    assert paid.json()["amount"] == AMOUNT
    after = await balances(world, tutor, student)
    assert after[0] - before[0] == AMOUNT
    assert before[1] - after[1] >= AMOUNT  # the amount, and the send-money fee if any
    world.check_books()


async def test_a_code_is_paid_once(world: World, client: httpx.AsyncClient) -> None:
    _, payee_app = await bound_phone(world, client)
    payer, payer_app = await bound_phone(world, client, 1_000)
    payload = await issued(payee_app)
    first = await payer_app.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN})
    assert first.status_code == 200, first.text
    after_first = await balances(world, payer)
    refusal(
        await payer_app.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN}),
        409,
        "qr_paid",
    )
    assert await balances(world, payer) == after_first


async def test_a_wrong_pin_does_not_burn_the_code(world: World, client: httpx.AsyncClient) -> None:
    _, payee_app = await bound_phone(world, client)
    payer, payer_app = await bound_phone(world, client, 1_000)
    payload = await issued(payee_app)
    wrong_pin = "0000" if CUSTOMER_PIN != "0000" else "1111"
    before = await balances(world, payer)
    wrong = await payer_app.call("POST", "/pay", {"payload": payload, "pin": wrong_pin})
    assert wrong.status_code in {401, 403}, wrong.text
    assert await balances(world, payer) == before
    right = await payer_app.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN})
    assert right.status_code == 200, right.text


async def test_a_tampered_code_moves_no_money(world: World, client: httpx.AsyncClient) -> None:
    _, payee_app = await bound_phone(world, client)
    payer, payer_app = await bound_phone(world, client, 1_000)
    payload = await issued(payee_app, amount=500 * KSH)
    # The amount lowered and the CRC recomputed, as someone altering a printed code would.
    cheaper = with_crc(payload.replace("5406500.00", "540510.00"))
    assert "540510.00" in cheaper
    before = await balances(world, payer)
    refusal(await payer_app.call("POST", "/codes/read", {"payload": cheaper}), 400, "qr_tampered")
    answer = await payer_app.call("POST", "/pay", {"payload": cheaper, "pin": CUSTOMER_PIN})
    refusal(answer, 400, "qr_tampered")
    # A misread character (CRC not recomputed) is a checksum refusal.
    refusal(
        await payer_app.call(
            "POST", "/pay", {"payload": payload.replace("NAIROBI", "NAIROBX"), "pin": CUSTOMER_PIN}
        ),
        400,
        "qr_checksum",
    )
    assert await balances(world, payer) == before


async def test_an_expired_code_is_refused(
    world: World, client: httpx.AsyncClient, platform: Platform
) -> None:
    _, payee_app = await bound_phone(world, client)
    payer, payer_app = await bound_phone(world, client, 1_000)
    payload = await issued(payee_app)
    before = await balances(world, payer)
    platform.clock.fixed = platform.clock() + 6 * 60 * 10**9
    try:
        answer = await payer_app.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN})
    finally:
        platform.clock.fixed = None
    refusal(answer, 410, "qr_expired")
    assert await balances(world, payer) == before


async def test_one_cannot_pay_ones_own_code(world: World, client: httpx.AsyncClient) -> None:
    _, phone = await bound_phone(world, client, 100)
    payload = await issued(phone)
    refusal(
        await phone.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN}), 403, "qr_own"
    )


async def test_a_static_till_code_takes_the_typed_amount(
    world: World, client: httpx.AsyncClient
) -> None:
    shop = await world.add_party(
        PartyKind.MERCHANT,
        "Campus Cafeteria",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.TILL,),
        roles=(Role.MERCHANT,),
        pin=BUSINESS_PIN,
    )
    assert shop.number is not None
    payee = keqr.Payee(keqr.PayeeKind.BUY_GOODS, shop.number, "CAFETERIA", "NAIROBI", "5814")
    payload = keqr.static_code(payee)
    _payer, payer_app = await bound_phone(world, client, 1_000)
    shown = await payer_app.call("POST", "/codes/read", {"payload": payload})
    assert shown.status_code == 200, shown.text
    assert shown.json()["payee"]["name"] == "CAMPUS CAFETERIA"  # the directory's, not the code's
    assert shown.json()["amount"] is None
    missing = await payer_app.call("POST", "/pay", {"payload": payload, "pin": CUSTOMER_PIN})
    refusal(missing, 400, "amount_missing")
    till = account_id(shop.id, Purpose.TILL)
    (before,) = await world.balances(till)
    paid = await payer_app.call(
        "POST", "/pay", {"payload": payload, "amount": 80 * KSH, "pin": CUSTOMER_PIN}
    )
    assert paid.status_code == 200, paid.text
    (after,) = await world.balances(till)
    assert after - before == 80 * KSH
    world.check_books()
