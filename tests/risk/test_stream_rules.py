"""The stream rules through the real processor: each fires on its scenario, with the
party and the details compliance needs, and stays quiet on the near miss; their
windows survive a restart, and a pattern is one alert across it.

A profile made for the test lowers the CTR threshold to KES 10,000 (R3's scenario
is three deposits, not three of a million), R9 to 3 senders and lifts R1 out of
the way (100 payments an hour); everything else is the shipped Kenya profile.
Time moves by the platform's clock (``clock.fixed``), forward only.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from mkoba.app import Platform
from mkoba.catalog import Profile
from mkoba.codes import Code
from mkoba.parties import Party
from mkoba.processor.request import Response
from mkoba.processor.risk_port import Movement
from mkoba.risk.alert_schema import Alert
from mkoba.risk.stream import Stream
from mkoba.risk.stream_hit import Hit
from mkoba.risk.stream_mule import Paid, cashed_within
from mkoba.settings import Settings
from tests.processor.world import running, settings_for
from tests.risk.test_inline_rules import engine, risky_profile, send
from tests.world import AGENT_PIN, CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio
MINUTE_NS = 60 * 1_000_000_000
HOUR_NS = 60 * MINUTE_NS


def stream_settings(store_url: str, folder: Path) -> Settings:
    """A platform on ``store_url`` with Kenya's rules but a CTR threshold of KES 10,000,
    R9 at 3 senders and R1 out of the way."""
    path = risky_profile(folder, R1={"per_hour": 100, "per_day": 300}, R9={"senders": 3})
    document = yaml.safe_load(path.read_text("utf-8"))
    document["versions"][-1]["risk"]["ctr_threshold"] = 10_000
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return settings_for(store_url, folder, profile=path)


@pytest.fixture
async def world(store_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running(stream_settings(store_url, tmp_path)) as platform:
        platform.clock.fixed = time.time_ns()
        yield await World(platform).setup()


def stream_of(platform: Platform) -> Stream:
    stream = engine(platform).stream
    assert isinstance(stream, Stream)
    return stream


def later(world: World, ns: int) -> None:
    """Move the platform's clock forward by ``ns``."""
    fixed = world.platform.clock.fixed
    assert fixed is not None
    world.platform.clock.fixed = fixed + ns


async def alerts_on(world: World, rule: str, party: Party) -> list[Alert]:
    """The alerts of ``rule`` raised on ``party``, once those on their way are in."""
    await stream_of(world.platform).drain()
    alerts = world.platform.alerts
    assert alerts is not None
    found = await alerts.list(rule=rule, limit=500)
    return [alert for alert in found if alert.party_id == party.id]


async def deposit_at(world: World, store: Party, party: Party, ksh: int) -> Response:
    assert store.msisdn and party.msisdn
    response = await world.ask("deposit", store.msisdn, AGENT_PIN, to=party.msisdn, amount=str(ksh))
    assert response.code is Code.OK, response
    return response


async def withdraw_at(world: World, party: Party, store: Party, ksh: int) -> Response:
    assert party.msisdn and store.number
    agent, outlet = store.number.split("/")
    response = await world.ask(
        "withdraw", party.msisdn, CUSTOMER_PIN, agent=agent, store=outlet, amount=str(ksh)
    )
    assert response.code is Code.OK, response
    return response


async def other_agent(world: World) -> Party:
    """A second agent store, with float."""
    _, (store,) = await world.agent(1_000_000)
    return store


def no_secrets(alert: Alert, *parties: Party) -> None:
    """No PIN and no phone number in what compliance reads (a PIN as a value of its own:
    the request ids' random hex may hold any four digits)."""
    text = alert.summary + str(alert.details)
    for pin in (CUSTOMER_PIN, AGENT_PIN):
        assert not re.search(rf"(?<![0-9a-f]){pin}(?![0-9a-f])", text), pin
    for party in parties:
        assert party.msisdn and party.msisdn not in text


async def test_r3_structured_cash_ins_and_cash_outs_raise_an_str_alert(world: World) -> None:
    shop = world.agent_store
    structurer = await world.customer()
    made = [await world.deposit(structurer, 3_000 * KSH) for _ in range(3)]  # 90%: fires
    (alert,) = await alerts_on(world, "R3", structurer)
    assert alert.str_due == alert.created + 2 * 24 * HOUR_NS  # the STR draft's 2-day clock
    assert alert.severity == "high"
    assert alert.details["direction"] == "cash_in"
    assert alert.details["total"] == 9_000 * KSH and alert.details["count"] == 3
    assert alert.details["ctr_threshold"] == 10_000 * KSH
    assert alert.details["request_ids"] == [response.request_id for response in made]
    assert alert.details["agent_ids"] == [shop.id]
    no_secrets(alert, structurer, shop)
    # A fourth cash-in extends the same pattern: still one alert.
    await world.deposit(structurer, 100 * KSH)
    assert len(await alerts_on(world, "R3", structurer)) == 1
    # Cash-outs the same way (the 20,000 deposit is above the threshold: a CTR, not R3).
    cashing = await world.customer(20_000)
    for _ in range(3):
        await withdraw_at(world, cashing, shop, 3_000)
    (out,) = await alerts_on(world, "R3", cashing)
    assert out.details["direction"] == "cash_out" and out.details["total"] == 9_000 * KSH
    assert out.str_due > 0


async def test_r3_near_misses_stay_quiet(world: World) -> None:
    two = await world.customer()
    for _ in range(2):  # one below the count, well above the share
        await world.deposit(two, 4_600 * KSH)
    short = await world.customer()
    for _ in range(3):  # the count, just below 90% of the threshold
        await world.deposit(short, 2_999 * KSH)
    slow = await world.customer()
    await world.deposit(slow, 3_000 * KSH)
    later(world, 24 * HOUR_NS + MINUTE_NS)  # the first falls just outside the 24 hours
    for _ in range(2):
        await world.deposit(slow, 3_000 * KSH)
    for party in (two, short, slow):
        assert await alerts_on(world, "R3", party) == []


async def test_r4_split_deposits_that_earn_more_commission_raise_an_alert(
    world: World,
) -> None:
    shop = world.agent_store
    profile = world.services.profile(world.platform.clock())
    parts = 2 * profile.commission("deposit", 600 * KSH)
    combined = profile.commission("deposit", 1_200 * KSH)
    assert combined < parts  # the tariff's own bands make the split pay
    split = await world.customer()
    made = [await world.deposit(split, 600 * KSH) for _ in range(2)]
    (alert,) = await alerts_on(world, "R4", shop)
    assert alert.details["customer_id"] == split.id and alert.details["agent_id"] == shop.id
    assert alert.details["commission_parts"] == parts
    assert alert.details["commission_combined"] == combined
    assert alert.details["total"] == 1_200 * KSH
    assert alert.details["request_ids"] == [response.request_id for response in made]
    no_secrets(alert, split, shop)
    # Near misses: parts that earn no more than one deposit would; two deposits just
    # outside the ten minutes; one deposit each at two agents.
    assert profile.commission("deposit", 5_100 * KSH) >= profile.commission(
        "deposit", 100 * KSH
    ) + profile.commission("deposit", 5_000 * KSH)
    fair = await world.customer()
    await world.deposit(fair, 100 * KSH)
    await world.deposit(fair, 5_000 * KSH)
    apart = await world.customer()
    await world.deposit(apart, 600 * KSH)
    later(world, 10 * MINUTE_NS + 1)
    await world.deposit(apart, 600 * KSH)
    elsewhere = await world.customer()
    await world.deposit(elsewhere, 600 * KSH)
    await deposit_at(world, await other_agent(world), elsewhere, 600)
    await stream_of(world.platform).drain()
    alerts = world.platform.alerts
    assert alerts is not None
    flagged = {alert.details["customer_id"] for alert in await alerts.list(rule="R4")}
    assert flagged == {split.id}


async def test_r5_a_cash_in_then_a_cash_out_elsewhere_raises_an_alert(world: World) -> None:
    shop, other = world.agent_store, await other_agent(world)
    carrier = await world.customer()
    cash_in = await world.deposit(carrier, 1_000 * KSH)
    later(world, 29 * MINUTE_NS)
    cash_out = await withdraw_at(world, carrier, other, 500)
    (alert,) = await alerts_on(world, "R5", shop)  # on the agent who took the cash in
    assert alert.details["customer_id"] == carrier.id
    assert alert.details["cash_in_agent_id"] == shop.id
    assert alert.details["cash_out_agent_id"] == other.id
    assert alert.details["cash_in_request_id"] == cash_in.request_id
    assert alert.details["cash_out_request_id"] == cash_out.request_id
    assert alert.details["cash_in_amount"] == 1_000 * KSH
    no_secrets(alert, carrier, shop, other)
    # Near misses: something else in between; the same agent; just outside 30 minutes.
    friend = await world.customer()
    busy = await world.customer()
    await world.deposit(busy, 1_000 * KSH)
    assert (await send(world, busy, friend, 100)).code is Code.OK
    await withdraw_at(world, busy, other, 500)
    same = await world.customer()
    await world.deposit(same, 1_000 * KSH)
    await withdraw_at(world, same, shop, 500)
    slow = await world.customer()
    await world.deposit(slow, 1_000 * KSH)
    later(world, 30 * MINUTE_NS + 1)
    await withdraw_at(world, slow, other, 500)
    await stream_of(world.platform).drain()
    alerts = world.platform.alerts
    assert alerts is not None
    flagged = {alert.details["customer_id"] for alert in await alerts.list(rule="R5")}
    assert flagged == {carrier.id}


async def fan_in(world: World, senders: int, ksh: int) -> tuple[Party, list[Response]]:
    """A wallet that ``senders`` people paid ``ksh`` each."""
    wallet = await world.customer()
    paid = []
    for _ in range(senders):
        sender = await world.customer(ksh + 200)
        response = await send(world, sender, wallet, ksh)
        assert response.code is Code.OK, response
        paid.append(response)
    return wallet, paid


async def test_r9_many_senders_cashed_out_at_once_raise_a_high_alert(world: World) -> None:
    shop = world.agent_store
    mule, paid = await fan_in(world, 3, 1_000)
    later(world, HOUR_NS)
    cash_out = await withdraw_at(world, mule, shop, 2_700)  # 90% of what came in
    (alert,) = await alerts_on(world, "R9", mule)
    assert alert.severity == "high"
    assert alert.details["senders"] == 3 and len(alert.details["sender_ids"]) == 3
    assert alert.details["received"] == 3_000 * KSH
    assert alert.details["cashed_out"] == 2_700 * KSH
    assert alert.details["request_ids"] == [response.request_id for response in paid]
    assert alert.details["cash_out_request_ids"] == [cash_out.request_id]
    no_secrets(alert, mule)
    # Near misses: just below the share; one sender too few; cashed out just too late.
    below, _ = await fan_in(world, 3, 1_000)
    await withdraw_at(world, below, shop, 2_690)
    few, _ = await fan_in(world, 2, 1_500)
    await withdraw_at(world, few, shop, 2_900)
    slow, _ = await fan_in(world, 3, 1_000)
    later(world, 2 * HOUR_NS + 1)
    await withdraw_at(world, slow, shop, 2_900)
    for party in (below, few, slow):
        assert await alerts_on(world, "R9", party) == []


async def reversed_sends(world: World, payer: Party, payee: Party, count: int) -> list[str]:
    """``count`` payments from ``payer`` to ``payee``, each then asked back: request ids."""
    assert payer.msisdn
    asked = []
    for _ in range(count):
        sent = await send(world, payer, payee, 100)
        assert sent.code is Code.OK and sent.receipt, sent
        response = await world.ask(
            "request_reversal", payer.msisdn, CUSTOMER_PIN, receipt=sent.receipt
        )
        assert response.code is Code.OK, response
        asked.append(response.request_id)
    return asked


async def test_r10_many_reversals_asked_for_and_received_raise_alerts(world: World) -> None:
    asker, recipient = await world.customer(1_000), await world.customer()
    asked = await reversed_sends(world, asker, recipient, 3)
    (alert,) = await alerts_on(world, "R10", asker)
    assert alert.details["side"] == "asked" and alert.details["count"] == 3
    assert alert.details["request_ids"] == asked
    assert alert.details["counterpart_ids"] == [recipient.id]
    assert alert.details["amounts"] == [100 * KSH] * 3
    (received,) = await alerts_on(world, "R10", recipient)
    assert received.details["side"] == "received" and received.details["request_ids"] == asked
    no_secrets(alert, asker, recipient)
    # One below the count, on either side: quiet.
    modest, other = await world.customer(1_000), await world.customer()
    await reversed_sends(world, modest, other, 2)
    assert await alerts_on(world, "R10", modest) == []
    assert await alerts_on(world, "R10", other) == []


async def test_windows_survive_a_restart_and_a_pattern_stays_one_alert(
    store_url: str, tmp_path: Path
) -> None:
    settings = stream_settings(store_url, tmp_path)
    async with running(settings) as platform:
        world = await World(platform).setup()
        structurer, done = await world.customer(), await world.customer()
        for _ in range(2):
            await world.deposit(structurer, 3_000 * KSH)
        for _ in range(3):
            await world.deposit(done, 3_000 * KSH)
        asker, recipient = await world.customer(1_000), await world.customer()
        await reversed_sends(world, asker, recipient, 2)
        assert await alerts_on(world, "R3", structurer) == []
        assert len(await alerts_on(world, "R3", done)) == 1
        assert await alerts_on(world, "R10", asker) == []
        numbers = [party.msisdn for party in (structurer, done, asker, recipient)]
    async with running(settings) as platform:
        world = await World(platform).setup()
        assert all(numbers)
        structurer, done, asker, recipient = (world.party(str(n)) for n in numbers)
        # Nothing raised again at start, and a pattern's next event finds its alert.
        assert len(await alerts_on(world, "R3", done)) == 1
        await world.deposit(done, 100 * KSH)
        assert len(await alerts_on(world, "R3", done)) == 1
        # The events before the restart still count.
        await world.deposit(structurer, 3_000 * KSH)
        (alert,) = await alerts_on(world, "R3", structurer)
        assert alert.details["count"] == 3 and alert.details["total"] == 9_000 * KSH
        await reversed_sends(world, asker, recipient, 1)
        (asked,) = await alerts_on(world, "R10", asker)
        assert asked.details["count"] == 3
        (received,) = await alerts_on(world, "R10", recipient)
        assert received.details["counterpart_ids"] == [asker.id]


async def test_r4_r5_r9_windows_survive_a_restart(store_url: str, tmp_path: Path) -> None:
    """A restart between the events just before each pattern and the one that completes
    it: the rule still fires after it; the near misses across it stay quiet."""
    settings = stream_settings(store_url, tmp_path)
    async with running(settings) as platform:
        world = await World(platform).setup()
        shop, other = world.agent_store, await other_agent(world)
        split, fair = await world.customer(), await world.customer()
        first = await world.deposit(split, 600 * KSH)  # R4: one part before
        await world.deposit(fair, 100 * KSH)  # near miss: the parts earn no more
        carrier, same = await world.customer(), await world.customer()
        cash_in = await world.deposit(carrier, 1_000 * KSH)  # R5: the cash-in before
        await world.deposit(same, 1_000 * KSH)  # near miss: cashed out where it came in
        mule, paid = await fan_in(world, 3, 1_000)  # R9: the senders before
        below, _ = await fan_in(world, 3, 1_000)  # near miss: just below the share
        for party in (split, carrier, mule):
            assert await alerts_on(world, "R4", party) == []
    async with running(settings) as platform:
        world = World(platform)
        second = await deposit_at(world, shop, split, 600)
        await deposit_at(world, shop, fair, 5_000)
        (r4,) = await alerts_on(world, "R4", shop)
        assert r4.details["customer_id"] == split.id
        assert r4.details["request_ids"] == [first.request_id, second.request_id]
        cash_out = await withdraw_at(world, carrier, other, 500)
        await withdraw_at(world, same, shop, 500)
        (r5,) = await alerts_on(world, "R5", shop)
        assert r5.details["customer_id"] == carrier.id
        assert r5.details["cash_in_request_id"] == cash_in.request_id
        assert r5.details["cash_out_request_id"] == cash_out.request_id
        await withdraw_at(world, mule, shop, 2_700)
        await withdraw_at(world, below, shop, 2_690)
        (r9,) = await alerts_on(world, "R9", mule)
        assert r9.details["request_ids"] == [response.request_id for response in paid]
        assert await alerts_on(world, "R9", below) == []


def test_cash_out_is_matched_to_the_oldest_payment_still_in_time() -> None:
    """R9's matching, by itself: a cash-out draws on the oldest payment it can, and a
    payment that waited longer than the limit counts as not cashed out in time."""
    h = HOUR_NS
    incoming = [Paid(0, 1, 100, "a"), Paid(3 * h, 2, 100, "b"), Paid(3 * h, 3, 100, "c")]
    # At 4 h the first payment is 4 h old (over the 2 h limit): only b and c are drawn.
    assert cashed_within(incoming, [Paid(4 * h, 9, 300, "x")], 2 * h) == 200
    # At 1 h only the first has arrived: the rest of the cash-out draws on nothing.
    assert cashed_within(incoming, [Paid(h, 9, 150, "x")], 2 * h) == 100
    # Two cash-outs share the payments out oldest first, never more than came in.
    outs = [Paid(h, 9, 60, "x"), Paid(3 * h + 1, 9, 500, "y")]
    assert cashed_within(incoming, outs, 2 * h) == 260


class Broken:
    """A stream rule with a bug."""

    def see(self, movement: Movement, profile: Profile | None) -> list[Hit]:
        raise RuntimeError("a bug")

    def sweep(self, now: int) -> None:
        """Nothing to forget."""


async def test_a_failing_stream_rule_does_not_fail_the_payment(world: World) -> None:
    stream = stream_of(world.platform)
    stream.rules = (Broken(), *stream.rules)
    party = await world.customer()
    response = await world.deposit(party, 3_000 * KSH)  # asserts the deposit was answered OK
    assert response.receipt
    assert stream.errors == 1


async def test_r3_counts_the_wallets_of_one_id_document_together(world: World) -> None:
    first = await world.customer()
    assert first.msisdn
    second_msisdn = world.msisdn()
    profile = world.services.profile(world.platform.clock())
    registered = await world.ask(
        "register",
        second_msisdn,
        CUSTOMER_PIN,
        name="Same Person",
        id_number=world.id_number(first.msisdn),  # the same ID document, another wallet
        tier=profile.tiers[-1],
        language="en",
    )
    assert registered.ok, registered
    second = world.party(second_msisdn)
    await world.deposit(first, 3_000 * KSH)
    await world.deposit(second, 3_000 * KSH)
    assert await alerts_on(world, "R3", second) == []  # two: one below the count
    await world.deposit(second, 3_000 * KSH)
    (alert,) = await alerts_on(world, "R3", second)
    assert alert.details["wallet_ids"] == sorted([first.id, second.id])
    assert alert.details["total"] == 9_000 * KSH
