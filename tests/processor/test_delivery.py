"""M-Pesa's rule: money moves only if the response reached the user in time.

On the API channel (deadline 2 s in this module's profile) a send leaves its
legs pending. The channel's acknowledgement posts them; no acknowledgement by
the deadline, or a negative one, voids them, marks the receipt rolled back and
tells the payer by SMS. A late acknowledgement never posts; a duplicated one
posts once; a restart keeps each waiting request's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.ledger import TransferResult, WriterError
from mkoba.parties import Party
from mkoba.processor import delivery
from mkoba.processor.commit import ledger_grace_s, submit
from mkoba.processor.request import Request, Response
from mkoba.processor.transfers import resolutions_for
from mkoba.settings import Settings
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    World,
    available,
    balance,
    eventually,
    fast_profile,
    inbox,
    ledger_legs,
    request_of,
    request_state,
    rows,
    running,
    settings_for,
    wallet,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

DEADLINE_S = 2
ROLLED_BACK_SMS = "could not be completed and no money moved"


@pytest.fixture(scope="module")
def settings(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("delivery")
    return settings_for(module_store_url, folder, profile=fast_profile(folder, DEADLINE_S))


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings) as platform:
        yield await World(platform).setup()


async def pair(world: World) -> tuple[Party, Party]:
    """A payer holding 5,000 and a payee holding nothing."""
    payer = await world.customer(5_000)
    payee = await world.customer()
    return payer, payee


async def send(world: World, payer: Party, payee: Party, amount: str = "1000") -> Request:
    """A send of ``amount`` on the API channel, answered but not acknowledged; the request."""
    assert payee.msisdn is not None and payer.msisdn is not None
    request = request_of(
        world.platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount=amount
    )
    response = await world.platform.request(request)
    assert response.code is Code.OK, response
    return request


def texts(platform: Platform, party: Party, fragment: str) -> list[str]:
    assert party.msisdn is not None
    return [body for body in inbox(platform, party.msisdn) if fragment in body]


async def settled_sms(platform: Platform, party: Party, fragment: str, count: int = 1) -> None:
    async def arrived() -> bool:
        return len(texts(platform, party, fragment)) >= count

    await eventually(arrived, what=f"{count} SMS with {fragment!r}")


def after_the_ledger_timeout(platform: Platform) -> int:
    """A moment (ns) past the ledger's timeout of everything pending now.

    The ledger's clock never goes back: after an earlier test ran it ahead, its
    timestamps stay ahead of the wall clock for a while, so count from them.
    """
    ledger_now = max(time.time_ns(), platform.writer.engine.timestamp)
    return ledger_now + (DEADLINE_S + ledger_grace_s + 30) * 1_000_000_000


async def status_is(platform: Platform, request_id: str, status: str) -> bool:
    return (await request_state(platform, request_id))[1] == status


async def test_acknowledged_delivery_posts_the_money_and_sends_the_messages(world: World) -> None:
    platform = world.platform
    payer, payee = await pair(world)
    request = await send(world, payer, payee)
    number, status, _, receipt = await request_state(platform, request.id)
    assert (status, receipt) == ("pending", "pending")
    # Reserved, not moved: the payee cannot spend money that may still go back.
    assert (await balance(platform, wallet(payer))).debits_pending == 1_013 * KSH
    assert await available(platform, wallet(payee)) == 0
    assert texts(platform, payee, "received") == []
    assert await platform.acknowledge(request.id) is True
    assert await request_state(platform, request.id) == (number, "completed", "ok", "completed")
    assert await ledger_legs(platform, number) == {"pending": 3, "post": 3}
    assert await available(platform, wallet(payer)) == 3_987 * KSH
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    await settled_sms(platform, payer, "Ksh1,000.00 sent to")
    await settled_sms(platform, payee, "You have received Ksh1,000.00")
    assert texts(platform, payer, ROLLED_BACK_SMS) == []
    # Nothing is waiting any more: a second word on it changes nothing. The channel is
    # told the money stands (a replayed success may be shown), and no rollback happens.
    assert await platform.acknowledge(request.id) is True
    assert await platform.acknowledge(request.id, False) is False
    assert await ledger_legs(platform, number) == {"pending": 3, "post": 3}


async def test_no_acknowledgement_rolls_back_at_the_deadline_and_a_late_one_posts_nothing(
    world: World,
) -> None:
    platform = world.platform
    payer, payee = await pair(world)
    request = await send(world, payer, payee)
    started = time.monotonic()
    response_before = await platform.request(request)
    assert response_before.code is Code.OK
    await asyncio.sleep(DEADLINE_S / 2)
    assert await status_is(platform, request.id, "pending")

    async def rolled_back() -> bool:
        return await status_is(platform, request.id, "rolled_back")

    await eventually(rolled_back, what="the rollback at the deadline")
    assert time.monotonic() - started >= DEADLINE_S - 0.2
    number, _, code, receipt = await request_state(platform, request.id)
    assert (code, receipt) == ("rolled_back", "rolled_back")
    assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}
    assert await available(platform, wallet(payer)) == 5_000 * KSH
    assert (await balance(platform, wallet(payee))).credits_pending == 0
    assert await available(platform, wallet(payee)) == 0
    usage = await rows(
        platform, "SELECT used FROM daily_usage WHERE party_id = ? AND kind = 'value'", (payer.id,)
    )
    assert usage == [(0,)]
    await settled_sms(platform, payer, ROLLED_BACK_SMS)
    # A replay now says what happened: rolled back, safe to try again.
    replay = await platform.request(request)
    assert (replay.code, replay.receipt) == (Code.ROLLED_BACK, None)
    assert "no money moved" in replay.message
    # The acknowledgement arrives late: nothing posts, nothing more is said.
    assert await platform.acknowledge(request.id) is False
    posts = resolutions_for(3, number, post=True)
    results = await submit(platform.services, posts, lambda _results: [])
    assert TransferResult.OK not in results
    assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}
    await asyncio.sleep(0.3)  # let the outbox send anything it (wrongly) had
    assert len(texts(platform, payer, ROLLED_BACK_SMS)) == 1
    assert texts(platform, payer, "sent to") == []
    assert texts(platform, payee, "received") == []
    assert await available(platform, wallet(payer)) == 5_000 * KSH


async def test_duplicated_acknowledgements_post_once(world: World) -> None:
    platform = world.platform
    payer, payee = await pair(world)
    request = await send(world, payer, payee)
    answers = await asyncio.gather(*(platform.acknowledge(request.id) for _ in range(8)))
    # Each channel that asks may show the success: it stands, posted once.
    assert answers == [True] * 8
    assert await platform.acknowledge(request.id) is True
    number, status, _, receipt = await request_state(platform, request.id)
    assert (status, receipt) == ("completed", "completed")
    assert await ledger_legs(platform, number) == {"pending": 3, "post": 3}
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    await settled_sms(platform, payee, "You have received")
    await asyncio.sleep(0.3)
    assert len(texts(platform, payee, "You have received")) == 1
    assert len(texts(platform, payer, "sent to")) == 1


async def test_a_post_whose_answer_was_lost_still_stands_when_its_deadline_comes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The post commits but the store's answer is lost (a connection cut after COMMIT):
    # the processor waits again; the deadline's rollback then finds the money posted.
    # A channel asking meanwhile must be told it stands (the postgres-kill scenario
    # once saw a success callback and then a "rolled back" one for the same payment).
    platform = world.platform
    payer, payee = await pair(world)
    assert payer.msisdn is not None
    request = await send(world, payer, payee)
    real_settle = delivery.settle
    lost: list[str] = []

    async def answer_lost(services: Any, awaiting: Any, now: int) -> bool:
        await real_settle(services, awaiting, now)
        if not lost:
            lost.append(awaiting.request_id)
            raise WriterError("the answer to the commit was lost")
        return True

    monkeypatch.setattr(delivery, "settle", answer_lost)
    with pytest.raises(WriterError):
        await platform.acknowledge(request.id)
    number, status, _, _ = await request_state(platform, request.id)
    assert status == "completed"
    # The deadline comes while the payer's lock is busy: the rollback waits, and so
    # does a channel's acknowledgement that arrives meanwhile.
    deliveries = platform.processor.deliveries
    async with deliveries.locks.hold(payer.msisdn):
        await asyncio.sleep(DEADLINE_S + 0.3)
        asked = asyncio.ensure_future(platform.acknowledge(request.id))
        await asyncio.sleep(0.1)
        assert not asked.done()
    assert await asked is True
    assert await platform.acknowledge(request.id) is True
    assert (await request_state(platform, request.id))[1] == "completed"
    assert await ledger_legs(platform, number) == {"pending": 3, "post": 3}
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    await settled_sms(platform, payee, "You have received")
    await asyncio.sleep(0.3)
    assert texts(platform, payer, ROLLED_BACK_SMS) == []


async def test_negative_acknowledgement_rolls_back_at_once(world: World) -> None:
    platform = world.platform
    payer, payee = await pair(world)
    request = await send(world, payer, payee)
    started = time.monotonic()
    assert await platform.acknowledge(request.id, False) is True
    assert time.monotonic() - started < DEADLINE_S
    number, status, code, receipt = await request_state(platform, request.id)
    assert (status, code, receipt) == ("rolled_back", "rolled_back", "rolled_back")
    assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}
    assert await available(platform, wallet(payer)) == 5_000 * KSH
    await settled_sms(platform, payer, ROLLED_BACK_SMS)
    assert await platform.acknowledge(request.id) is False
    assert await platform.acknowledge(request.id, False) is False
    # The deadline passes too: nothing happens twice.
    await asyncio.sleep(DEADLINE_S + 0.3)
    assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}
    assert len(texts(platform, payer, ROLLED_BACK_SMS)) == 1


async def test_only_waiting_requests_can_be_acknowledged(world: World) -> None:
    platform = world.platform
    payer, _ = await pair(world)
    assert payer.msisdn is not None
    query = request_of(platform, "balance", payer.msisdn, CUSTOMER_PIN)
    assert (await platform.request(query)).code is Code.OK
    # Nothing was pending: an answer that moved no money stands as it is.
    assert await platform.acknowledge(query.id) is True
    assert await platform.acknowledge(query.id, False) is False
    assert await platform.acknowledge("never-seen", False) is False


async def test_restart_while_pending_keeps_the_deadline(settings: Settings) -> None:
    async with running(settings) as platform:
        world = await World(platform).setup()
        payer, payee = await pair(world)
        request = await send(world, payer, payee)
    # A restart neither voids it early nor lets it wait longer: it is rolled back at the
    # deadline it had (``test_restart_pending.py`` posts one acknowledged after a crash).
    async with running(settings) as platform:

        async def rolled_back() -> bool:
            return await status_is(platform, request.id, "rolled_back")

        await eventually(rolled_back, what="the rollback at the deadline")
        number, status, code, receipt = await request_state(platform, request.id)
        assert (status, code, receipt) == ("rolled_back", "rolled_back", "rolled_back")
        ((created, updated),) = await rows(
            platform, "SELECT created, updated FROM requests WHERE id = ?", (request.id,)
        )
        assert int(updated) >= int(created) + DEADLINE_S * 1_000_000_000
        assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}
        assert await available(platform, wallet(payer)) == 5_000 * KSH
        assert await available(platform, wallet(payee)) == 0
        await settled_sms(platform, payer, ROLLED_BACK_SMS)
        replay = await platform.request(request)
        assert replay.code is Code.ROLLED_BACK
        assert await platform.acknowledge(request.id) is False
        assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}


async def test_restart_after_the_ledger_expired_it_brings_the_records_in_line(
    settings: Settings,
) -> None:
    async with running(settings) as platform:
        world = await World(platform).setup()
        payer, payee = await pair(world)
        request = await send(world, payer, payee)
        later = after_the_ledger_timeout(platform)
    platform = Platform(settings)
    # The processor comes back long after the ledger's own timeout (deadline + grace).
    platform.clock.fixed = later
    await platform.start()
    try:
        number, status, code, receipt = await request_state(platform, request.id)
        assert (status, code, receipt) == ("rolled_back", "rolled_back", "rolled_back")
        assert await ledger_legs(platform, number) == {"pending": 3, "expiry": 3}
        assert await available(platform, wallet(payer)) == 5_000 * KSH
        await settled_sms(platform, payer, ROLLED_BACK_SMS)
        assert (await platform.request(request)).code is Code.ROLLED_BACK
    finally:
        platform.clock.fixed = None
        await platform.stop()


async def test_acknowledgement_after_the_ledger_expired_it_rolls_back(world: World) -> None:
    platform = world.platform
    payer, payee = await pair(world)
    request = await send(world, payer, payee)
    # The acknowledgement reaches the processor only after the ledger's own timeout.
    platform.clock.fixed = after_the_ledger_timeout(platform)
    try:
        await asyncio.wrap_future(platform.writer.sweep())
        number, status, _, _ = await request_state(platform, request.id)
        assert status == "pending"
        assert await ledger_legs(platform, number) == {"pending": 3, "expiry": 3}
        assert await platform.acknowledge(request.id) is False
        number, status, code, receipt = await request_state(platform, request.id)
        assert (status, code, receipt) == ("rolled_back", "rolled_back", "rolled_back")
        assert await ledger_legs(platform, number) == {"pending": 3, "expiry": 3}
        await settled_sms(platform, payer, ROLLED_BACK_SMS)
    finally:
        platform.clock.fixed = None
    replay: Response = await platform.request(request)
    assert replay.code is Code.ROLLED_BACK
    assert await available(platform, wallet(payer)) == 5_000 * KSH
    assert await available(platform, wallet(payee)) == 0
    assert texts(platform, payee, "received") == []


async def test_duplicated_acknowledgements_of_an_expired_send_all_say_rolled_back(
    world: World,
) -> None:
    platform = world.platform
    payer, payee = await pair(world)
    request = await send(world, payer, payee)
    platform.clock.fixed = after_the_ledger_timeout(platform)
    try:
        await asyncio.wrap_future(platform.writer.sweep())
        # Fronts retrying at once while the first finds the legs expired: none may show
        # the success, each waits for the first's outcome.
        answers = await asyncio.gather(*(platform.acknowledge(request.id) for _ in range(4)))
        assert answers == [False] * 4
    finally:
        platform.clock.fixed = None
    assert (await request_state(platform, request.id))[1] == "rolled_back"
    assert await available(platform, wallet(payer)) == 5_000 * KSH
    assert await available(platform, wallet(payee)) == 0


def test_the_profile_has_the_short_deadline(settings: Settings) -> None:
    from mkoba.catalog import load_catalog

    profile = load_catalog(Path(settings.profile)).current()
    assert profile.deadline_s("api") == DEADLINE_S
    assert profile.deadline_s("daraja") == 0
