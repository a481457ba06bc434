"""Gift vouchers: bought for any phone, used at a till or cashed into a wallet, refunded on lapse.

Method: a Kenya world (a gift is Ksh10 to Ksh5,000, free up to Ksh1,000 and
Ksh10 above; it lives 30 days). The test buys gifts, reads the code from the
recipient's SMS as the recipient would, and uses it at a merchant's till or
cashes it; it checks the money at each step (the buyer's wallet, the operator's
gift account, fee income, the till or the recipient's wallet), that the code is
stored only as a digest, that a gift is used once even when two try at once,
that guessing is cut off, and that a lapsed gift goes back to its buyer, the
fee kept.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from mkoba.codes import Code
from mkoba.parties import OPERATOR_ID, Party, PartyKind, Purpose, Role, account_id
from mkoba.processor.request import Response
from mkoba.products import app_sweep
from tests.products.world import (
    BUSINESS_PIN,
    CUSTOMER_PIN,
    EXCISE,
    FEES,
    KSH,
    World,
    refused,
    wallet,
)

pytestmark = pytest.mark.anyio
DAY_NS = 86_400 * 1_000_000_000
GIFTS = account_id(OPERATOR_ID, Purpose.GIFTS)


@pytest.fixture(scope="module")
async def ready(world: World) -> World:
    return await world.setup()


async def merchant(world: World) -> Party:
    return await world.add_party(
        PartyKind.MERCHANT,
        "Java House",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.TILL,),
        roles=(Role.MERCHANT,),
        pin=BUSINESS_PIN,
    )


def till(party: Party) -> int:
    return account_id(party.id, Purpose.TILL)


async def buy(world: World, buyer: Party, to: str, amount: str = "500", **extra: str) -> Response:
    assert buyer.msisdn
    pin = extra.pop("pin", CUSTOMER_PIN)
    return await world.ask("buy_gift", buyer.msisdn, pin, to=to, amount=amount, **extra)


async def code_sent_to(world: World, msisdn: str) -> str:
    """The gift code in the last SMS to ``msisdn``, as the recipient reads it."""
    texts = await world.sms_to(msisdn)
    found = re.search(r"code, (\d{8}),", texts[-1])
    assert found is not None, texts
    return found.group(1)


async def redeem(world: World, shop: Party, recipient: str, code: str, **extra: str) -> Response:
    assert shop.msisdn
    pin = extra.pop("pin", BUSINESS_PIN)
    return await world.ask("redeem_gift", shop.msisdn, pin, recipient=recipient, code=code, **extra)


async def test_buying_a_gift_for_an_unregistered_number(ready: World) -> None:
    world = ready
    buyer = await world.customer(3_000, name="Neema Atieno")
    to = world.msisdn()
    gifts, fees = await world.available(GIFTS), sum(await world.balances(FEES, EXCISE))
    response = await buy(world, buyer, to, "2000")
    assert response.code is Code.OK, response
    assert response.receipt is not None
    assert await world.available(wallet(buyer)) == (3_000 - 2_010) * KSH
    assert await world.available(GIFTS) == gifts + 2_000 * KSH
    assert sum(await world.balances(FEES, EXCISE)) == fees + 10 * KSH
    receipt = await world.receipt(response.receipt)
    assert (receipt["product"], receipt["amount"], receipt["fee"], receipt["reference"]) == (
        "buy_gift",
        2_000 * KSH,
        10 * KSH,
        to,
    )
    buyer_sms, recipient_sms = await world.sms(response.request_id)
    assert buyer_sms.recipient == buyer.msisdn
    assert f"A gift of Ksh2,000.00 sent to 0{to[3:]} on" in buyer_sms.body
    assert "Transaction cost, Ksh10.00." in buyer_sms.body
    assert recipient_sms.recipient == to
    assert f"NEEMA ATIENO 0{buyer.msisdn[3:]} has sent you an M-PESA gift of Ksh2,000.00" in (
        recipient_sms.body
    )
    code = await code_sent_to(world, to)
    ((digest, amount, fee, state, life),) = await world.rows(
        "SELECT digest, amount, fee, state, expires - created FROM gifts WHERE request_id = ?",
        (response.request_id,),
    )
    assert (amount, fee, state, life) == (2_000 * KSH, 10 * KSH, "issued", 30 * DAY_NS)
    assert code not in digest
    assert len(digest) == 64


async def test_a_till_takes_a_gift_once(ready: World) -> None:
    world = ready
    buyer = await world.customer(1_000, name="Neema Atieno")
    shop = await merchant(world)
    other = await merchant(world)
    to = world.msisdn()
    bought = await buy(world, buyer, to, "300")
    code = await code_sent_to(world, to)
    gifts = await world.available(GIFTS)
    used = await redeem(world, shop, to, code)
    assert used.code is Code.OK, used
    assert used.receipt is not None
    assert await world.balances(GIFTS, till(shop)) == [gifts - 300 * KSH, 300 * KSH]
    receipt = await world.receipt(used.receipt)
    assert (receipt["product"], receipt["payee_id"], receipt["reference"]) == (
        "redeem_gift",
        shop.id,
        bought.receipt,
    )
    texts = {sms.recipient: sms.body for sms in await world.sms(used.request_id)}
    assert f"Gift of Ksh300.00 from 0{to[3:]} taken on" in texts[shop.msisdn]
    assert "New Till balance is Ksh300.00." in texts[shop.msisdn]
    assert "Your gift of Ksh300.00 was used at JAVA HOUSE" in texts[to]
    assert (
        f"Your gift of Ksh300.00 to 0{to[3:]} ({bought.receipt}) was used" in (texts[buyer.msisdn])
    )
    refused(await redeem(world, other, to, code), Code.VOUCHER_NOT_FOUND, "already been used")
    assert await redeem(world, shop, to, code, request_id=used.request_id) == used
    assert await world.balances(GIFTS, till(other)) == [gifts - 300 * KSH, 0]


async def test_a_registered_recipient_cashes_a_gift_into_the_wallet(ready: World) -> None:
    world = ready
    buyer = await world.customer(1_000, name="Neema Atieno")
    friend = await world.customer(0)
    stranger = await world.customer(0)
    assert friend.msisdn and stranger.msisdn
    await buy(world, buyer, friend.msisdn, "250")
    code = await code_sent_to(world, friend.msisdn)
    # The code is bound to the friend's number: on another phone it finds nothing.
    refused(
        await world.ask("cash_gift", stranger.msisdn, CUSTOMER_PIN, code=code),
        Code.VOUCHER_NOT_FOUND,
    )
    cashed = await world.ask("cash_gift", friend.msisdn, CUSTOMER_PIN, code=code)
    assert cashed.code is Code.OK, cashed
    assert await world.balances(wallet(friend), wallet(stranger)) == [250 * KSH, 0]
    texts = await world.sms_to(friend.msisdn)
    assert "Your gift of Ksh250.00 from NEEMA ATIENO is in your M-PESA" in texts[-1]
    assert "New M-PESA balance is Ksh250.00." in texts[-1]
    refused(
        await world.ask("cash_gift", friend.msisdn, CUSTOMER_PIN, code=code),
        Code.VOUCHER_NOT_FOUND,
        "already been used",
    )


async def test_the_recipient_pays_a_till_with_the_gift(ready: World) -> None:
    world = ready
    buyer = await world.customer(1_000, name="Neema Atieno")
    friend = await world.customer(0)
    stranger = await world.customer(0)
    shop = await merchant(world)
    assert friend.msisdn and stranger.msisdn and shop.number
    await buy(world, buyer, friend.msisdn, "350")
    code = await code_sent_to(world, friend.msisdn)

    async def at_till(who: Party, till: str, **extra: str) -> Response:
        assert who.msisdn
        return await world.ask(
            "redeem_gift", who.msisdn, CUSTOMER_PIN, till=till, code=code, **extra
        )

    refused(await at_till(stranger, shop.number), Code.VOUCHER_NOT_FOUND)
    refused(
        await at_till(stranger, shop.number, recipient=friend.msisdn),
        Code.NOT_ALLOWED,
        "from the phone it was sent to",
    )
    refused(await at_till(friend, "999999"), Code.UNKNOWN_TILL)
    gifts = await world.available(GIFTS)
    paid = await at_till(friend, shop.number)
    assert paid.code is Code.OK, paid
    assert await world.balances(GIFTS, till(shop), wallet(friend)) == [
        gifts - 350 * KSH,
        350 * KSH,
        0,
    ]
    texts = {sms.recipient: sms.body for sms in await world.sms(paid.request_id)}
    assert "Your gift of Ksh350.00 was used at JAVA HOUSE" in texts[friend.msisdn]
    assert f"Gift of Ksh350.00 from 0{friend.msisdn[3:]} taken on" in texts[shop.msisdn]
    refused(await at_till(friend, shop.number), Code.VOUCHER_NOT_FOUND, "already been used")


async def test_a_till_and_the_recipient_at_once_use_it_once(ready: World) -> None:
    world = ready
    buyer = await world.customer(1_000)
    friend = await world.customer(0)
    shop = await merchant(world)
    assert friend.msisdn
    await buy(world, buyer, friend.msisdn, "400")
    code = await code_sent_to(world, friend.msisdn)
    gifts = await world.available(GIFTS)
    answers = await asyncio.gather(
        redeem(world, shop, friend.msisdn, code),
        world.ask("cash_gift", friend.msisdn, CUSTOMER_PIN, code=code),
    )
    assert sorted(answer.code for answer in answers) == [Code.OK, Code.VOUCHER_NOT_FOUND]
    assert sorted(await world.balances(till(shop), wallet(friend))) == [0, 400 * KSH]
    assert await world.available(GIFTS) == gifts - 400 * KSH


async def test_buying_refusals(ready: World) -> None:
    world = ready
    buyer = await world.customer(6_000)
    assert buyer.msisdn
    refused(await buy(world, buyer, world.msisdn(), "5,001"), Code.ABOVE_MAXIMUM, "Ksh5,000.00")
    refused(await buy(world, buyer, world.msisdn(), "9"), Code.BELOW_MINIMUM, "Ksh10.00")
    refused(await buy(world, buyer, buyer.msisdn, "100"), Code.SAME_ACCOUNT, "someone else")
    refused(await buy(world, buyer, "0800", "100"), Code.INVALID_INPUT, "to")
    refused(await buy(world, buyer, world.msisdn(), "100", pin="0000"), Code.WRONG_PIN)
    poor = await world.customer(50)
    refused(await buy(world, poor, world.msisdn(), "51"), Code.INSUFFICIENT_FUNDS)
    assert await world.balances(wallet(buyer), wallet(poor)) == [6_000 * KSH, 50 * KSH]


async def test_wrong_codes_are_counted_and_the_till_is_stopped(ready: World) -> None:
    world = ready
    buyer = await world.customer(1_000)
    shop = await merchant(world)
    to = world.msisdn()
    await buy(world, buyer, to, "100")
    code = await code_sent_to(world, to)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(5):
        refused(await redeem(world, shop, to, wrong), Code.VOUCHER_NOT_FOUND)
    refused(await redeem(world, shop, to, code), Code.NOT_ALLOWED, "Too many wrong gift codes")
    fresh = await merchant(world)
    refused(await redeem(world, fresh, world.msisdn(), code), Code.VOUCHER_NOT_FOUND)
    refused(await redeem(world, fresh, to, "1234"), Code.INVALID_INPUT, "8 digits")
    refused(await redeem(world, fresh, to, code, pin="0000"), Code.WRONG_PIN)
    customer = await world.customer(0)
    assert customer.msisdn
    not_till = await world.ask(
        "redeem_gift", customer.msisdn, CUSTOMER_PIN, recipient=to, code=code
    )
    refused(not_till, Code.INVALID_INPUT, "till")
    assert (await redeem(world, fresh, to, code)).ok


async def test_a_lapsed_gift_goes_back_to_the_buyer_without_the_fee(ready: World) -> None:
    world = ready
    buyer = await world.customer(3_000)
    shop = await merchant(world)
    to = world.msisdn()
    bought = await buy(world, buyer, to, "1500")
    code = await code_sent_to(world, to)
    assert await world.available(wallet(buyer)) == (3_000 - 1_510) * KSH
    ((expires,),) = await world.rows(
        "SELECT expires FROM gifts WHERE request_id = ?", (bought.request_id,)
    )
    await app_sweep.sweep(world.services, expires - 1)
    assert await world.available(wallet(buyer)) == (3_000 - 1_510) * KSH
    state = await world.rows("SELECT state FROM gifts WHERE request_id = ?", (bought.request_id,))
    assert state == [("issued",)]
    gifts = await world.available(GIFTS)
    swept = await app_sweep.sweep(world.services, expires)
    assert swept.refunded >= 1
    assert await world.available(wallet(buyer)) == (3_000 - 10) * KSH
    assert await world.available(GIFTS) <= gifts - 1_500 * KSH
    texts = await world.sms_to(buyer.msisdn or "")
    assert f"Your gift of Ksh1,500.00 to 0{to[3:]} ({bought.receipt}) was not used" in texts[-1]
    state = await world.rows("SELECT state FROM gifts WHERE request_id = ?", (bought.request_id,))
    assert state == [("refunded",)]
    refused(await redeem(world, shop, to, code), Code.VOUCHER_NOT_FOUND, "gone back to the buyer")
    assert (await app_sweep.sweep(world.services, expires + 1)).refunded == 0


async def test_a_rolled_back_purchase_makes_no_gift(ready: World) -> None:
    world = ready
    buyer = await world.customer(1_000)
    assert buyer.msisdn
    to = world.msisdn()
    request = world.request("buy_gift", buyer.msisdn, CUSTOMER_PIN, to=to, amount="100")
    assert (await world.platform.request(request)).ok
    assert await world.platform.acknowledge(request.id, False)
    assert await world.available(wallet(buyer)) == 1_000 * KSH
    assert await world.sms_to(to) == []
    swept = await app_sweep.sweep(world.services, world.platform.clock() + 3_600 * 10**9)
    assert swept.voided >= 1
    state = await world.rows("SELECT state FROM gifts WHERE request_id = ?", (request.id,))
    assert state == [("void",)]


async def test_the_books_balance(ready: World) -> None:
    ready.check_books()
