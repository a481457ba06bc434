"""The outbox polls small batches on the loop and big ones on a thread: each message goes once.

On SQLite a poll after a small one runs on the event loop (no thread hop); after a
big one, on a thread. Whichever way a poll ran, every confirmation must reach its
party exactly once, and the outbox must end with nothing queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mkoba.outbox import sender
from mkoba.settings import Settings
from tests.processor.world import (
    CUSTOMER_PIN,
    World,
    call,
    eventually,
    inbox,
    rows,
    running,
    settings_for,
)

pytestmark = pytest.mark.anyio
PAYEES = 24


@pytest.fixture(scope="module")
def settings(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    made = settings_for(module_store_url, tmp_path_factory.mktemp("outbox"))
    # One payer sends dozens at once: the fraud rules would hold most of them (R1).
    return made.model_copy(update={"risk_rules": False})


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings) as platform:
        yield await World(platform).setup()


# 0: after any poll that found rows, the next runs on a thread; 10,000: always on the loop.
@pytest.mark.parametrize("inline_rows_max", [0, 10_000], ids=["thread-after-rows", "loop"])
async def test_every_confirmation_goes_out_once_whichever_way_the_outbox_polled(
    world: World, monkeypatch: pytest.MonkeyPatch, inline_rows_max: int
) -> None:
    monkeypatch.setattr(sender, "inline_rows_max", inline_rows_max)
    payer = await world.customer(100_000)
    payees = [await world.customer() for _ in range(PAYEES)]
    assert payer.msisdn is not None
    responses = await asyncio.gather(
        *(
            call(world.platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=p.msisdn, amount="10")
            for p in payees
            if p.msisdn is not None
        )
    )
    assert all(response.ok for response in responses), responses

    def received(msisdn: str | None) -> list[str]:
        assert msisdn is not None
        return [body for body in inbox(world.platform, msisdn) if "received" in body.lower()]

    async def all_arrived() -> bool:
        return all(received(p.msisdn) for p in payees)

    await eventually(all_arrived, what="every payee's confirmation")
    await asyncio.sleep(0.2)  # anything sent twice would arrive by now
    assert [len(received(p.msisdn)) for p in payees] == [1] * PAYEES
    sent = [body for body in inbox(world.platform, payer.msisdn) if "sent to" in body.lower()]
    assert len(sent) == PAYEES
    queued = await rows(world.platform, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'")
    assert queued == [(0,)]


async def test_a_failing_store_is_polled_less_often_logged_once_and_shown_in_health(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = world.platform.outbox
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        raise OSError("the store went away")

    monkeypatch.setattr(outbox, "send_due", broken)
    outbox.poke()
    await asyncio.sleep(1.0)
    # Every 50 ms would be 20 polls; doubling waits make it a handful.
    assert 2 <= calls <= 6, calls
    failed = [r for r in caplog.records if r.getMessage() == "outbox poll failed"]
    assert len(failed) == 1
    health = world.platform.health_report()[0]
    assert health["status"] == "degraded"
    assert health["parts"]["outbox"]["state"] == "failing"
    assert health["parts"]["outbox"]["last_failure"] == "OSError"
    monkeypatch.undo()

    async def recovered() -> bool:
        return world.platform.health_report()[0]["parts"]["outbox"]["state"] == "ok"

    await eventually(recovered, what="the outbox to poll again", timeout_s=10)


async def test_a_stop_lets_the_message_being_sent_be_marked_sent_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stopped between a message's delivery and its mark, the next start would send it
    # again (a B2C result callback came twice across a restart on a busy machine).
    outbox = world.platform.outbox
    gateway = outbox.gateways["sms"]
    real_send = gateway.send
    sending = asyncio.Event()
    payer, payee = await world.customer(1_000), await world.customer()
    assert payer.msisdn is not None and payee.msisdn is not None

    async def slow_send(message: Any) -> Any:
        if message.recipient == payee.msisdn and "received" in message.body:
            sending.set()
            await asyncio.sleep(0.5)
        return await real_send(message)

    monkeypatch.setattr(gateway, "send", slow_send)
    response = await call(
        world.platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10"
    )
    assert response.ok, response
    await asyncio.wait_for(sending.wait(), 10)
    await outbox.stop()
    queued = await rows(
        world.platform,
        "SELECT COUNT(*) FROM outbox WHERE request_id = ? AND state = 'queued'",
        (response.request_id,),
    )
    assert queued == [(0,)]
    assert any("received" in body for body in inbox(world.platform, payee.msisdn))
