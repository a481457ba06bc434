"""Split bills: an organiser splits a restaurant bill among friends and tracks who paid.

Method: a Kenya world (a bill lives 7 days, 10 friends at most; an unpaid friend
is reminded every 24 hours, 3 times at most). The test splits bills equally
(the remainder cents to the first friends listed) and by explicit shares,
reads each friend's request number from their SMS, pays some, and reads the
bill as its organiser does; it runs the reminder sweep at chosen moments and
counts each friend's reminders: due ones sent, paid friends never reminded,
none beyond the cap, none twice for one moment.
"""

from __future__ import annotations

import re

import pytest

from mkoba.codes import Code
from mkoba.parties import Party
from mkoba.processor.request import Response
from mkoba.products import app_sweep
from tests.products.world import CUSTOMER_PIN, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio
HOUR_NS = 3_600 * 1_000_000_000


@pytest.fixture(scope="module")
async def ready(world: World) -> World:
    return await world.setup()


async def split(
    world: World, organiser: Party, friends: list[Party | str], total: str, **extra: str
) -> Response:
    assert organiser.msisdn
    numbers = ",".join(f if isinstance(f, str) else f"0{(f.msisdn or '')[3:]}" for f in friends)
    pin = extra.pop("pin", CUSTOMER_PIN)
    return await world.ask(
        "split_bill", organiser.msisdn, pin, friends=numbers, total=total, **extra
    )


async def share_number(world: World, friend: Party) -> str:
    """The request number in the friend's last bill SMS (or reminder)."""
    texts = await world.sms_to(friend.msisdn or "")
    found = re.search(r"request number (\d{8})", texts[-1])
    assert found is not None, texts
    return found.group(1)


async def reminders_to(world: World, friend: Party) -> int:
    return sum(text.startswith("Reminder:") for text in await world.sms_to(friend.msisdn or ""))


async def test_an_equal_split_gives_the_remainder_cents_to_the_first_friends(
    ready: World,
) -> None:
    world = ready
    organiser = await world.customer(0, name="Wanjiku Kamau")
    friends = [await world.customer(0) for _ in range(3)]
    response = await split(world, organiser, friends, "1000.01", note="Dinner at Java")
    assert response.code is Code.OK, response
    assert response.receipt is None
    shares = [share["amount"] for share in response.data["shares"]]
    assert shares == [33_334, 33_334, 33_333]
    assert sum(shares) == 100_001
    assert [share["msisdn"] for share in response.data["shares"]] == [f.msisdn for f in friends]
    bill = response.data["bill"]
    assert f"Bill {bill} of Ksh1,000.01 split among 3" in response.message
    texts = {sms.recipient: sms.body for sms in await world.sms(response.request_id)}
    assert set(texts) == {f.msisdn for f in friends}
    first = texts[friends[0].msisdn]
    assert first.startswith(
        f"WANJIKU KAMAU 0{organiser.msisdn[3:]} has split a bill of Ksh1,000.01:"
        " your share is Ksh333.34."
    )
    assert '"Dinner at Java" To pay, use request number' in first
    assert "your share is Ksh333.33." in texts[friends[2].msisdn]
    rows = await world.rows(
        "SELECT payer_id, amount, bill, state FROM money_requests WHERE bill = ?"
        " ORDER BY request_id",
        (response.request_id,),
    )
    assert rows == [
        (f.id, a, response.request_id, "open") for f, a in zip(friends, shares, strict=True)
    ]
    assert await world.balances(*(wallet(f) for f in [organiser, *friends])) == [0, 0, 0, 0]


async def test_explicit_shares_and_who_has_paid(ready: World) -> None:
    world = ready
    organiser = await world.customer(0, name="Wanjiku Kamau")
    alice = await world.customer(1_000, name="Alice Chebet")
    bob = await world.customer(1_000, name="Bob Kiprono")
    response = await split(world, organiser, [alice, bob], "800", shares="500, 300")
    assert response.code is Code.OK, response
    assert [s["amount"] for s in response.data["shares"]] == [500 * KSH, 300 * KSH]
    bill = response.data["bill"]
    assert alice.msisdn
    paid = await world.ask(
        "pay_request", alice.msisdn, CUSTOMER_PIN, number=await share_number(world, alice)
    )
    assert paid.code is Code.OK, paid
    # Ksh500 costs Ksh7 to send.
    assert await world.balances(wallet(organiser), wallet(alice)) == [500 * KSH, 493 * KSH]
    assert organiser.msisdn
    status = await world.ask("bill_status", organiser.msisdn, CUSTOMER_PIN, bill=bill)
    assert status.code is Code.OK, status
    assert status.message == (
        f"Bill {bill}: 1 of 2 paid, Ksh300.00 outstanding; not yet: BOB KIPRONO Ksh300.00."
    )
    data = status.data
    assert (data["total"], data["paid"], data["outstanding"]) == (800 * KSH, 500 * KSH, 300 * KSH)
    assert [(f["other"], f["state"]) for f in data["friends"]] == [
        ("ALICE CHEBET", "paid"),
        ("BOB KIPRONO", "open"),
    ]
    listed = await world.ask("my_requests", organiser.msisdn, CUSTOMER_PIN)
    assert [b["number"] for b in listed.data["bills"]] == [bill]
    # A bill's requests are shown in the bill, not among single requests.
    assert listed.data["from_me"] == []
    refused(
        await world.ask("bill_status", alice.msisdn, CUSTOMER_PIN, bill=bill),
        Code.REQUEST_NOT_FOUND,
        "no bill with that number",
    )


async def test_split_refusals(ready: World) -> None:
    world = ready
    organiser = await world.customer(0)
    friend = await world.customer(0)
    other = await world.customer(0)
    stranger = world.msisdn()
    refused(
        await split(world, organiser, [friend, other], "100", shares="60,30"),
        Code.INVALID_INPUT,
        "add up to the total",
    )
    refused(
        await split(world, organiser, [friend, other], "100", shares="100"),
        Code.INVALID_INPUT,
        "one share for each friend",
    )
    refused(await split(world, organiser, [friend, friend], "100"), Code.INVALID_INPUT, "twice")
    refused(
        await split(world, organiser, [friend, organiser], "100"),
        Code.SAME_ACCOUNT,
        "Leave yourself out",
    )
    refused(await split(world, organiser, [friend, stranger], "100"), Code.RECIPIENT_NOT_REGISTERED)
    refused(await split(world, organiser, [friend, "12"], "100"), Code.INVALID_INPUT, "friends")
    refused(await split(world, organiser, [], "100"), Code.INVALID_INPUT, "friends")
    # Shares below send money's minimum of Ksh1 (Ksh1 between two is 50 cents each).
    refused(await split(world, organiser, [friend, other], "1"), Code.BELOW_MINIMUM)
    many = [world.msisdn() for _ in range(11)]
    refused(await split(world, organiser, many, "1100"), Code.NOT_ALLOWED, "at most 10")
    refused(await split(world, organiser, [friend], "100", pin="0000"), Code.WRONG_PIN)
    assert await world.rows(
        "SELECT COUNT(*) FROM money_requests WHERE requester_id = ?", (organiser.id,)
    ) == [(0,)]
    assert await world.rows(
        "SELECT COUNT(*) FROM bills WHERE organiser_id = ?", (organiser.id,)
    ) == [(0,)]


async def test_a_bill_counts_against_the_open_requests_cap(ready: World) -> None:
    world = ready
    organiser = await world.customer(0)
    friends = [await world.customer(0) for _ in range(10)]
    assert (await split(world, organiser, friends, "100")).ok
    assert (await split(world, organiser, friends, "100")).ok
    refused(await split(world, organiser, friends[:1], "10"), Code.NOT_ALLOWED, "20 open")


async def test_unpaid_friends_are_reminded_daily_three_times_at_most(ready: World) -> None:
    world = ready
    organiser = await world.customer(0, name="Wanjiku Kamau")
    payer = await world.customer(1_000)
    late = await world.customer(0)
    response = await split(world, organiser, [payer, late], "400", note="Nyama choma")
    assert response.ok, response
    now = world.platform.clock()
    # Not yet a day: nobody is reminded.
    await app_sweep.remind(world.services, now + 23 * HOUR_NS)
    assert await reminders_to(world, late) == 0
    assert payer.msisdn
    paid = await world.ask(
        "pay_request", payer.msisdn, CUSTOMER_PIN, number=await share_number(world, payer)
    )
    assert paid.ok, paid
    sent = await app_sweep.remind(world.services, now + 24 * HOUR_NS + 1)
    assert sent >= 1
    assert (await reminders_to(world, late), await reminders_to(world, payer)) == (1, 0)
    texts = await world.sms_to(late.msisdn or "")
    assert texts[-1].startswith(
        f"Reminder: WANJIKU KAMAU 0{organiser.msisdn[3:]} is waiting for your share of Ksh200.00"
    )
    assert '"Nyama choma" Pay with request number' in texts[-1]
    # The same moment again, or an hour later: no second reminder.
    await app_sweep.remind(world.services, now + 24 * HOUR_NS + 1)
    await app_sweep.remind(world.services, now + 25 * HOUR_NS)
    assert await reminders_to(world, late) == 1
    for day in (2, 3, 4, 5):
        await app_sweep.remind(world.services, now + day * 24 * HOUR_NS + day)
    assert await reminders_to(world, late) == 3
    assert await reminders_to(world, payer) == 0


async def test_reminders_stop_once_paid_or_declined(ready: World) -> None:
    world = ready
    organiser = await world.customer(0)
    payer = await world.customer(1_000)
    decliner = await world.customer(0)
    assert (await split(world, organiser, [payer, decliner], "300")).ok
    now = world.platform.clock()
    await app_sweep.remind(world.services, now + 24 * HOUR_NS + 1)
    assert (await reminders_to(world, payer), await reminders_to(world, decliner)) == (1, 1)
    assert payer.msisdn and decliner.msisdn
    paid = await world.ask(
        "pay_request", payer.msisdn, CUSTOMER_PIN, number=await share_number(world, payer)
    )
    assert paid.ok, paid
    declined = await world.ask(
        "decline_request", decliner.msisdn, CUSTOMER_PIN, number=await share_number(world, decliner)
    )
    assert declined.ok, declined
    for day in (2, 3, 4):
        await app_sweep.remind(world.services, now + day * 24 * HOUR_NS + day)
    assert (await reminders_to(world, payer), await reminders_to(world, decliner)) == (1, 1)


async def test_the_books_balance(ready: World) -> None:
    ready.check_books()
