"""Requests, split bills and gift vouchers through the app's signed routes, end to end.

Method: bound phones on a Kenya platform ask, pay, split and give through the
routes (``channels/app/social.py``) exactly as the web app does; the products'
own tests check every rule. Here: the fields the routes send are the ones the
products read, the answers carry the products' data, refusals come back as
TranProc's codes, and the books balance after.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.channels.app.bound import bound_phone
from tests.channels.app.test_binding import app_channel, refusal
from tests.products.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio


async def test_a_tutor_asks_and_the_parent_pays_from_the_app(
    world: World, client: httpx.AsyncClient
) -> None:
    tutor, tutor_app = await bound_phone(world, client, name="Grace Tutor")
    parent, parent_app = await bound_phone(world, client, 1_000, name="Brian Parent")
    assert parent.msisdn
    asked = await tutor_app.call(
        "POST",
        "/requests",
        {"payer": parent.msisdn, "amount": 150 * KSH, "note": "Lesson", "pin": CUSTOMER_PIN},
    )
    assert asked.status_code == 200, asked.text
    number = asked.json()["data"]["number"]
    mine = await parent_app.call("POST", "/requests/mine", {"pin": CUSTOMER_PIN})
    assert mine.status_code == 200, mine.text
    assert [r["number"] for r in mine.json()["data"]["to_me"]] == [number]
    paid = await parent_app.call("POST", "/requests/pay", {"number": number, "pin": CUSTOMER_PIN})
    assert paid.status_code == 200, paid.text
    assert paid.json()["receipt"]
    assert await world.balances(wallet(tutor)) == [150 * KSH]
    again = await parent_app.call("POST", "/requests/pay", {"number": number, "pin": CUSTOMER_PIN})
    refusal(again, 404, "request_not_found")
    world.check_books()


async def test_the_payer_s_app_hears_of_a_request_live(
    world: World, client: httpx.AsyncClient
) -> None:
    _, tutor_app = await bound_phone(world, client, name="Grace Tutor")
    parent, _ = await bound_phone(world, client, name="Brian Parent")
    assert parent.msisdn
    with app_channel(world).notices.listen(parent.msisdn) as heard:
        asked = await tutor_app.call(
            "POST",
            "/requests",
            {"payer": parent.msisdn, "amount": 150 * KSH, "note": "Lesson", "pin": CUSTOMER_PIN},
        )
        assert asked.status_code == 200, asked.text
        notice = heard.get_nowait()
    assert notice.event == "request"
    assert notice.data == {
        "kind": "request",
        "number": asked.json()["data"]["number"],
        "amount": 150 * KSH,
        "note": "Lesson",
        "other": "GRACE TUTOR",
    }


async def test_a_bill_split_from_the_app_with_shares(
    world: World, client: httpx.AsyncClient
) -> None:
    _, organiser_app = await bound_phone(world, client, name="Wanjiku Kamau")
    alice = await world.customer(0)
    bob = await world.customer(0)
    split = await organiser_app.call(
        "POST",
        "/bills",
        {
            "friends": [alice.msisdn, bob.msisdn],
            "total": 100_050,
            "shares": [60_025, 40_025],
            "note": "Dinner",
            "pin": CUSTOMER_PIN,
        },
    )
    assert split.status_code == 200, split.text
    data = split.json()["data"]
    assert [share["amount"] for share in data["shares"]] == [60_025, 40_025]
    status = await organiser_app.call(
        "POST", "/bills/status", {"bill": data["bill"], "pin": CUSTOMER_PIN}
    )
    assert status.status_code == 200, status.text
    assert status.json()["data"]["outstanding"] == 100_050
    wrong = await organiser_app.call(
        "POST",
        "/bills",
        {"friends": [alice.msisdn], "total": 100, "shares": [99], "pin": CUSTOMER_PIN},
    )
    refusal(wrong, 400, "invalid_input")


async def test_a_gift_bought_in_the_app_is_cashed_in_the_app(
    world: World, client: httpx.AsyncClient
) -> None:
    _, buyer_app = await bound_phone(world, client, 500, name="Neema Atieno")
    friend, friend_app = await bound_phone(world, client, name="Imani Njeri")
    assert friend.msisdn
    bought = await buyer_app.call(
        "POST", "/gifts", {"to": friend.msisdn, "amount": 200 * KSH, "pin": CUSTOMER_PIN}
    )
    assert bought.status_code == 200, bought.text
    code = None
    for text in reversed(await world.sms_to(friend.msisdn)):
        found = re.search(r"code, (\d{8}),", text)
        if found:
            code = found.group(1)
            break
    assert code is not None
    assert code not in bought.text  # the buyer's answer never shows the recipient's code
    used = await friend_app.call("POST", "/gifts/use", {"code": code, "pin": CUSTOMER_PIN})
    assert used.status_code == 200, used.text
    assert await world.balances(wallet(friend)) == [200 * KSH]
    twice = await friend_app.call("POST", "/gifts/use", {"code": code, "pin": CUSTOMER_PIN})
    refusal(twice, 404, "voucher_not_found")
    world.check_books()
