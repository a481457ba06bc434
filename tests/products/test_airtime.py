"""Buy airtime through a running platform, on both stores, with the in-process operator.

Method: customers buy airtime for themselves and for other numbers; the test
checks the wallet, the operator's airtime account, the airtime the operator
holds per number, and the SMS. The operator is then made to fail (refusing, or
raising) and the money must come back with AIRTIME_FAILED. A top-up that
happened is paid for even when the channel never confirms the response: the
operator cannot take airtime back.
"""

from __future__ import annotations

import pytest

from mkoba.codes import Code
from mkoba.processor.request import Response
from mkoba.products.airtime_gateway import MemoryOperator
from tests.products.world import AIRTIME, CUSTOMER_PIN, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio


def operator(world: World) -> MemoryOperator:
    gateway = world.platform.kit.airtime
    assert isinstance(gateway, MemoryOperator)
    return gateway


class Broken:
    """An operator whose top-ups blow up."""

    async def top_up(self, msisdn: str, amount: int, reference: str) -> bool:
        raise ConnectionError("operator unreachable")


async def test_buy_airtime_for_myself(world: World) -> None:
    payer = await world.customer(500)
    assert payer.msisdn
    before = await world.available(AIRTIME)
    response = await world.ask("buy_airtime", payer.msisdn, CUSTOMER_PIN, amount="100")
    assert response.code is Code.OK, response
    assert response.receipt is not None
    assert operator(world).balance(payer.msisdn) == 100 * KSH
    assert await world.balances(wallet(payer), AIRTIME) == [400 * KSH, before + 100 * KSH]
    receipt = await world.receipt(response.receipt)
    assert (receipt["product"], receipt["status"], receipt["amount"], receipt["fee"]) == (
        "buy_airtime",
        "completed",
        100 * KSH,
        0,
    )
    (sms,) = await world.sms(response.request_id)
    assert sms.recipient == payer.msisdn
    assert sms.body.startswith(f"{response.receipt} Confirmed. You bought Ksh100.00 of airtime on")
    assert "New M-PESA balance is Ksh400.00. Transaction cost, Ksh0.00." in sms.body


async def test_buy_airtime_for_another_number_tells_both(world: World) -> None:
    payer = await world.customer(500, name="Njeri Mwangi")
    other = world.msisdn()
    assert payer.msisdn
    response = await world.ask("buy_airtime", payer.msisdn, CUSTOMER_PIN, amount="50", to=other)
    assert response.ok, response
    assert operator(world).balance(other) == 50 * KSH
    assert operator(world).balance(payer.msisdn) == 0
    payer_sms, other_sms = await world.sms(response.request_id)
    assert payer_sms.recipient == payer.msisdn
    assert f"You bought Ksh50.00 of airtime for 0{other[3:]} on" in payer_sms.body
    assert other_sms.recipient == other
    assert other_sms.body.startswith(
        f"You have received Ksh50.00 airtime from NJERI MWANGI 0{payer.msisdn[3:]} on"
    )


@pytest.mark.parametrize("failure", ["refuses", "raises"])
async def test_a_failed_top_up_gives_the_money_back(world: World, failure: str) -> None:
    payer = await world.customer(500)
    assert payer.msisdn
    gateway = operator(world)
    if failure == "refuses":
        gateway.failing = True
    else:
        world.platform.kit.airtime = Broken()
    try:
        response = await world.ask("buy_airtime", payer.msisdn, CUSTOMER_PIN, amount="100")
    finally:
        gateway.failing = False
        world.platform.kit.airtime = gateway
    refused(response, Code.AIRTIME_FAILED)
    assert await world.available(wallet(payer)) == 500 * KSH
    assert gateway.balance(payer.msisdn) == 0
    stored = await world.rows(
        "SELECT c.status FROM requests AS r JOIN receipts AS c ON c.number = r.number"
        " WHERE r.id = ?",
        (response.request_id,),
    )
    assert stored == [("rolled_back",)]
    assert await world.sms(response.request_id) == []


async def test_a_top_up_is_paid_for_even_if_the_response_is_never_delivered(
    world: World,
) -> None:
    payer = await world.customer(500)
    assert payer.msisdn
    request = world.request("buy_airtime", payer.msisdn, CUSTOMER_PIN, amount="100")
    response = await world.platform.request(request)
    assert response.ok
    # The channel reports the answer lost: the airtime is on the phone, so the money stays.
    assert not await world.platform.acknowledge(request.id, False)
    assert operator(world).balance(payer.msisdn) == 100 * KSH
    assert await world.available(wallet(payer)) == 400 * KSH
    (found,) = await world.rows("SELECT status FROM requests WHERE id = ?", (request.id,))
    assert found == ("completed",)


async def test_buy_airtime_refusals(world: World) -> None:
    payer = await world.customer(50)
    assert payer.msisdn

    async def buy(amount: str, pin: str = CUSTOMER_PIN, **extra: str) -> Response:
        assert payer.msisdn
        return await world.ask("buy_airtime", payer.msisdn, pin, amount=amount, **extra)

    refused(await buy("4"), Code.BELOW_MINIMUM, "Ksh5.00")
    refused(await buy("10,001"), Code.ABOVE_MAXIMUM, "Ksh10,000.00")
    refused(await buy("60"), Code.INSUFFICIENT_FUNDS)
    refused(await buy("10", to="12345"), Code.INVALID_INPUT, "to")
    refused(await buy("10", pin="2222"), Code.WRONG_PIN)
    refused(
        await world.ask("buy_airtime", world.msisdn(), CUSTOMER_PIN, amount="10"),
        Code.NOT_REGISTERED,
    )
    assert (await buy("10", request_id="air-1")).ok
    refused(await buy("20", request_id="air-1"), Code.DUPLICATE_REQUEST)
    gateway = world.platform.kit.airtime
    world.platform.kit.airtime = None
    try:
        refused(await buy("10"), Code.AIRTIME_FAILED, "right now")
    finally:
        world.platform.kit.airtime = gateway
    assert await world.available(wallet(payer)) == 40 * KSH
    assert operator(world).balance(payer.msisdn) == 10 * KSH


async def test_the_books_balance(world: World) -> None:
    world.check_books()
