"""Idempotency: every request carries an id, and a replay returns the original response.

Stripe's rules (reliability.md T4): the same id and body give the same answer,
byte for byte, without doing anything again; the same id with another body is
refused; concurrent copies execute once; an envelope that fails validation is
not remembered, so the corrected request may use the id; a business failure is
pinned to its id; an id older than the replay window is a new request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.commands.catalog import PayPerson
from mkoba.ledger import Transfer, TransferResult
from mkoba.processor import ids
from mkoba.processor import processor as processor_module
from mkoba.processor import request as request_module
from mkoba.processor.request import Channel
from mkoba.settings import Settings
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    TRUST,
    World,
    available,
    call,
    ledger_legs,
    request_of,
    request_state,
    rows,
    running,
    settings_for,
    wallet,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def settings(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(module_store_url, tmp_path_factory.mktemp("replay"))


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings) as platform:
        yield await World(platform).setup()


async def transfer_count(platform: Platform) -> int:
    return int((await rows(platform, "SELECT COUNT(*) FROM ledger_transfers"))[0][0])


async def test_a_replay_returns_the_original_response_and_moves_nothing(world: World) -> None:
    platform = world.platform
    payer = await world.customer(5_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    request = request_of(
        platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1000"
    )
    first = await platform.request(request)
    assert first.code is Code.OK and first.receipt
    assert await platform.acknowledge(request.id)
    transfers = await transfer_count(platform)
    for _ in range(10):
        # Each retry seals the PIN afresh, as a channel would: still the same request.
        again = request_of(
            platform,
            "send_money",
            payer.msisdn,
            CUSTOMER_PIN,
            request_id=request.id,
            to=payee.msisdn,
            amount="1000",
        )
        replay = await platform.request(again)
        assert replay.to_json() == first.to_json()
        assert replay.receipt == first.receipt
    assert await transfer_count(platform) == transfers
    assert await available(platform, wallet(payer)) == 3_987 * KSH
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    stored = await rows(platform, "SELECT response FROM requests WHERE id = ?", (request.id,))
    assert stored == [(first.to_json(),)]


async def test_the_same_id_for_another_request_is_refused(world: World) -> None:
    platform = world.platform
    payer = await world.customer(5_000)
    payee = await world.customer()
    other = await world.customer()
    assert payer.msisdn and payee.msisdn and other.msisdn
    request = request_of(
        platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1000"
    )
    first = await platform.request(request)
    assert first.code is Code.OK
    transfers = await transfer_count(platform)
    changed = [
        request._replace(command=PayPerson(payee.msisdn, 2000 * KSH)),
        request._replace(command=PayPerson(other.msisdn, 1000 * KSH)),
        request._replace(product="withdraw"),
        request._replace(channel=Channel.USSD),
        request._replace(msisdn=other.msisdn),
    ]
    for variant in changed:
        refusal = await platform.request(variant)
        assert refusal.code is Code.DUPLICATE_REQUEST, variant
        assert refusal.message == "This request id was already used for a different request."
        assert refusal.code.http_status == 409
    assert await transfer_count(platform) == transfers
    # The original is untouched and still completes.
    assert await platform.acknowledge(request.id)
    assert (await platform.request(request)).to_json() == first.to_json()
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    assert await available(platform, wallet(other)) == 0


async def test_concurrent_identical_requests_execute_once(world: World) -> None:
    platform = world.platform
    payer = await world.customer(5_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    request = request_of(
        platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1000"
    )
    copies = [
        request_of(
            platform,
            "send_money",
            payer.msisdn,
            CUSTOMER_PIN,
            request_id=request.id,
            to=payee.msisdn,
            amount="1000",
        )
        for _ in range(20)
    ]
    responses = await asyncio.gather(*(platform.request(copy) for copy in copies))
    assert {response.to_json() for response in responses} == {responses[0].to_json()}
    assert responses[0].code is Code.OK
    assert await platform.acknowledge(request.id)
    number, status, _, receipt = await request_state(platform, request.id)
    assert (status, receipt) == ("completed", "completed")
    assert await ledger_legs(platform, number) == {"pending": 3, "post": 3}
    receipts = await rows(
        platform, "SELECT COUNT(*) FROM receipts WHERE request_id = ?", (request.id,)
    )
    assert receipts == [(1,)]
    assert await available(platform, wallet(payer)) == 3_987 * KSH


async def test_invalid_envelopes_are_refused_and_not_remembered(world: World) -> None:
    platform = world.platform
    client = await world.customer(100)
    payee = await world.customer()
    assert client.msisdn and payee.msisdn
    good = request_of(platform, "balance", client.msisdn, CUSTOMER_PIN)
    too_long = "x" * (request_module.request_id_length_max + 1)
    send = request_of(
        platform, "send_money", client.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1"
    )
    cases = [
        (good._replace(id=""), "a request needs an id"),
        (good._replace(id=too_long), "request ids are at most 255 characters"),
        (good._replace(msisdn=""), "a request needs the requester's number"),
        (send._replace(command=PayPerson("1" * 513, 5)), "to is too long"),
        (send._replace(command=PayPerson(5, 5)), "to is not text"),  # type: ignore[arg-type]
    ]
    for request, message in cases:
        response = await platform.request(request)
        assert response.code is Code.INVALID_INPUT, response
        assert response.message == message
    # Nothing was remembered: the corrected request may use the same id.
    fixed = request_of(
        platform,
        "send_money",
        client.msisdn,
        CUSTOMER_PIN,
        request_id=good.id,
        to=payee.msisdn,
        amount="10",
    )
    invalid = fixed._replace(command=PayPerson("1" * 513, 10 * KSH))
    assert (await platform.request(invalid)).code is Code.INVALID_INPUT
    done = await platform.request(fixed)
    assert done.code is Code.OK, done
    # The longest id allowed is fine.
    longest = request_of(
        platform,
        "balance",
        client.msisdn,
        CUSTOMER_PIN,
        request_id="y" * request_module.request_id_length_max,
    )
    assert (await platform.request(longest)).code is Code.OK


async def test_a_business_failure_is_pinned_to_its_id(world: World) -> None:
    platform = world.platform
    payer = await world.customer(100)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    request = request_of(
        platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1000"
    )
    first = await platform.request(request)
    assert first.code is Code.INSUFFICIENT_FUNDS
    await world.deposit(payer, 5_000 * KSH)
    again = await platform.request(request)
    assert again.to_json() == first.to_json()
    assert await available(platform, wallet(payee)) == 0
    stored = await rows(platform, "SELECT status, code FROM requests WHERE id = ?", (request.id,))
    assert stored == [("failed", "insufficient_funds")]


async def test_replays_survive_a_restart(settings: Settings) -> None:
    async with running(settings) as platform:
        world = await World(platform).setup()
        payer = await world.customer(5_000)
        payee = await world.customer()
        assert payer.msisdn and payee.msisdn
        request = request_of(
            platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1000"
        )
        first = await platform.request(request)
        assert await platform.acknowledge(request.id)
    async with running(settings) as platform:
        replay = await platform.request(request)
        assert replay.to_json() == first.to_json()
        other = request._replace(command=PayPerson(payee.msisdn, 1 * KSH))
        assert (await platform.request(other)).code is Code.DUPLICATE_REQUEST
        assert await available(platform, wallet(payee)) == 1_000 * KSH


async def test_numbers_taken_without_a_request_are_not_reused_after_a_restart(
    settings: Settings,
) -> None:
    """Postings (demo history, float moves) number their transfers but store no request."""
    async with running(settings) as platform:
        world = await World(platform).setup()
        payer = await world.customer(5_000)
        payee = await world.customer()
        assert payer.msisdn and payee.msisdn
        services = platform.services
        profile = services.profile(services.clock())
        for _ in range(3):
            number = services.counter.next()
            gift = Transfer(
                ids.leg_id(number, 0, "direct"), TRUST, wallet(payee), 1, profile.ledger
            )
            assert await asyncio.wrap_future(services.writer.submit([gift])) == [TransferResult.OK]
    async with running(settings) as platform:
        # Committed at once (no deadline on this channel): its legs take the "direct" ids.
        answer = await call(
            platform,
            "send_money",
            payer.msisdn,
            CUSTOMER_PIN,
            channel=Channel.DARAJA,
            to=payee.msisdn,
            amount="100",
        )
        assert answer.code is Code.OK, answer
        assert await available(platform, wallet(payee)) == 100 * KSH + 3


async def test_an_id_older_than_the_replay_window_is_a_new_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = world.platform
    payer = await world.customer(5_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    request_id = "old-key"
    first = await call(
        platform,
        "send_money",
        payer.msisdn,
        CUSTOMER_PIN,
        request_id=request_id,
        to=payee.msisdn,
        amount="100",
    )
    assert first.code is Code.OK
    monkeypatch.setattr(processor_module, "replay_window_s", 0.2)
    await asyncio.sleep(0.3)
    # The next remembered request ages the old entry out of the window.
    newer = await call(
        platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="100"
    )
    assert newer.code is Code.OK
    reused = await call(
        platform,
        "send_money",
        payer.msisdn,
        CUSTOMER_PIN,
        request_id=request_id,
        to=payee.msisdn,
        amount="100",
    )
    assert reused.code is Code.OK, reused
    assert reused.receipt != first.receipt
    assert await available(platform, wallet(payee)) == 300 * KSH
    # The platform goes on working: the reused id did not break the ledger writer.
    after = await call(
        platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="100"
    )
    assert after.code is Code.OK, after
    stored = await rows(platform, "SELECT COUNT(*) FROM requests WHERE id = ?", (request_id,))
    assert stored == [(1,)]


async def test_a_retried_refusal_is_answered_from_memory(world: World) -> None:
    platform = world.platform
    client = await world.customer(100)
    payee = await world.customer()
    assert client.msisdn and payee.msisdn
    vault = platform.services.vault
    before = vault.verifications
    wrong = request_of(platform, "send_money", client.msisdn, "9999", to=payee.msisdn, amount="10")
    first = await platform.request(wrong)
    assert first.code is Code.WRONG_PIN and first.data == {"attempts_left": 4}
    for _ in range(3):  # a channel retrying after a timeout: still one wrong try
        assert (await platform.request(wrong)).to_json() == first.to_json()
    assert vault.verifications - before == 1
    assert platform.services.directory.credentials[client.id].failed_attempts == 1
    # A query's answer is kept too: its replay is the answer given, not a new one.
    query = request_of(platform, "balance", client.msisdn, CUSTOMER_PIN)
    answer = await platform.request(query)
    assert answer.data["balance"] == 100 * KSH
    await world.deposit(client, 50 * KSH)
    assert (await platform.request(query)).to_json() == answer.to_json()
    other = query._replace(product="mini_statement")
    assert (await platform.request(other)).code is Code.DUPLICATE_REQUEST


async def test_replays_forgotten_for_lack_of_memory_are_answered_from_the_store(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = world.platform
    payer = await world.customer(5_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    monkeypatch.setattr(processor_module, "replay_entries_max", 2)
    sends = [
        request_of(
            platform,
            "send_money",
            payer.msisdn,
            CUSTOMER_PIN,
            channel=Channel.SYSTEM,
            to=payee.msisdn,
            amount=str(amount),
        )
        for amount in (10, 20, 30, 40)
    ]
    answers = [await platform.request(send) for send in sends]
    assert all(answer.code is Code.OK for answer in answers)
    transfers = await transfer_count(platform)
    replay = await platform.request(sends[0])
    assert replay.to_json() == answers[0].to_json()
    changed = sends[0]._replace(command=PayPerson(payee.msisdn, 99 * KSH))
    assert (await platform.request(changed)).code is Code.DUPLICATE_REQUEST
    assert await transfer_count(platform) == transfers
    assert await available(platform, wallet(payee)) == 100 * KSH
