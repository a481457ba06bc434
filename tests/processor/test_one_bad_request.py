"""No single request stops the platform: a row the store cannot hold costs only itself.

Found by an attacker: one Daraja body with a lone surrogate reached the SQLite
commit process and killed it; from then on every send, withdrawal and balance
answered ``system_error`` while ``/health`` said ``ok``. The channels now refuse
such text at their edges; this test goes past them, as a channel's bug would,
and hands the ledger writer rows it cannot commit (a lone surrogate, a NUL, an
integer beyond 64 bits) in the middle of ordinary payments. Only those rows'
own commands fail; every payment beside them and after them succeeds, the
platform's health stays honest, and the books balance.
"""

from __future__ import annotations

import asyncio

import pytest

from mkoba.app import Platform
from mkoba.ledger import Write
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, KSH, World, api_client, wallet

pytestmark = pytest.mark.anyio

AUDIT = ("id", "at", "actor_id", "action", "subject_id", "detail")


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("bad-row")


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return World(platform)


@pytest.mark.parametrize(
    "value",
    [("bad\ud800", 1), ("nul\x00", 1), ("big", 2**70)],
    ids=["surrogate", "nul", "int-beyond-64-bits"],
)
async def test_a_row_the_store_cannot_hold_fails_only_its_own_request(
    platform: Platform, world: World, value: tuple[str, int]
) -> None:
    payers = [await world.customer(1_000) for _ in range(6)]
    payee = await world.customer()
    assert payee.msisdn and all(payer.msisdn for payer in payers)
    text, number = value
    bad = Write("audit_log", AUDIT, (f"bad-{id(value)}", number, 0, text, 0, "{}"))

    async def pay(msisdn: str) -> bool:
        sent = await world.ask("send_money", msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="10")
        return sent.ok

    async def poison() -> BaseException | None:
        try:
            await platform.writer.submit_async([], attach=[bad])
        except Exception as failure:
            return failure
        return None

    first = [asyncio.create_task(pay(payer.msisdn or "")) for payer in payers[:3]]
    failed = asyncio.create_task(poison())
    then = [asyncio.create_task(pay(payer.msisdn or "")) for payer in payers[3:]]
    assert await asyncio.gather(*first, *then) == [True] * 6
    failure = await failed
    # The store could hold text "nul\x00" (SQLite can): then nothing had to fail.
    if failure is None:
        assert "\x00" in text and not platform.writer.store.url.startswith("postgres")
    else:
        assert "\ud800" not in str(failure) and "\x00" not in str(failure)
    assert await world.available(wallet(payee)) == 6 * 10 * KSH
    # Later requests of every kind still work.
    assert await pay(payers[0].msisdn or "")
    balance = await world.ask("balance", payee.msisdn, CUSTOMER_PIN)
    assert balance.ok and balance.data["balance"] == 70 * KSH
    async with api_client(platform) as client:
        health = await client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["parts"]["writer"]["state"] == "ok", health.text
    world.check_books()
