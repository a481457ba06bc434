"""A risk step-up by a one-time code to the payer's bound app device (R2 on the app).

The profile lowers R2 to 1% of the daily limit (so one payment of Ksh6,000 steps up)
and turns R7 off (a device bound within the hour would otherwise hold it). The code
goes to the payer's notices stream (what the app's ``POST /events`` streams); the
payment is made only when it comes back with that code and the PIN, then once. A
payer without a bound device keeps "PIN again". The code never reaches a log, an
answer, an alert or the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import httpx
import pytest
import yaml

from mkoba.app import Platform
from mkoba.channels.app import keqr
from mkoba.channels.app.channel import CONFIRM_CODE
from mkoba.channels.app.notices import Notice
from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, Purpose, Role, account_id
from mkoba.risk.engine import RiskEngine
from tests.channels.app.bound import bound_phone
from tests.channels.app.phone import AppPhone
from tests.channels.app.test_binding import refusal
from tests.conftest import MakePlatform
from tests.products.world import BUSINESS_PIN, CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio

AMOUNT = 6_000 * KSH  # above 1% of the daily limit: R2 steps it up
MINUTE_NS = 60 * 1_000_000_000


@pytest.fixture(scope="module")
async def platform(
    make_platform: MakePlatform, tmp_path_factory: pytest.TempPathFactory
) -> Platform:
    """Kenya with R2 at 1% and R7 off; the step-up's code wired to the app's devices."""
    text = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    document["name"] = "kenya_step_up"
    document["versions"][-1]["risk"] = {"R2": {"limit_share": "1%"}, "R7": {"enabled": False}}
    path = tmp_path_factory.mktemp("profile") / "kenya_step_up.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    platform = await make_platform("confirm_code", profile=str(path))
    risk = platform.services.risk
    assert isinstance(risk, RiskEngine)
    # Wired by app.py: the risk rules' DeviceCode is the app's.
    assert risk.device_code == platform.app_channel.send_code
    return platform


async def till(world: World) -> tuple[Party, str]:
    """A shop with a till, and its static payment code (the payer types the amount)."""
    shop = await world.add_party(
        PartyKind.MERCHANT,
        "Duka la Mama",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.TILL,),
        roles=(Role.MERCHANT,),
        pin=BUSINESS_PIN,
    )
    assert shop.number is not None
    payee = keqr.Payee(keqr.PayeeKind.BUY_GOODS, shop.number, "DUKA LA MAMA", "NAIROBI", "5411")
    return shop, keqr.static_code(payee)


async def pay(phone: AppPhone, payload: str, otp: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"payload": payload, "amount": AMOUNT, "pin": CUSTOMER_PIN}
    if otp is not None:
        body["otp"] = otp
    return await phone.call("POST", "/pay", body)


@contextmanager
def device(platform: Platform, phone: AppPhone) -> Iterator[asyncio.Queue[Notice]]:
    """The notices the phone's stream gets (``POST /events`` streams this queue)."""
    with platform.app_channel.notices.listen(phone.msisdn) as queue:
        yield queue


def code_from(queue: asyncio.Queue[Notice]) -> str:
    """The one-time code of the one notice the device got."""
    notice = queue.get_nowait()
    assert queue.empty()
    assert notice.event == CONFIRM_CODE
    assert notice.data["amount"] == AMOUNT and notice.data["minutes"] == 5
    code = notice.data["code"]
    assert isinstance(code, str) and len(code) == 6 and code.isdigit()
    return code


def drained(queue: asyncio.Queue[Notice]) -> list[Notice]:
    """The notices waiting (the payment notices of a payment made, say)."""
    notices = []
    while not queue.empty():
        notices.append(queue.get_nowait())
    return notices


def asked_for_code(answer: httpx.Response, words: str) -> dict[str, object]:
    error = refusal(answer, 428, "confirm_required")
    assert error["confirm"] == "code"
    assert words in str(error["message"]), error
    return error


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def stepped_up(
    world: World, client: httpx.AsyncClient
) -> tuple[Party, AppPhone, Party, str, list[int]]:
    """A bound payer and a shop; the balances before."""
    payer, phone = await bound_phone(world, client, 30_000, name="Neema Akinyi")
    shop, payload = await till(world)
    before = await world.balances(wallet(payer), account_id(shop.id, Purpose.TILL))
    return payer, phone, shop, payload, before


async def test_the_device_gets_a_code_and_the_payment_waits_for_it_then_moves_once(
    platform: Platform, world: World, client: httpx.AsyncClient
) -> None:
    payer, phone, shop, payload, before = await stepped_up(world, client)
    accounts = (wallet(payer), account_id(shop.id, Purpose.TILL))
    with device(platform, phone) as queue:
        asked = await pay(phone, payload)
        asked_for_code(asked, "we sent a code to your M-PESA app")
        code = code_from(queue)
        assert code not in asked.text
        assert await world.balances(*accounts) == before  # nothing moved
        again = await pay(phone, payload)  # again without it: a new code, the old one dies
        asked_for_code(again, "we sent a code")
        old, code = code, code_from(queue)
        if old != code:
            asked_for_code(await pay(phone, payload, old), "not right")
        paid = await pay(phone, payload, code)
        assert paid.status_code == 200, paid.text
        assert [notice.event for notice in drained(queue)] == ["payment"]  # no other code
    after = await world.balances(*accounts)
    assert before[0] - after[0] == AMOUNT  # paid once (the till gets it less its fee)
    assert 0 < after[1] - before[1] <= AMOUNT
    world.check_books()


async def test_a_used_code_confirms_nothing_again(
    platform: Platform, world: World, client: httpx.AsyncClient
) -> None:
    payer, phone, shop, payload, _ = await stepped_up(world, client)
    with device(platform, phone) as queue:
        await pay(phone, payload)
        code = code_from(queue)
        assert (await pay(phone, payload, code)).status_code == 200
        drained(queue)
        accounts = (wallet(payer), account_id(shop.id, Purpose.TILL))
        moved = await world.balances(*accounts)
        reused = await pay(phone, payload, code)
        asked_for_code(reused, "used already")
        assert CONFIRM_CODE not in [notice.event for notice in drained(queue)]
    assert await world.balances(*accounts) == moved
    world.check_books()


async def test_wrong_codes_are_refused_and_counted_until_the_code_is_spent(
    platform: Platform, world: World, client: httpx.AsyncClient
) -> None:
    payer, phone, shop, payload, before = await stepped_up(world, client)
    accounts = (wallet(payer), account_id(shop.id, Purpose.TILL))
    with device(platform, phone) as queue:
        await pay(phone, payload)
        code = code_from(queue)
        asked_for_code(await pay(phone, payload, wrong(code)), "(2 tries left)")
        asked_for_code(await pay(phone, payload, wrong(wrong(code))), "(1 tries left)")
        asked_for_code(await pay(phone, payload, wrong(code)), "after 3 wrong tries")
        # Spent: even the right code now confirms nothing, and no money moved.
        asked_for_code(await pay(phone, payload, code), "no longer works")
        assert await world.balances(*accounts) == before
        # Asking again sends a new code, which does.
        await pay(phone, payload)
        assert (await pay(phone, payload, code_from(queue))).status_code == 200
        drained(queue)
    assert before[0] - (await world.balances(*accounts))[0] == AMOUNT
    world.check_books()


async def test_an_expired_code_is_refused(
    platform: Platform, world: World, client: httpx.AsyncClient
) -> None:
    payer, phone, shop, payload, before = await stepped_up(world, client)
    clock = platform.clock
    clock.fixed = clock()
    try:
        with device(platform, phone) as queue:
            await pay(phone, payload)
            code = code_from(queue)
            clock.fixed += 5 * MINUTE_NS + 1  # the confirm window (5 minutes) is over
            asked_for_code(await pay(phone, payload, code), "expired")
    finally:
        clock.fixed = None
    accounts = (wallet(payer), account_id(shop.id, Purpose.TILL))
    assert await world.balances(*accounts) == before
    world.check_books()


async def test_a_payment_by_the_api_is_confirmed_by_the_code_the_device_got(
    platform: Platform, world: World, client: httpx.AsyncClient
) -> None:
    # The device is a second factor here: whoever holds the PIN does not hold it.
    payer, phone, shop, _payload, before = await stepped_up(world, client)
    accounts = (wallet(payer), account_id(shop.id, Purpose.TILL))
    body = {"msisdn": phone.msisdn, "pin": CUSTOMER_PIN, "till": shop.number}
    body["amount_minor"] = AMOUNT
    with device(platform, phone) as queue:
        asked = await client.post("/api/v1/buy-goods", json=body)
        assert asked.status_code == 428, asked.text
        assert asked.json()["code"] == "confirm_required"
        assert asked.json()["data"] == {"confirm": "code"}
        code = code_from(queue)
        assert code not in asked.text
        wrong_code = await client.post("/api/v1/buy-goods", json={**body, "otp": wrong(code)})
        assert wrong_code.status_code == 428 and "not right" in wrong_code.json()["message"]
        assert await world.balances(*accounts) == before
        paid = await client.post("/api/v1/buy-goods", json={**body, "otp": code})
        assert paid.status_code == 200, paid.text
    assert before[0] - (await world.balances(*accounts))[0] == AMOUNT
    world.check_books()


async def test_without_a_bound_device_it_is_pin_again(
    platform: Platform, world: World, client: httpx.AsyncClient
) -> None:
    payer = await world.customer(30_000, name="Baraka Otieno")
    shop, _ = await till(world)
    assert payer.msisdn and shop.number
    before = await world.balances(wallet(payer), account_id(shop.id, Purpose.TILL))
    with platform.app_channel.notices.listen(payer.msisdn) as queue:
        params = {"till": shop.number, "amount": str(AMOUNT // KSH)}
        asked = await world.ask("buy_goods", payer.msisdn, CUSTOMER_PIN, **params)
        assert asked.code is Code.CONFIRM_REQUIRED and "send it again" in asked.message
        assert asked.data == {"confirm": "pin"}
        assert queue.empty()  # no device: no code
        assert await world.balances(wallet(payer), account_id(shop.id, Purpose.TILL)) == before
        confirmed = await world.ask("buy_goods", payer.msisdn, CUSTOMER_PIN, **params)
        assert confirmed.code is Code.OK, confirmed
    world.check_books()


async def test_the_code_never_reaches_a_log_an_alert_or_the_store(
    platform: Platform, world: World, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    payer, phone, _shop, payload, _ = await stepped_up(world, client)
    with caplog.at_level(logging.DEBUG), device(platform, phone) as queue:
        answers = [await pay(phone, payload)]
        canary = code_from(queue)  # the real code: it must show up nowhere but the device
        answers.append(await pay(phone, payload, wrong(canary)))
        answers.append(await pay(phone, payload, canary))
        assert answers[-1].status_code == 200, answers[-1].text
        drained(queue)
        answers.append(await pay(phone, payload, canary))  # reused
    assert all(canary not in answer.text for answer in answers)
    assert canary not in caplog.text
    alerts = platform.alerts
    assert alerts is not None
    mine = [alert for alert in await alerts.list(rule="R2") if alert.party_id == payer.id]
    assert len(mine) == 4  # one per payment the rule judged; the code in none
    assert all(canary not in f"{alert.summary} {alert.details}" for alert in mine)
    for table in await tables(world, platform):
        rows = await world.rows(f"SELECT * FROM {table}")  # our own table names
        assert canary not in str(rows), table


async def tables(world: World, platform: Platform) -> list[str]:
    """Every table of the platform's store."""
    if platform.settings.db.startswith("postgresql"):
        sql = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    names = [str(name) for (name,) in await world.rows(sql)]
    assert "app_devices" in names
    return names
