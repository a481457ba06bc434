"""Pay by code (customer-presented) through the app's routes, with the books checked.

The payer's phone shows a pay code; the payee's phone charges it with an amount;
the payer's phone hears of the charge and confirms it with the PIN. Every refusal
moves no money.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

import httpx
import pytest

from mkoba.app import Platform
from mkoba.channels.app.notices import Notice
from mkoba.channels.app.validation import charges
from tests.channels.app.bound import bound_phone
from tests.channels.app.phone import AppPhone
from tests.channels.app.test_binding import app_channel, refusal
from tests.channels.app.test_pay import balances
from tests.products.world import CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio

AMOUNT = 120 * KSH
NS = 1_000_000_000


async def shown(phone: AppPhone) -> str:
    """The digits of a pay code the payer's phone shows."""
    answer = await phone.call("POST", "/paycodes", {})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert len(body["code"]) == charges.paycode_digits and body["code"].isdigit()
    assert body["payload"] == "mkoba:pay:" + body["code"]
    assert body["svg"].lstrip().startswith("<")
    return str(body["code"])


async def charged(payee: AppPhone, code: str, amount: int = AMOUNT) -> str:
    """The id of a pending charge the payee's phone made."""
    answer = await payee.call(
        "POST", "/paycodes/charge", {"code": code, "amount": amount, "reference": "CHAI"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "pending"
    return str(answer.json()["charge"])


def heard(queue: asyncio.Queue[Notice]) -> list[Notice]:
    """The notices a phone's stream has been given so far."""
    notices = []
    while not queue.empty():
        notices.append(queue.get_nowait())
    return notices


async def test_a_payer_confirms_a_charge_on_their_pay_code(
    world: World, client: httpx.AsyncClient
) -> None:
    payer, payer_app = await bound_phone(world, client, 1_000, name="Brian Student")
    payee, payee_app = await bound_phone(world, client, name="Mama Mboga")
    assert payer.msisdn is not None and payee.msisdn is not None
    notices = app_channel(world).notices
    with ExitStack() as stack:
        payer_queue = stack.enter_context(notices.listen(payer.msisdn))
        payee_queue = stack.enter_context(notices.listen(payee.msisdn))
        code = await shown(payer_app)
        charge = await charged(payee_app, code)
        (asked,) = heard(payer_queue)
        assert asked.event == "charge"
        assert asked.data["charge"] == charge
        assert asked.data["payee"] == "MAMA MBOGA"
        assert asked.data["amount"] == AMOUNT
        assert asked.data["reference"] == "CHAI"
        before = await balances(world, payer, payee)
        answer = await payer_app.call(
            "POST", "/charges/confirm", {"charge": charge, "pin": CUSTOMER_PIN}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "paid"
        receipt = answer.json()["receipt"]
        assert receipt
        after = await balances(world, payer, payee)
        assert after[1] - before[1] == AMOUNT
        assert before[0] - after[0] >= AMOUNT  # the amount, and the send-money fee if any
        world.check_books()
        (paid_out,) = heard(payer_queue)
        (paid_in,) = heard(payee_queue)
    assert (paid_out.event, paid_out.data["direction"]) == ("payment", "out")
    assert (paid_in.event, paid_in.data["direction"]) == ("payment", "in")
    assert paid_in.data["receipt"] == receipt and paid_in.data["other"] == "BRIAN STUDENT"
    status = await payee_app.call("POST", "/charges/status", {"charge": charge})
    assert status.json()["state"] == "paid" and status.json()["receipt"] == receipt
    # Confirmed once: a second confirmation moves nothing.
    again = await payer_app.call(
        "POST", "/charges/confirm", {"charge": charge, "pin": CUSTOMER_PIN}
    )
    refusal(again, 409, "charge_done")
    assert await balances(world, payer, payee) == after


async def test_a_pay_code_is_charged_once(world: World, client: httpx.AsyncClient) -> None:
    _, payer_app = await bound_phone(world, client, 1_000)
    _, payee_app = await bound_phone(world, client)
    code = await shown(payer_app)
    await charged(payee_app, code)
    answer = await payee_app.call("POST", "/paycodes/charge", {"code": code, "amount": AMOUNT})
    assert refusal(answer, 409, "paycode_used")["tries_left"] == charges.tries_max - 1


async def test_a_new_pay_code_withdraws_the_one_shown_before(
    world: World, client: httpx.AsyncClient
) -> None:
    _, payer_app = await bound_phone(world, client, 1_000)
    _, payee_app = await bound_phone(world, client)
    first = await shown(payer_app)
    second = await shown(payer_app)
    answer = await payee_app.call("POST", "/paycodes/charge", {"code": first, "amount": AMOUNT})
    refusal(answer, 409, "paycode_used")
    await charged(payee_app, second)


async def test_an_expired_pay_code_is_refused(
    world: World, client: httpx.AsyncClient, platform: Platform
) -> None:
    payer, payer_app = await bound_phone(world, client, 1_000)
    _, payee_app = await bound_phone(world, client)
    code = await shown(payer_app)
    before = await balances(world, payer)
    platform.clock.fixed = platform.clock() + (charges.paycode_life_s + 1) * NS
    try:
        answer = await payee_app.call("POST", "/paycodes/charge", {"code": code, "amount": AMOUNT})
    finally:
        platform.clock.fixed = None
    refusal(answer, 410, "paycode_expired")
    assert await balances(world, payer) == before


async def test_one_cannot_charge_ones_own_pay_code(world: World, client: httpx.AsyncClient) -> None:
    _, phone = await bound_phone(world, client, 100)
    code = await shown(phone)
    answer = await phone.call("POST", "/paycodes/charge", {"code": code, "amount": AMOUNT})
    refusal(answer, 403, "paycode_own")


async def test_guessing_codes_stops_at_the_cap(world: World, client: httpx.AsyncClient) -> None:
    payer, payer_app = await bound_phone(world, client, 1_000)
    _, guesser = await bound_phone(world, client)
    code = await shown(payer_app)
    wrong = f"{(int(code) + 1) % 10**charges.paycode_digits:0{charges.paycode_digits}d}"
    for tries_left in range(charges.tries_max - 1, -1, -1):
        answer = await guesser.call("POST", "/paycodes/charge", {"code": wrong, "amount": AMOUNT})
        assert refusal(answer, 404, "paycode_unknown")["tries_left"] == tries_left
    # Past the cap even the right code is refused (a guesser cannot tell when it hits).
    answer = await guesser.call("POST", "/paycodes/charge", {"code": code, "amount": AMOUNT})
    refusal(answer, 429, "paycode_attempts")
    # Another payee's phone still may, and the code was not burned by the guesses.
    before = await balances(world, payer)
    _, shop = await bound_phone(world, client)
    await charged(shop, code)
    assert await balances(world, payer) == before


async def test_only_the_payers_device_may_confirm(world: World, client: httpx.AsyncClient) -> None:
    payer, payer_app = await bound_phone(world, client, 1_000)
    _, payee_app = await bound_phone(world, client)
    _, stranger = await bound_phone(world, client, 1_000)
    charge = await charged(payee_app, await shown(payer_app))
    before = await balances(world, payer)
    answer = await stranger.call(
        "POST", "/charges/confirm", {"charge": charge, "pin": CUSTOMER_PIN}
    )
    refusal(answer, 404, "charge_unknown")
    # The payee cannot confirm its own charge either.
    answer = await payee_app.call(
        "POST", "/charges/confirm", {"charge": charge, "pin": CUSTOMER_PIN}
    )
    refusal(answer, 404, "charge_unknown")
    refusal(
        await stranger.call("POST", "/charges/status", {"charge": charge}), 404, "charge_unknown"
    )
    assert await balances(world, payer) == before


async def test_a_wrong_pin_keeps_the_charge_and_a_declined_one_moves_nothing(
    world: World, client: httpx.AsyncClient
) -> None:
    payer, payer_app = await bound_phone(world, client, 1_000)
    _, payee_app = await bound_phone(world, client)
    charge = await charged(payee_app, await shown(payer_app))
    before = await balances(world, payer)
    wrong_pin = "0000" if CUSTOMER_PIN != "0000" else "1111"
    wrong = await payer_app.call("POST", "/charges/confirm", {"charge": charge, "pin": wrong_pin})
    assert wrong.status_code in {401, 403}, wrong.text
    status = await payee_app.call("POST", "/charges/status", {"charge": charge})
    assert status.json()["state"] == "pending"
    declined = await payer_app.call("POST", "/charges/decline", {"charge": charge})
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    status = await payee_app.call("POST", "/charges/status", {"charge": charge})
    assert status.json()["state"] == "declined"
    answer = await payer_app.call(
        "POST", "/charges/confirm", {"charge": charge, "pin": CUSTOMER_PIN}
    )
    refusal(answer, 409, "charge_done")
    assert await balances(world, payer) == before


async def test_a_charge_not_confirmed_in_time_lapses(
    world: World, client: httpx.AsyncClient, platform: Platform
) -> None:
    payer, payer_app = await bound_phone(world, client, 1_000)
    _, payee_app = await bound_phone(world, client)
    charge = await charged(payee_app, await shown(payer_app))
    before = await balances(world, payer)
    platform.clock.fixed = platform.clock() + (charges.charge_life_s + 1) * NS
    try:
        answer = await payer_app.call(
            "POST", "/charges/confirm", {"charge": charge, "pin": CUSTOMER_PIN}
        )
        status = await payee_app.call("POST", "/charges/status", {"charge": charge})
    finally:
        platform.clock.fixed = None
    refusal(answer, 410, "charge_lapsed")
    assert status.json()["state"] == "lapsed"
    assert await balances(world, payer) == before


async def test_a_charge_names_its_code_in_digits_only(
    world: World, client: httpx.AsyncClient
) -> None:
    _, payee_app = await bound_phone(world, client)
    answer = await payee_app.call(
        "POST", "/paycodes/charge", {"code": "12ab5678", "amount": AMOUNT}
    )
    error = refusal(answer, 400, "invalid_input")
    assert "12ab5678" not in str(error["message"])
    answer = await payee_app.call("POST", "/paycodes/charge", {"code": "12345678", "amount": 0})
    refusal(answer, 400, "invalid_input")
