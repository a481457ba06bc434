"""Kenya switched vouchers off on 2024-02-05, as M-Pesa did: a send to an unregistered number fails.

Method: on the Kenya profile in force, send money to a number nobody registered
(refused as not registered, nothing moves, no voucher row), and ask for the
voucher product by name (not offered). Cashing needs a voucher, so it finds none.
"""

from __future__ import annotations

import pytest

from mkoba.codes import Code
from tests.products.world import AGENT_PIN, CUSTOMER_PIN, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio


async def test_sending_to_an_unregistered_number_fails_in_kenya(world: World) -> None:
    profile = world.services.profile(world.platform.clock())
    assert not profile.voucher.enabled
    sender = await world.customer(1_000)
    assert sender.msisdn
    to = world.msisdn()
    response = await world.ask("send_money", sender.msisdn, CUSTOMER_PIN, to=to, amount="500")
    refused(response, Code.RECIPIENT_NOT_REGISTERED)
    named = await world.ask("send_unregistered", sender.msisdn, CUSTOMER_PIN, to=to, amount="500")
    refused(named, Code.UNKNOWN_PRODUCT)
    assert await world.available(wallet(sender)) == 1_000 * KSH
    assert await world.rows("SELECT COUNT(*) FROM vouchers") == [(0,)]
    assert await world.sms_to(to) == []


async def test_no_voucher_to_cash_in_kenya(world: World) -> None:
    _, (store,) = await world.agent()
    assert store.msisdn
    response = await world.ask(
        "redeem_voucher", store.msisdn, AGENT_PIN, recipient=world.msisdn(), code="12345678"
    )
    refused(response, Code.VOUCHER_NOT_FOUND)


async def test_the_books_balance(world: World) -> None:
    world.check_books()
