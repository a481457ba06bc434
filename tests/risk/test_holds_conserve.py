"""Money is conserved while compliance releases and refuses holds under a concurrent load.

Method: a real platform (each store) with R1 lowered to one payment an hour, so every
payer's second and later payments are held by the real rule in TranProc. Eight payers
send to four payees at once while a compliance task, at the same time, decides each
hold as it appears, and asks twice at once (release and refuse) so that only the first
word may count. Afterwards: each payee holds exactly the payments that were paid at
once or released; each payer paid the same price for each of those and nothing for
the refused ones; nothing is left reserved; the books reconcile.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mkoba.codes import Code
from mkoba.parties import Party
from tests.processor.world import running, settings_for
from tests.risk.test_inline_rules import risky_profile, send
from tests.world import KSH, World, wallet

pytestmark = pytest.mark.anyio

PAYERS, PAYEES, PAYMENTS_EACH, AMOUNT_KSH, START_KSH = 8, 4, 5, 500, 5_000


@pytest.fixture
async def world(store_url: str, tmp_path: Path) -> AsyncIterator[World]:
    profile = risky_profile(tmp_path, R1={"per_hour": 1})
    settings = settings_for(store_url, tmp_path, profile=profile)
    async with running(settings) as platform:
        yield await World(platform).setup()


async def test_holds_released_and_refused_under_load_create_and_lose_no_money(
    world: World,
) -> None:
    rng = random.Random(19)
    payers = [await world.customer(START_KSH) for _ in range(PAYERS)]
    payees = [await world.customer() for _ in range(PAYEES)]
    processor = world.platform.processor
    sent: dict[str, tuple[Party, Party, Code]] = {}
    decided: dict[str, bool] = {}  # a held request: posted (True) or given back
    paying = True

    async def pay(index: int, payer: Party) -> None:
        for number in range(PAYMENTS_EACH):
            payee, request_id = rng.choice(payees), f"pay-{index}-{number}"
            response = await send(world, payer, payee, AMOUNT_KSH, request_id=request_id)
            sent[request_id] = (payer, payee, response.code)
            await asyncio.sleep(rng.random() / 100)

    async def compliance() -> None:
        while paying or processor.deliveries.held():
            for request_id in processor.deliveries.held():
                approve = rng.random() < 0.5
                first, second = await asyncio.gather(
                    processor.release(request_id, approve),
                    processor.release(request_id, not approve),
                )
                # The first word decides; the second finds nothing held.
                assert (first, second) == (True, None), (request_id, first, second)
                decided[request_id] = approve
            await asyncio.sleep(0.005)

    deciding = asyncio.ensure_future(compliance())
    await asyncio.gather(*(pay(index, payer) for index, payer in enumerate(payers)))
    paying = False
    await deciding
    codes = Counter(code for _, _, code in sent.values())
    assert set(codes) == {Code.OK, Code.HELD_FOR_REVIEW}, codes
    held = {request_id for request_id, (_, _, code) in sent.items() if code is not Code.OK}
    assert set(decided) == held
    assert True in decided.values() and False in decided.values(), decided
    paid = [
        (payer, payee)
        for request_id, (payer, payee, code) in sent.items()
        if code is Code.OK or decided[request_id]
    ]
    # Each payee has exactly what was paid at once or released to it.
    for payee in payees:
        count = sum(1 for _, to in paid if to.id == payee.id)
        assert await world.available(wallet(payee)) == count * AMOUNT_KSH * KSH
    # Each payer paid one price (amount and fee) per payment made, none for one refused,
    # and has nothing left reserved.
    prices = set()
    for payer in payers:
        count = sum(1 for by, _ in paid if by.id == payer.id)
        spent = START_KSH * KSH - await world.available(wallet(payer))
        assert count > 0 and spent % count == 0, (count, spent)
        prices.add(spent // count)
    (price,) = prices
    assert price > AMOUNT_KSH * KSH  # the tariff charges a fee on Ksh 500
    balances = await asyncio.wrap_future(
        world.platform.writer.balances([wallet(payer) for payer in payers])
    )
    assert all(balance is not None and balance.debits_pending == 0 for balance in balances)
    assert processor.deliveries.held() == []
    world.check_books()
