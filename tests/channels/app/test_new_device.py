"""R7 on the app: a large first payment to a payee, from a device bound within the hour,
is held for compliance; the same at the threshold goes through."""

from __future__ import annotations

import httpx
import pytest

from tests.channels.app.bound import bound_phone
from tests.channels.app.test_pay import issued
from tests.products.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio


async def test_a_new_device_paying_a_new_payee_much_is_held(
    world: World, client: httpx.AsyncClient
) -> None:
    _shop, shop_app = await bound_phone(world, client, name="Duka Moja")
    other, other_app = await bound_phone(world, client, name="Duka Mbili")
    payer, payer_app = await bound_phone(world, client, 30_000, name="Neema Mpya")
    at_threshold = await issued(shop_app, 10_000 * KSH, "R7-NEAR")
    paid = await payer_app.call("POST", "/pay", {"payload": at_threshold, "pin": CUSTOMER_PIN})
    assert paid.status_code == 200, paid.text  # not over the threshold: paid
    before = await world.balances(wallet(payer), wallet(other))
    over = await issued(other_app, 10_000 * KSH + 1, "R7-OVER")
    held = await payer_app.call("POST", "/pay", {"payload": over, "pin": CUSTOMER_PIN})
    assert held.status_code == 409, held.text  # not paid (yet): the app shows why
    assert held.json()["error"]["code"] == "held_for_review"
    after = await world.balances(wallet(payer), wallet(other))
    assert after[1] == before[1]  # the payee has nothing until compliance releases it
    alerts = world.platform.alerts
    assert alerts is not None
    assert [a.rule for a in await alerts.list(rule="R7") if a.party_id == payer.id] == ["R7"]
    world.check_books()
