"""Products decide; TranProc writes. A PIN check or an allowance used commits with the outcome.

A product used to commit a credential row in the middle of its run (a wrong PIN
counted, a right one forgiving earlier wrong tries) and a look-up count on its
own. Now a product writes nothing while it runs: what its checks changed is
committed by the processor, with the payment, the record or the refusal, before
the answer leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mkoba.codes import Code
from mkoba.processor.context import Context
from mkoba.processor.request import Channel
from tests.products.world import CUSTOMER_PIN, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio


@pytest.fixture
def batches(world: World) -> Iterator[list[tuple[int, list[str]]]]:
    """Every batch TranProc hands the ledger writer: its transfers and the tables it writes.

    The outbox's own records of what it sent are left out: they come on their own.
    """
    writer = world.services.writer
    original = writer.submit_async
    seen: list[tuple[int, list[str]]] = []

    async def spy(transfers: list[Any], attach: Any = None) -> Any:
        tables: list[str] = []
        if callable(attach):
            inner: Callable[[Any], Any] = attach

            def attach_spy(results: Any) -> Any:
                writes = inner(results)
                tables[:] = [write.table for write in writes]
                return writes

            result = await original(transfers, attach_spy)
        else:
            tables[:] = [write.table for write in attach or []]
            result = await original(transfers, attach)
        if transfers or not all(table.startswith("outbox") for table in tables):
            seen.append((len(transfers), tables))
        return result

    writer.submit_async = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        writer.submit_async = original  # type: ignore[method-assign]


async def failed_attempts(world: World, party_id: int) -> tuple[int, int]:
    """The wrong tries in memory and in the store."""
    stored = await world.rows(
        "SELECT failed_attempts FROM pin_credentials WHERE party_id = ?", (party_id,)
    )
    return world.services.directory.credentials[party_id].failed_attempts, int(stored[0][0])


async def test_a_wrong_pin_is_one_batch_and_durable_before_the_answer(
    world: World, batches: list[tuple[int, list[str]]]
) -> None:
    payer = await world.customer(1_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    batches.clear()
    wrong = await world.ask("send_money", payer.msisdn, "0000", to=payee.msisdn, amount="10")
    refused(wrong, Code.WRONG_PIN)
    assert await failed_attempts(world, payer.id) == (1, 1)
    assert batches == [(0, ["pin_credentials"])]


async def test_a_right_pin_after_a_wrong_one_is_forgiven_in_the_payments_own_commit(
    world: World, batches: list[tuple[int, list[str]]]
) -> None:
    payer = await world.customer(1_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    refused(
        await world.ask("send_money", payer.msisdn, "0000", to=payee.msisdn, amount="10"),
        Code.WRONG_PIN,
    )
    batches.clear()
    request = world.request(
        "send_money", payer.msisdn, CUSTOMER_PIN, channel=Channel.STK, to=payee.msisdn, amount="10"
    )
    response = await world.platform.request(request)
    assert response.ok, response
    # One batch: the money, its records and the forgiven tries together.
    (first,) = batches
    assert first[0] > 0 and "pin_credentials" in first[1] and "requests" in first[1]
    assert await failed_attempts(world, payer.id) == (0, 0)
    assert await world.available(wallet(payer)) == 990 * KSH


async def test_a_right_pin_is_forgiven_even_when_the_payment_is_refused(
    world: World, batches: list[tuple[int, list[str]]]
) -> None:
    payer = await world.customer(5)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    refused(
        await world.ask("send_money", payer.msisdn, "0000", to=payee.msisdn, amount="10"),
        Code.WRONG_PIN,
    )
    short = await world.ask("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10")
    refused(short, Code.INSUFFICIENT_FUNDS)
    assert await failed_attempts(world, payer.id) == (0, 0)


async def test_a_pin_change_after_wrong_tries_leaves_the_new_pin_with_none(
    world: World, batches: list[tuple[int, list[str]]]
) -> None:
    payer = await world.customer(100)
    assert payer.msisdn
    refused(await world.ask("balance", payer.msisdn, "0000"), Code.WRONG_PIN)
    batches.clear()
    changed = await world.ask("change_pin", payer.msisdn, CUSTOMER_PIN, new_pin="8642")
    assert changed.ok, changed
    assert len(batches) == 1
    assert await failed_attempts(world, payer.id) == (0, 0)
    assert (await world.ask("balance", payer.msisdn, "8642")).ok
    refused(await world.ask("balance", payer.msisdn, CUSTOMER_PIN), Code.WRONG_PIN)


async def test_a_name_look_up_is_counted_in_one_batch_found_or_not(
    world: World, batches: list[tuple[int, list[str]]]
) -> None:
    asker = await world.customer()
    known = await world.customer()
    assert asker.msisdn and known.msisdn
    batches.clear()
    found = await world.ask("name_lookup", asker.msisdn, CUSTOMER_PIN, number=known.msisdn)
    assert found.ok, found
    missing = await world.ask("name_lookup", asker.msisdn, CUSTOMER_PIN, number=world.msisdn())
    refused(missing, Code.RECIPIENT_NOT_REGISTERED)
    assert [tables for _, tables in batches] == [["daily_usage"], ["daily_usage"]]
    stored = await world.rows(
        "SELECT used FROM daily_usage WHERE party_id = ? AND kind = 'lookups'", (asker.id,)
    )
    assert [int(row[0]) for row in stored] == [2]


async def test_counts_committed_alone_leave_the_pin_check_for_the_outcome(world: World) -> None:
    # TranProc commits a request's counts before its outcome and its PIN check with it:
    # committing the counts must not drop the check.
    payer = await world.customer(100)
    assert payer.msisdn
    refused(await world.ask("balance", payer.msisdn, "0000"), Code.WRONG_PIN)
    request = world.request("balance", payer.msisdn, CUSTOMER_PIN)
    ctx = Context(world.services, request, world.platform.clock())
    await ctx.verify_pin(payer)
    assert ctx.count(payer, "lookups") == 1
    await ctx.commit_checks(credentials=False)
    checked = ctx.checked()
    assert checked is not None and checked.credentials[0].failed_attempts == 0
    assert await failed_attempts(world, payer.id) == (1, 1)
    await ctx.commit_checks()
    assert await failed_attempts(world, payer.id) == (0, 0)
    assert ctx.checked() is None
