"""Requests and gifts on the campus profile: its own data (free gifts up to Ksh1,000,
requests that lapse after 3 days, 2 reminders at most), loaded by the same code as Kenya.

Method: a campus world; each test changes nothing but what the profile says and checks
the product follows it, with the money checked where it moves.
"""

from __future__ import annotations

import re

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import OPERATOR_ID, Purpose, account_id
from mkoba.products import app_sweep
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, FEES, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio
DAY_NS = 86_400 * 1_000_000_000
GIFTS = account_id(OPERATOR_ID, Purpose.GIFTS)


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("app_campus", profile="campus")


async def test_a_campus_gift_is_free_and_at_most_1000(world: World) -> None:
    buyer = await world.customer(2_000, tier="student")
    assert buyer.msisdn
    to = world.msisdn()
    over = await world.ask("buy_gift", buyer.msisdn, CUSTOMER_PIN, to=to, amount="1,001")
    refused(over, Code.ABOVE_MAXIMUM, "Ksh1,000.00")
    fees = await world.available(FEES)
    bought = await world.ask("buy_gift", buyer.msisdn, CUSTOMER_PIN, to=to, amount="1,000")
    assert bought.code is Code.OK, bought
    assert await world.balances(wallet(buyer), FEES) == [1_000 * KSH, fees]
    ((life,),) = await world.rows(
        "SELECT expires - created FROM gifts WHERE request_id = ?", (bought.request_id,)
    )
    assert life == 14 * DAY_NS


async def test_a_campus_request_lapses_after_3_days_and_is_reminded_twice(world: World) -> None:
    organiser = await world.customer(0, tier="student")
    friend = await world.customer(0, tier="student")
    assert organiser.msisdn and friend.msisdn
    bill = await world.ask(
        "split_bill", organiser.msisdn, CUSTOMER_PIN, friends=friend.msisdn, total="120"
    )
    assert bill.code is Code.OK, bill
    ((created, expires),) = await world.rows(
        "SELECT created, expires FROM money_requests WHERE bill = ?", (bill.request_id,)
    )
    assert expires - created == 3 * DAY_NS
    # Daily while open: a day and two days after; none just before it lapses (not due).
    for moment in (DAY_NS + 1, 2 * DAY_NS + 2, 3 * DAY_NS - 1):
        await app_sweep.remind(world.services, created + moment)
    texts = await world.sms_to(friend.msisdn)
    assert sum(text.startswith("Reminder:") for text in texts) == 2
    found = re.search(r"request number (\d{8})", texts[-1])
    assert found is not None
    await world.issue(wallet(friend), 200 * KSH)
    world.platform.clock.fixed = expires
    try:
        late = await world.ask("pay_request", friend.msisdn, CUSTOMER_PIN, number=found.group(1))
    finally:
        world.platform.clock.fixed = None
    refused(late, Code.REQUEST_NOT_FOUND, "has lapsed")
    assert await world.balances(wallet(friend), wallet(organiser)) == [200 * KSH, 0]


async def test_paid_requests_count_against_the_payers_daily_limit(world: World) -> None:
    # A student sends at most 5,000 at a time and 10,000 a day (campus tiers).
    payer = await world.customer(0, tier="student")
    await world.issue(wallet(payer), 15_000 * KSH)
    requester = await world.customer(0, tier="staff")
    assert payer.msisdn and requester.msisdn
    numbers = []
    for amount in ("5,000", "5,000", "1"):
        asked = await world.ask(
            "request_money", requester.msisdn, CUSTOMER_PIN, payer=payer.msisdn, amount=amount
        )
        assert asked.code is Code.OK, asked
        numbers.append(asked.data["number"])
    for number in numbers[:2]:
        paid = await world.ask("pay_request", payer.msisdn, CUSTOMER_PIN, number=number)
        assert paid.code is Code.OK, paid
    over = await world.ask("pay_request", payer.msisdn, CUSTOMER_PIN, number=numbers[2])
    refused(over, Code.DAILY_LIMIT_EXCEEDED, "Ksh0.00 more today")
    # Campus send money over 500 costs a flat 5.
    assert await world.balances(wallet(requester)) == [10_000 * KSH]
    assert await world.balances(wallet(payer)) == [(15_000 - 10_010) * KSH]


async def test_the_books_balance(world: World) -> None:
    world.check_books()
