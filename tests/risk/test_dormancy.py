"""Dormant wallets as a status: a customer wallet with no customer-initiated payment for
the profile's dormancy days (180 in Kenya) is marked dormant by the sweep, staff see it
in the console, it still pays and is paid, a deposit by someone else leaves it dormant,
and its owner's next allowed payment makes it active again. R8 still holds a dormant
wallet's first large payment after a SIM swap, and a held payment wakes nothing.

One platform for the module (on each store); time moves by its clock, forward only:
each test starts from the clock where the one before left it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import Party, PartyState
from mkoba.risk.alert_schema import Alert
from mkoba.risk.dormancy import Dormancy
from mkoba.risk.simswap import RecordedSimSwap
from tests.channels.console.staff import sign_in
from tests.conftest import MakePlatform
from tests.processor.world import running, settings_for
from tests.risk.test_inline_rules import engine, send
from tests.world import CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio
DAY_NS = 86_400 * 1_000_000_000


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    platform = await make_platform("dormancy")
    platform.clock.fixed = platform.clock()
    return platform


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return await World(platform).setup()


def sweeper(platform: Platform) -> Dormancy:
    dormancy = engine(platform).dormancy
    assert isinstance(dormancy, Dormancy)
    return dormancy


def later(platform: Platform, days: float) -> None:
    fixed = platform.clock.fixed
    assert fixed is not None
    platform.clock.fixed = fixed + int(days * DAY_NS)


async def stored_state(world: World, party: Party) -> str:
    (row,) = await world.rows("SELECT state FROM parties WHERE id = ?", (party.id,))
    return str(row[0])


async def audited(world: World, party: Party, action: str) -> int:
    rows = await world.rows(
        "SELECT COUNT(*) FROM audit_log WHERE subject_id = ? AND action = ?", (party.id, action)
    )
    return int(rows[0][0])


async def test_an_idle_wallet_is_marked_dormant_and_its_owners_payment_wakes_it(
    platform: Platform, world: World
) -> None:
    idle, payee, paid_lately = (
        await world.customer(2_000),
        await world.customer(),
        await world.customer(2_000),
    )
    assert idle.msisdn and payee.msisdn
    later(platform, 100)
    assert (await send(world, paid_lately, payee, 10)).code is Code.OK
    later(platform, 80)  # 180 days since idle opened; 80 since the other paid
    assert await sweeper(platform).sweep() >= 2  # idle and the payee (who never paid)
    assert world.party(idle.msisdn).state is PartyState.DORMANT
    assert await stored_state(world, idle) == "dormant"
    assert await audited(world, idle, "wallet_dormant") == 1
    assert paid_lately.msisdn and world.party(paid_lately.msisdn).state is PartyState.ACTIVE
    assert await sweeper(platform).sweep() == 0  # marked once

    # Staff see it: the customer view (API and page) says dormant.
    care = await sign_in(platform, "care_l1")
    seen = await care.get(f"/customers/{idle.id}")
    assert seen.status_code == 200 and seen.json()["state"] == "dormant"
    page = await care.client.get(f"/staff/customers/{idle.id}")
    assert page.status_code == 200 and 'class="state dormant"' in page.text
    assert "their next payment makes the wallet active again" in page.text

    # Money in by someone else (a deposit, a transfer) leaves it dormant.
    await world.deposit(idle, 500 * KSH)
    assert (await send(world, paid_lately, idle, 5)).code is Code.OK
    assert world.party(idle.msisdn).state is PartyState.DORMANT
    assert await stored_state(world, idle) == "dormant"

    # A payment its owner cannot make (more than the balance) wakes nothing.
    assert (await send(world, idle, payee, 1_000_000)).code is not Code.OK
    assert world.party(idle.msisdn).state is PartyState.DORMANT

    # The owner's own allowed payment goes through and makes it active, durably.
    assert (await send(world, idle, payee, 100)).code is Code.OK
    assert world.party(idle.msisdn).state is PartyState.ACTIVE
    assert await stored_state(world, idle) == "active"
    assert await audited(world, idle, "wallet_reactivated") == 1
    assert (await care.get(f"/customers/{idle.id}")).json()["state"] == "active"
    world.check_books()


async def test_a_wallet_a_day_short_of_the_dormancy_days_stays_active(
    platform: Platform, world: World
) -> None:
    quiet = await world.customer(100)
    later(platform, 179)
    await sweeper(platform).sweep()
    assert quiet.msisdn and world.party(quiet.msisdn).state is PartyState.ACTIVE
    later(platform, 1)
    await sweeper(platform).sweep()
    assert world.party(quiet.msisdn).state is PartyState.DORMANT


async def test_r8_holds_a_dormant_wallets_large_first_payment_after_a_swap(
    platform: Platform, world: World
) -> None:
    payer, known = await world.customer(30_000), await world.customer()
    assert payer.msisdn
    assert (await send(world, payer, known, 100)).code is Code.OK  # a payee known for later
    later(platform, 181)
    await sweeper(platform).sweep()
    assert world.party(payer.msisdn).state is PartyState.DORMANT
    swaps, before = RecordedSimSwap(), engine(platform).swaps
    engine(platform).swaps = swaps
    now = platform.clock()
    swaps.record(payer.msisdn, dt.datetime.fromtimestamp(now / 1e9 - 3_600, dt.UTC))
    engine(platform)._swap_cache.clear()
    try:
        held = await send(world, payer, known, 6_000)
        assert held.code is Code.HELD_FOR_REVIEW, held
        assert "R8" in {a.rule for a in await alerts_of(platform, payer)}
        # Held is not allowed yet: the wallet stays dormant until an allowed payment.
        assert world.party(payer.msisdn).state is PartyState.DORMANT
        assert await platform.processor.release(held.request_id, approve=False) is True
    finally:
        engine(platform).swaps = before
        engine(platform)._swap_cache.clear()
    assert (await send(world, payer, known, 50)).code is Code.OK
    assert world.party(payer.msisdn).state is PartyState.ACTIVE


async def test_an_agent_or_a_frozen_wallet_is_never_marked(
    platform: Platform, world: World
) -> None:
    frozen, sleeper = await world.customer(), await world.customer()
    assert frozen.msisdn and sleeper.msisdn
    assert (await world.by_staff("freeze_wallet", customer=frozen.msisdn, reason="test")).ok
    later(platform, 200)
    await sweeper(platform).sweep()
    assert world.party(frozen.msisdn).state is PartyState.FROZEN
    # A dormant wallet may be frozen, and is active once unfrozen.
    assert world.party(sleeper.msisdn).state is PartyState.DORMANT
    assert (await world.by_staff("freeze_wallet", customer=sleeper.msisdn, reason="test")).ok
    assert world.party(sleeper.msisdn).state is PartyState.FROZEN
    assert (await world.by_staff("unfreeze_wallet", customer=sleeper.msisdn)).ok
    assert world.party(sleeper.msisdn).state is PartyState.ACTIVE
    store = world.agent_store
    assert store.msisdn and world.party(store.msisdn).state is PartyState.ACTIVE


async def alerts_of(platform: Platform, party: Party) -> list[Alert]:
    alerts = platform.alerts
    assert alerts is not None
    return [a for a in await alerts.list(limit=500) if a.party_id == party.id]


async def test_money_taken_out_by_someone_else_is_no_activity_across_a_restart(
    store_url: str, tmp_path: Path
) -> None:
    """The activity the sweep reads is rebuilt at start from the payments their payers
    asked for: a reversal staff approved out of a wallet does not keep it awake."""
    settings = settings_for(store_url, tmp_path)
    async with running(settings) as platform:
        platform.clock.fixed = start = platform.clock()
        world = await World(platform).setup()
        payer, recipient, lately, friend = (
            await world.customer(1_000),
            await world.customer(),
            await world.customer(100),
            await world.customer(),
        )
        assert payer.msisdn
        later(platform, 2)  # the recipient opened two days before anything moved
        sent = await send(world, payer, recipient, 100)
        assert sent.code is Code.OK and sent.receipt
        assert (await send(world, lately, friend, 10)).code is Code.OK
        asked = await world.ask(
            "request_reversal", payer.msisdn, CUSTOMER_PIN, receipt=sent.receipt
        )
        assert asked.code is Code.OK, asked
        assert (await world.by_staff("approve_reversal", receipt=sent.receipt)).ok
    async with running(settings) as platform:
        platform.clock.fixed = start + 181 * DAY_NS
        world = World(platform)
        await sweeper(platform).sweep()
        assert recipient.msisdn and lately.msisdn
        assert world.party(recipient.msisdn).state is PartyState.DORMANT
        assert world.party(lately.msisdn).state is PartyState.ACTIVE  # paid 179 days ago


async def test_r8_holds_a_dormant_wallets_large_payment_after_a_pin_reset_by_care(
    platform: Platform, world: World
) -> None:
    # The reference's R8: dormant, then a PIN reset or a SIM swap, then value out. The
    # near miss first: dormant and no reset, the same payment goes through.
    quiet, payer, known = (
        await world.customer(30_000),
        await world.customer(30_000),
        await world.customer(),
    )
    assert quiet.msisdn and payer.msisdn
    later(platform, 181)
    await sweeper(platform).sweep()
    assert world.party(payer.msisdn).state is PartyState.DORMANT
    assert (await send(world, quiet, known, 6_000)).code is Code.OK
    await new_pin_after_reset(world, payer)
    held = await send(world, payer, known, 6_000)
    assert held.code is Code.HELD_FOR_REVIEW, held
    (alert,) = [a for a in await alerts_of(platform, payer) if a.rule == "R8"]
    assert "PIN reset" in alert.summary + str(alert.details)
    assert await platform.processor.release(held.request_id, approve=False) is True
    # A day later the reset is out of R8's window: a payment goes through and wakes it.
    later(platform, 1.01)
    assert (await send(world, payer, known, 6_000)).code is Code.OK
    assert world.party(payer.msisdn).state is PartyState.ACTIVE


async def test_r8_remembers_a_pin_reset_by_care_across_a_restart(
    store_url: str, tmp_path: Path
) -> None:
    """The resets R8 remembers are read again from the audit trail at start."""
    settings = settings_for(store_url, tmp_path)
    async with running(settings) as platform:
        platform.clock.fixed = platform.clock()
        world = await World(platform).setup()
        payer, known = await world.customer(30_000), await world.customer()
        assert payer.msisdn
        later(platform, 181)
        await new_pin_after_reset(world, payer)
        reset_at = platform.clock()
    async with running(settings) as platform:
        platform.clock.fixed = reset_at + DAY_NS // 24
        held = await send(World(platform), payer, known, 6_000)
        assert held.code is Code.HELD_FOR_REVIEW, held
        assert "R8" in {a.rule for a in await alerts_of(platform, payer)}
        assert await platform.processor.release(held.request_id, approve=False) is True


async def new_pin_after_reset(world: World, customer: Party) -> None:
    """Care resets ``customer``'s PIN; the customer changes the temporary PIN from the SMS
    back to ``CUSTOMER_PIN``."""
    assert customer.msisdn
    reset = await world.by_staff("reset_pin", customer=customer.msisdn)
    assert reset.code is Code.OK, reset
    (sms,) = [sms for sms in await world.sms(reset.request_id) if "temporary PIN" in sms.body]
    found = re.search(r"temporary PIN is (\d{4})\.", sms.body)
    assert found is not None
    changed = await world.ask("change_pin", customer.msisdn, found[1], new_pin=CUSTOMER_PIN)
    assert changed.code is Code.OK, changed
