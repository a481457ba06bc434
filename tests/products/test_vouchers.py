"""Money to unregistered numbers (vouchers) on the campus profile, which has them, on both stores.

Method: a campus world (send_unregistered costs a flat 10, at most 2,000; a
voucher lives 7 days). Customers send to numbers nobody registered; the test
reads the code from the recipient's SMS, as the recipient would, and cashes it
at an agent. It checks the money at each step (the sender's wallet, the
operator's voucher account, the store's float), the receipts and the SMS, that
the code is stored only as a digest, that guessing is cut off, that two agents
cashing one voucher at once pay out once, and the sweep: a lapsed voucher goes
back to its sender (the fee kept), and one whose recipient registered meanwhile
goes to their new wallet.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import Party
from mkoba.processor.request import Response
from mkoba.products import background
from tests.conftest import MakePlatform
from tests.products.world import (
    AGENT_PIN,
    CUSTOMER_PIN,
    FEES,
    KSH,
    VOUCHERS,
    World,
    float_of,
    refused,
    wallet,
)

pytestmark = pytest.mark.anyio
DAY_NS = 86_400 * 1_000_000_000


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("vouchers", profile="campus")


async def send(world: World, sender: Party, to: str, amount: str = "500") -> Response:
    assert sender.msisdn
    response = await world.ask(
        "send_unregistered", sender.msisdn, CUSTOMER_PIN, to=to, amount=amount
    )
    assert response.code is Code.OK, response
    return response


async def code_sent_to(world: World, msisdn: str) -> str:
    """The voucher code in the last SMS to ``msisdn``, as the recipient reads it."""
    texts = await world.sms_to(msisdn)
    found = re.search(r"code, (\d{8}),", texts[-1])
    assert found is not None, texts
    return found.group(1)


async def redeem(
    world: World, operator: Party, recipient: str, code: str, **extra: str
) -> Response:
    assert operator.msisdn
    pin = extra.pop("pin", AGENT_PIN)
    return await world.ask(
        "redeem_voucher", operator.msisdn, pin, recipient=recipient, code=code, **extra
    )


async def test_sending_to_an_unregistered_number_makes_a_voucher(world: World) -> None:
    sender = await world.customer(2_000, name="Akinyi Otieno")
    to = world.msisdn()
    vouchers, fees = await world.balances(VOUCHERS, FEES)
    response = await send(world, sender, to)
    assert response.receipt is not None
    assert await world.balances(wallet(sender), VOUCHERS, FEES) == [
        (2_000 - 510) * KSH,
        vouchers + 500 * KSH,
        fees + 10 * KSH,
    ]
    receipt = await world.receipt(response.receipt)
    assert (receipt["product"], receipt["status"], receipt["amount"], receipt["fee"]) == (
        "send_unregistered",
        "completed",
        500 * KSH,
        10 * KSH,
    )
    assert receipt["reference"] == to
    payer_sms, recipient_sms = await world.sms(response.request_id)
    assert payer_sms.recipient == sender.msisdn
    assert f"Ksh500.00 sent to 0{to[3:]} on" in payer_sms.body
    assert "Transaction cost, Ksh10.00." in payer_sms.body
    assert recipient_sms.recipient == to
    assert recipient_sms.body.startswith(f"{response.receipt} AKINYI OTIENO 0{sender.msisdn[3:]}")
    code = await code_sent_to(world, to)
    stored = await world.rows(
        "SELECT digest, recipient, amount, fee, state, expires - created FROM vouchers"
        " WHERE request_id = ?",
        (response.request_id,),
    )
    ((digest, recipient, amount, fee, state, life),) = stored
    assert (recipient, amount, fee, state) == (to, 500 * KSH, 10 * KSH, "issued")
    assert life == 7 * DAY_NS
    assert code not in digest
    assert len(digest) == 64


async def test_send_money_to_an_unregistered_number_becomes_a_voucher_on_campus(
    world: World,
) -> None:
    sender = await world.customer(1_000)
    to = world.msisdn()
    assert sender.msisdn
    response = await world.ask("send_money", sender.msisdn, CUSTOMER_PIN, to=to, amount="100")
    assert response.ok, response
    assert response.receipt is not None
    assert (await world.receipt(response.receipt))["product"] == "send_unregistered"
    assert await world.available(wallet(sender)) == (1_000 - 110) * KSH
    assert len(await code_sent_to(world, to)) == 8


async def test_send_unregistered_refusals(world: World) -> None:
    sender = await world.customer(3_000)
    known = await world.customer()
    assert sender.msisdn and known.msisdn

    async def attempt(to: str, amount: str, pin: str = CUSTOMER_PIN) -> Response:
        assert sender.msisdn
        return await world.ask("send_unregistered", sender.msisdn, pin, to=to, amount=amount)

    refused(await attempt(known.msisdn, "100"), Code.ALREADY_REGISTERED, "use Send Money")
    refused(await attempt(world.msisdn(), "2,001"), Code.ABOVE_MAXIMUM, "Ksh2,000.00")
    refused(await attempt(world.msisdn(), "9"), Code.BELOW_MINIMUM, "Ksh10.00")
    refused(await attempt("0800", "100"), Code.INVALID_INPUT)
    refused(await attempt(world.msisdn(), "100", pin="0000"), Code.WRONG_PIN)
    poor = await world.customer(50)
    assert poor.msisdn
    short = await world.ask(
        "send_unregistered", poor.msisdn, CUSTOMER_PIN, to=world.msisdn(), amount="45"
    )
    refused(short, Code.INSUFFICIENT_FUNDS)
    assert await world.available(wallet(sender)) == 3_000 * KSH
    assert await world.available(wallet(poor)) == 50 * KSH


async def test_campus_offers_no_airtime(world: World) -> None:
    buyer = await world.customer(100)
    assert buyer.msisdn
    response = await world.ask("buy_airtime", buyer.msisdn, CUSTOMER_PIN, amount="10")
    refused(response, Code.UNKNOWN_PRODUCT, "campus does not offer")


async def test_an_agent_cashes_a_voucher_once(world: World) -> None:
    sender = await world.customer(1_000, name="Moraa Kiptoo")
    _, (store,) = await world.agent()
    _, (other,) = await world.agent()
    to = world.msisdn()
    sent = await send(world, sender, to, "300")
    code = await code_sent_to(world, to)
    pool = await world.available(VOUCHERS)
    cashed = await redeem(world, store, to, code)
    assert cashed.code is Code.OK, cashed
    assert cashed.receipt is not None
    assert f"Give Ksh300.00 cash to 0{to[3:]}" in cashed.message
    assert await world.balances(VOUCHERS, float_of(store)) == [pool - 300 * KSH, 300 * KSH]
    receipt = await world.receipt(cashed.receipt)
    assert (receipt["product"], receipt["payee_id"], receipt["amount"]) == (
        "redeem_voucher",
        store.id,
        300 * KSH,
    )
    assert receipt["reference"] == sent.receipt
    texts = {sms.recipient: sms.body for sms in await world.sms(cashed.request_id)}
    assert store.msisdn and sender.msisdn
    assert f"Give Ksh300.00 cash to 0{to[3:]} for voucher {sent.receipt}" in texts[store.msisdn]
    assert "New float balance is Ksh300.00." in texts[store.msisdn]
    assert "You have collected Ksh300.00 sent by MORAA KIPTOO" in texts[to]
    assert f"0{to[3:]} has received the Ksh300.00 you sent on" in texts[sender.msisdn]
    state = await world.rows(
        "SELECT state, settled_receipt FROM vouchers WHERE request_id = ?", (sent.request_id,)
    )
    assert state == [("redeemed", cashed.receipt)]
    again = await redeem(world, other, to, code)
    refused(again, Code.VOUCHER_NOT_FOUND, "already been collected")
    replay = await redeem(world, store, to, code, request_id=cashed.request_id)
    assert replay == cashed
    assert await world.balances(VOUCHERS, float_of(other)) == [pool - 300 * KSH, 0]


async def test_an_assistant_cashes_for_the_store(world: World) -> None:
    sender = await world.customer(1_000)
    _, (store,) = await world.agent()
    helper = await world.assistant(store)
    to = world.msisdn()
    await send(world, sender, to, "200")
    cashed = await redeem(world, helper, to, await code_sent_to(world, to))
    assert cashed.ok, cashed
    assert await world.available(float_of(store)) == 200 * KSH


async def test_two_agents_at_once_pay_out_once(world: World) -> None:
    sender = await world.customer(1_000)
    _, (first,) = await world.agent()
    _, (second,) = await world.agent()
    to = world.msisdn()
    await send(world, sender, to, "400")
    code = await code_sent_to(world, to)
    pool = await world.available(VOUCHERS)
    answers = await asyncio.gather(redeem(world, first, to, code), redeem(world, second, to, code))
    assert sorted(answer.code for answer in answers) == [Code.OK, Code.VOUCHER_NOT_FOUND]
    floats = await world.balances(float_of(first), float_of(second))
    assert sorted(floats) == [0, 400 * KSH]
    assert await world.available(VOUCHERS) == pool - 400 * KSH


async def test_wrong_codes_are_counted_and_the_store_is_stopped(world: World) -> None:
    sender = await world.customer(1_000)
    _, (store,) = await world.agent()
    to = world.msisdn()
    await send(world, sender, to, "100")
    code = await code_sent_to(world, to)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(5):
        refused(await redeem(world, store, to, wrong), Code.VOUCHER_NOT_FOUND)
    refused(await redeem(world, store, to, code), Code.NOT_ALLOWED, "Too many wrong voucher codes")
    # The right number with another code, or another number with the right code: not found.
    _, (fresh,) = await world.agent()
    refused(await redeem(world, fresh, world.msisdn(), code), Code.VOUCHER_NOT_FOUND)
    assert (await redeem(world, fresh, to, code)).ok


async def test_redeem_refusals(world: World) -> None:
    customer = await world.customer(100)
    _, (store,) = await world.agent()
    assert customer.msisdn
    not_agent = await world.ask(
        "redeem_voucher", customer.msisdn, CUSTOMER_PIN, recipient=world.msisdn(), code="12345678"
    )
    refused(not_agent, Code.NOT_ALLOWED)
    refused(await redeem(world, store, world.msisdn(), "1234"), Code.INVALID_INPUT, "8 digits")
    refused(await redeem(world, store, "12", "12345678"), Code.INVALID_INPUT, "recipient")
    refused(await redeem(world, store, world.msisdn(), "12345678", pin="1111"), Code.WRONG_PIN)


async def test_a_rolled_back_send_makes_no_voucher(world: World) -> None:
    sender = await world.customer(1_000)
    assert sender.msisdn
    to = world.msisdn()
    request = world.request("send_unregistered", sender.msisdn, CUSTOMER_PIN, to=to, amount="100")
    assert (await world.platform.request(request)).ok
    assert await world.platform.acknowledge(request.id, False)
    assert await world.available(wallet(sender)) == 1_000 * KSH
    assert await world.sms_to(to) == []
    swept = await background.sweep(world.services, world.platform.clock() + 3_600 * 10**9)
    assert swept.voided >= 1
    state = await world.rows("SELECT state FROM vouchers WHERE request_id = ?", (request.id,))
    assert state == [("void",)]


async def test_a_voucher_for_someone_who_registers_goes_to_their_wallet(world: World) -> None:
    sender = await world.customer(1_000, name="Kibet Rotich")
    to = world.msisdn()
    await send(world, sender, to, "250")
    response = await world.ask(
        "register", to, "4826", name="Nekesa Wafula", id_number="A998877", tier="student"
    )
    assert response.ok, response
    newcomer = world.party(to)
    swept = await background.sweep(world.services)
    assert swept.credited >= 1
    assert await world.available(wallet(newcomer)) == 250 * KSH
    texts = await world.sms_to(to)
    assert "You have received Ksh250.00 from KIBET ROTICH" in texts[-1]
    assert "New M-PESA balance is Ksh250.00." in texts[-1]


async def test_a_lapsed_voucher_goes_back_to_the_sender_without_the_fee(world: World) -> None:
    sender = await world.customer(1_000)
    _, (store,) = await world.agent()
    to = world.msisdn()
    sent = await send(world, sender, to, "500")
    code = await code_sent_to(world, to)
    assert await world.available(wallet(sender)) == 490 * KSH
    later = world.platform.clock() + 7 * DAY_NS + 1
    swept = await background.sweep(world.services, later)
    assert swept.refunded >= 1
    assert await world.available(wallet(sender)) == 990 * KSH
    texts = await world.sms_to(sender.msisdn or "")
    assert f"The Ksh500.00 you sent to 0{to[3:]} on" in texts[-1]
    assert f"({sent.receipt}) was not collected and has been returned to you" in texts[-1]
    refused(await redeem(world, store, to, code), Code.VOUCHER_NOT_FOUND, "gone back to the sender")
    assert (await background.sweep(world.services, later)).refunded == 0


async def test_the_books_balance(world: World) -> None:
    world.check_books()
