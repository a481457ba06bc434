"""Hakikisha: the name before paying, capped against snooping, not against paying.

Every USSD send shows the recipient's name before the PIN, so a cap of five
look-ups a day must not stop a customer's sixth payment; what it stops is
checking names without paying (enumerating who owns which number).
"""

from __future__ import annotations

import pytest

from mkoba.codes import Code
from mkoba.processor.request import Channel
from tests.products.world import CUSTOMER_PIN, World, refused

pytestmark = pytest.mark.anyio


async def look_up(world: World, payer: str, number: str) -> Code:
    response = await world.ask(
        "name_lookup", payer, kind="msisdn", number=number, channel=Channel.USSD
    )
    return response.code


async def test_checking_the_name_before_each_payment_never_runs_into_the_cap(
    world: World,
) -> None:
    payer = await world.customer(10_000)
    cap = world.services.profile(world.platform.clock()).name_lookups_per_day
    friends = [await world.customer() for _ in range(cap + 2)]
    for friend in friends:
        assert friend.msisdn is not None and payer.msisdn is not None
        assert await look_up(world, payer.msisdn, friend.msisdn) is Code.OK
        sent = await world.ask(
            "send_money", payer.msisdn, CUSTOMER_PIN, to=friend.msisdn, amount="100"
        )
        assert sent.code is Code.OK, sent
    # Every look-up was paid for, so none of the cap is used.
    rows = await world.rows(
        "SELECT used FROM daily_usage WHERE party_id = ? AND kind = 'lookups'", (payer.id,)
    )
    assert rows == [(0,)]


async def test_looking_names_up_without_paying_stops_at_the_cap(world: World) -> None:
    snooper = await world.customer(1_000)
    cap = world.services.profile(world.platform.clock()).name_lookups_per_day
    strangers = [await world.customer() for _ in range(cap + 1)]
    assert snooper.msisdn is not None
    for stranger in strangers[:cap]:
        assert stranger.msisdn is not None
        assert await look_up(world, snooper.msisdn, stranger.msisdn) is Code.OK
    last = strangers[cap].msisdn
    assert last is not None
    response = await world.ask(
        "name_lookup", snooper.msisdn, kind="msisdn", number=last, channel=Channel.USSD
    )
    refused(response, Code.NAME_LOOKUP_LIMIT)
    # Paying someone never looked up gives nothing back: the cap still holds.
    paid = await world.ask("send_money", snooper.msisdn, CUSTOMER_PIN, to=last, amount="50")
    assert paid.code is Code.OK, paid
    again = await world.ask(
        "name_lookup", snooper.msisdn, kind="msisdn", number=last, channel=Channel.USSD
    )
    refused(again, Code.NAME_LOOKUP_LIMIT)


async def test_past_the_cap_name_checks_lock_for_the_rules_hours_across_days(
    world: World,
) -> None:
    snooper = await world.customer(1_000)
    profile = world.services.profile(world.platform.clock())
    assert profile.risk is not None and snooper.msisdn
    cap, hours = profile.name_lookups_per_day, profile.risk.R11.lockout_hours
    strangers = [await world.customer() for _ in range(cap + 1)]
    numbers = [s.msisdn for s in strangers if s.msisdn]
    for number in numbers[:cap]:
        assert await look_up(world, snooper.msisdn, number) is Code.OK
    locked = await world.ask(
        "name_lookup", snooper.msisdn, kind="msisdn", number=numbers[cap], channel=Channel.USSD
    )
    refused(locked, Code.NAME_LOOKUP_LIMIT, "locked for a while")
    clock = world.platform.clock
    start = clock()
    try:
        clock.fixed = start + 25 * 3_600_000_000_000  # a new day's cap, but still locked
        assert await look_up(world, snooper.msisdn, numbers[0]) is Code.NAME_LOOKUP_LIMIT
        clock.fixed = start + (hours + 1) * 3_600_000_000_000  # the lockout has run out
        assert await look_up(world, snooper.msisdn, numbers[0]) is Code.OK
    finally:
        clock.fixed = None
