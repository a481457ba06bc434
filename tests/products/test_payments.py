"""Lipa na M-PESA through a running platform, on both stores: pay bill and buy goods.

Method: a Kenyan world (the tariff in force since 2023-08-15 with the 2024 paybill
sheet): billers under each tariff, a merchant till, customers with money. Each
test drives a product through the bus on the API channel (acknowledged as the
API does), then checks what a user and the books would: the response, the
balances of every account the legs touch, the receipt row and the SMS texts.
Paying 1,000 to a paybill costs 10 (excise 1.30 inside); a till pays 0.5% above
200, so 5.00 on 1,000.
"""

from __future__ import annotations

import pytest

from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, PartyState, Purpose, Role, account_id
from mkoba.processor.events import AcceptAll, BusinessPayment, Reaction
from mkoba.processor.plan import Note, Refused
from mkoba.processor.request import Channel, Response
from tests.products.world import (
    AGENT_PIN,
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


async def biller(world: World, tariff: str, name: str = "Kenya Power") -> Party:
    return await world.add_party(
        PartyKind.ORGANISATION,
        name,
        number=world.number(),
        purposes=(Purpose.UTILITY, Purpose.WORKING),
        roles=(Role.BILLER,),
        tariff=tariff,
    )


async def merchant(world: World) -> Party:
    return await world.add_party(
        PartyKind.MERCHANT,
        "Naivas Supermarket",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.TILL,),
        roles=(Role.MERCHANT,),
        pin=BUSINESS_PIN,
    )


def utility(party: Party) -> int:
    return account_id(party.id, Purpose.UTILITY)


def till(party: Party) -> int:
    return account_id(party.id, Purpose.TILL)


# -- pay bill -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tariff", "amount_ksh", "customer_fee", "business_fee"),
    [
        ("customer_bears", 1_000, 10_00, 0),
        ("business_bears", 1_000, 0, 10_00),
        ("shared", 1_200, 10_00, 5_00),
    ],
)
async def test_pay_bill_moves_amount_and_fees_under_the_billers_tariff(
    world: World, tariff: str, amount_ksh: int, customer_fee: int, business_fee: int
) -> None:
    payer = await world.customer(5_000, name="Otieno Kamau")
    org = await biller(world, tariff)
    assert org.number and payer.msisdn
    fees_before, excise_before = await world.balances(FEES, EXCISE)
    response = await world.ask(
        "pay_bill",
        payer.msisdn,
        CUSTOMER_PIN,
        paybill=org.number,
        account="ACC-1001",
        amount=str(amount_ksh),
    )
    assert response.code is Code.OK, response
    assert response.receipt is not None
    amount = amount_ksh * KSH
    excise = round(customer_fee * 15 / 115) + round(business_fee * 15 / 115)
    payer_left, org_has, fees, duty = await world.balances(
        wallet(payer), utility(org), FEES, EXCISE
    )
    assert payer_left == 5_000 * KSH - amount - customer_fee
    assert org_has == amount - business_fee
    assert fees - fees_before == customer_fee + business_fee - excise
    assert duty - excise_before == excise
    receipt = await world.receipt(response.receipt)
    assert receipt["product"] == "pay_bill"
    assert receipt["status"] == "completed"
    assert (receipt["payer_id"], receipt["payee_id"]) == (payer.id, org.id)
    assert (receipt["amount"], receipt["fee"], receipt["business_fee"]) == (
        amount,
        customer_fee,
        business_fee,
    )
    assert (receipt["excise"], receipt["reference"]) == (excise, "ACC-1001")
    (sms,) = await world.sms(response.request_id)
    assert sms.recipient == payer.msisdn
    assert sms.body.startswith(f"{response.receipt} Confirmed. Ksh{amount_ksh:,}.00 sent to")
    assert "KENYA POWER for account ACC-1001" in sms.body
    assert f"New M-PESA balance is Ksh{payer_left // KSH:,}.00" in sms.body
    assert f"Transaction cost, Ksh{customer_fee // KSH}.00." in sms.body


async def test_pay_bill_refuses_unknown_paybill_bad_account_and_an_inactive_biller(
    world: World,
) -> None:
    payer = await world.customer(1_000)
    assert payer.msisdn
    org = await biller(world, "customer_bears")
    assert org.number

    async def pay(paybill: str, account: str, amount: str = "100") -> Response:
        assert payer.msisdn
        return await world.ask(
            "pay_bill",
            payer.msisdn,
            CUSTOMER_PIN,
            paybill=paybill,
            account=account,
            amount=amount,
        )

    refused(await pay("999999", "A1"), Code.UNKNOWN_PAYBILL)
    refused(await pay(org.number, "A;1"), Code.INVALID_INPUT, "account")
    refused(await pay(org.number, "1" * 21), Code.INVALID_INPUT, "at most 20")
    refused(await pay(org.number, ""), Code.INVALID_INPUT, "account is required")
    await world.set_state(org, PartyState.FROZEN)
    refused(await pay(org.number, "A1"), Code.ACCOUNT_INACTIVE)
    # Kenya's paybill tariff has no default: a biller must have chosen one.
    untariffed = await world.add_party(
        PartyKind.ORGANISATION, "No Tariff Ltd", number=world.number(), purposes=(Purpose.UTILITY,)
    )
    assert untariffed.number
    refused(await pay(untariffed.number, "A1"), Code.ACCOUNT_INACTIVE, "current tariff")
    assert await world.available(wallet(payer)) == 1_000 * KSH


async def test_pay_bill_refuses_more_than_the_wallet_holds_and_moves_nothing(
    world: World,
) -> None:
    payer = await world.customer(100)
    org = await biller(world, "customer_bears")
    assert payer.msisdn and org.number
    response = await world.ask(
        "pay_bill", payer.msisdn, CUSTOMER_PIN, paybill=org.number, account="X", amount="500"
    )
    refused(response, Code.INSUFFICIENT_FUNDS)
    assert await world.balances(wallet(payer), utility(org)) == [100 * KSH, 0]
    stored = await world.rows(
        "SELECT status, code FROM requests WHERE id = ?", (response.request_id,)
    )
    assert stored == [("failed", "insufficient_funds")]
    assert await world.sms(response.request_id) == []


async def test_pay_bill_counts_wrong_pins_and_locks_at_five(world: World) -> None:
    payer = await world.customer(1_000)
    org = await biller(world, "customer_bears")
    assert payer.msisdn and org.number

    async def pay(pin: str) -> Response:
        assert payer.msisdn and org.number
        return await world.ask(
            "pay_bill", payer.msisdn, pin, paybill=org.number, account="X", amount="100"
        )

    first = await pay("1111")
    refused(first, Code.WRONG_PIN, "4 tries left")
    for _ in range(3):
        refused(await pay("1111"), Code.WRONG_PIN)
    refused(await pay("1111"), Code.PIN_LOCKED)
    refused(await pay(CUSTOMER_PIN), Code.PIN_LOCKED)
    assert await world.available(wallet(payer)) == 1_000 * KSH


async def test_pay_bill_keeps_the_minimum_and_the_tier_limits(world: World) -> None:
    payer = await world.customer(50_000, tier="basic")
    org = await biller(world, "customer_bears")
    assert payer.msisdn and org.number

    async def pay(amount: str) -> Response:
        assert payer.msisdn and org.number
        return await world.ask(
            "pay_bill", payer.msisdn, CUSTOMER_PIN, paybill=org.number, account="X", amount=amount
        )

    refused(await pay("0.50"), Code.BELOW_MINIMUM, "Ksh1.00")
    refused(await pay("20,001"), Code.LIMIT_EXCEEDED, "Ksh20,000.00 at a time")
    assert (await pay("20,000")).ok
    assert (await pay("20,000")).ok
    refused(await pay("10,001"), Code.DAILY_LIMIT_EXCEEDED, "Ksh10,000.00 more today")
    refused(await pay("-5"), Code.INVALID_INPUT)
    refused(await pay("ten"), Code.INVALID_INPUT)


async def test_pay_bill_is_for_registered_customers_only(world: World) -> None:
    org = await biller(world, "customer_bears")
    _, (store,) = await world.agent(1_000)
    assert org.number and store.msisdn
    stranger = await world.ask(
        "pay_bill", world.msisdn(), CUSTOMER_PIN, paybill=org.number, account="X", amount="10"
    )
    refused(stranger, Code.NOT_REGISTERED)
    agent = await world.ask(
        "pay_bill", store.msisdn, AGENT_PIN, paybill=org.number, account="X", amount="10"
    )
    refused(agent, Code.NOT_ALLOWED)


async def test_pay_bill_replays_a_request_id_and_refuses_it_for_other_params(
    world: World,
) -> None:
    payer = await world.customer(1_000)
    org = await biller(world, "business_bears")
    assert payer.msisdn and org.number
    params = {"paybill": org.number, "account": "X", "amount": "100"}
    first = await world.ask("pay_bill", payer.msisdn, CUSTOMER_PIN, request_id="pb-1", **params)
    again = await world.ask("pay_bill", payer.msisdn, CUSTOMER_PIN, request_id="pb-1", **params)
    assert first.ok and again == first
    other = dict(params, amount="200")
    duplicate = await world.ask("pay_bill", payer.msisdn, CUSTOMER_PIN, request_id="pb-1", **other)
    refused(duplicate, Code.DUPLICATE_REQUEST)
    assert await world.available(wallet(payer)) == 900 * KSH


class Gatekeeper:
    """A business's integration: it refuses account BAD and wants a copy of every payment."""

    def __init__(self, copy_to: str) -> None:
        self.copy_to = copy_to
        self.seen: list[BusinessPayment] = []

    async def validate(self, payment: BusinessPayment, now: int) -> str:
        self.seen.append(payment)
        if payment.reference == "BAD":
            raise Refused(Code.INVALID_INPUT, "The business does not know account BAD.")
        return ""

    def paid(self, payment: BusinessPayment) -> Reaction:
        return Reaction((Note(self.copy_to, "en", "registered", {"name": payment.payee.name}),))


@pytest.mark.parametrize("product", ["pay_bill", "buy_goods"])
async def test_a_business_validates_before_the_pin_and_its_messages_commit_with_the_money(
    world: World, product: str
) -> None:
    payer = await world.customer(1_000)
    org = await biller(world, "customer_bears") if product == "pay_bill" else await merchant(world)
    assert payer.msisdn and org.number
    target = {"paybill": org.number} if product == "pay_bill" else {"till": org.number}
    hooks = Gatekeeper(world.msisdn())
    world.services.validation = hooks
    world.services.subscribers = (hooks,)
    try:
        if product == "pay_bill":
            refusal = await world.ask(
                product, payer.msisdn, "0000", account="BAD", amount="100", **target
            )
            refused(refusal, Code.INVALID_INPUT, "does not know account BAD")
            assert world.services.directory.credentials[payer.id].failed_attempts == 0
        extra = {"account": "OK"} if product == "pay_bill" else {}
        response = await world.ask(
            product, payer.msisdn, CUSTOMER_PIN, amount="100", **target, **extra
        )
    finally:
        world.services.validation = AcceptAll()
        world.services.subscribers = ()
    assert response.ok, response
    assert hooks.seen[-1].payer.id == payer.id
    assert hooks.seen[-1].payee.id == org.id
    assert hooks.seen[-1].amount == 100 * KSH
    recipients = [sms.recipient for sms in await world.sms(response.request_id)]
    assert recipients[0] == payer.msisdn
    assert recipients[-1] == hooks.copy_to


async def test_a_subscribers_messages_go_only_with_money_that_moved(world: World) -> None:
    # The reaction commits in the payment's own batch: a payment the ledger refuses
    # sends the business nothing, and one that moves money sends its copy once.
    payer = await world.customer(50)
    org = await biller(world, "customer_bears")
    assert payer.msisdn and org.number
    hooks = Gatekeeper(world.msisdn())
    world.services.validation = hooks
    world.services.subscribers = (hooks,)
    try:
        short = await world.ask(
            "pay_bill", payer.msisdn, CUSTOMER_PIN, paybill=org.number, account="OK", amount="100"
        )
        paid = await world.ask(
            "pay_bill", payer.msisdn, CUSTOMER_PIN, paybill=org.number, account="OK", amount="10"
        )
    finally:
        world.services.validation = AcceptAll()
        world.services.subscribers = ()
    refused(short, Code.INSUFFICIENT_FUNDS)
    assert paid.ok, paid
    assert await world.sms(short.request_id) == []
    assert [sms.recipient for sms in await world.sms(paid.request_id)][-1] == hooks.copy_to
    assert len(await world.sms_to(hooks.copy_to)) == 1


# -- buy goods ------------------------------------------------------------------------


async def test_buy_goods_is_free_to_the_customer_and_the_merchant_pays_its_rate(
    world: World,
) -> None:
    payer = await world.customer(2_000, name="Wanjiku Kamau")
    shop = await merchant(world)
    assert payer.msisdn and shop.number and shop.msisdn
    fees_before, excise_before = await world.balances(FEES, EXCISE)
    response = await world.ask(
        "buy_goods", payer.msisdn, CUSTOMER_PIN, till=shop.number, amount="1,000"
    )
    assert response.code is Code.OK, response
    assert response.receipt is not None
    # 0.5% of 1,000 is 5.00, of which 15/115 is excise: 0.65.
    assert await world.balances(wallet(payer), till(shop), FEES, EXCISE) == [
        1_000 * KSH,
        995 * KSH,
        fees_before + 500 - 65,
        excise_before + 65,
    ]
    receipt = await world.receipt(response.receipt)
    assert (receipt["product"], receipt["fee"], receipt["business_fee"]) == ("buy_goods", 0, 500)
    assert (receipt["excise"], receipt["reference"]) == (65, shop.number)
    payer_sms, shop_sms = await world.sms(response.request_id)
    assert payer_sms.recipient == payer.msisdn
    assert payer_sms.body.startswith(
        f"{response.receipt} Confirmed. Ksh1,000.00 paid to NAIVAS SUPERMARKET on"
    )
    assert "New M-PESA balance is Ksh1,000.00. Transaction cost, Ksh0.00." in payer_sms.body
    assert shop_sms.recipient == shop.msisdn
    local = "0" + payer.msisdn[3:]
    assert f"received from WANJIKU K**** {local[:4]}***{local[-3:]} on" in shop_sms.body
    assert payer.msisdn[-6:] not in shop_sms.body
    assert "New Till balance is Ksh995.00." in shop_sms.body


async def test_buy_goods_up_to_200_costs_the_merchant_nothing(world: World) -> None:
    payer = await world.customer(500)
    shop = await merchant(world)
    assert payer.msisdn and shop.number
    response = await world.ask(
        "buy_goods", payer.msisdn, CUSTOMER_PIN, till=shop.number, amount="150"
    )
    assert response.ok
    assert await world.balances(wallet(payer), till(shop)) == [350 * KSH, 150 * KSH]


async def test_buy_goods_refusals(world: World) -> None:
    payer = await world.customer(100)
    shop = await merchant(world)
    assert payer.msisdn and shop.number

    async def pay(tillno: str, amount: str, pin: str = CUSTOMER_PIN, **extra: str) -> Response:
        assert payer.msisdn
        return await world.ask("buy_goods", payer.msisdn, pin, till=tillno, amount=amount, **extra)

    refused(await pay("123", "10"), Code.UNKNOWN_TILL)
    refused(await pay(shop.number, "500"), Code.INSUFFICIENT_FUNDS)
    refused(await pay(shop.number, "0.99"), Code.BELOW_MINIMUM)
    refused(await pay(shop.number, "10", pin="9999"), Code.WRONG_PIN, "4 tries left")
    assert (await pay(shop.number, "10", request_id="bg-1")).ok
    refused(await pay(shop.number, "11", request_id="bg-1"), Code.DUPLICATE_REQUEST)
    await world.set_state(shop, PartyState.CLOSED)
    refused(await pay(shop.number, "10"), Code.ACCOUNT_INACTIVE)
    assert await world.balances(wallet(payer), till(shop)) == [90 * KSH, 10 * KSH]


async def test_direct_posting_on_the_system_channel(world: World) -> None:
    payer = await world.customer(300)
    shop = await merchant(world)
    assert payer.msisdn and shop.number
    response = await world.ask(
        "buy_goods",
        payer.msisdn,
        CUSTOMER_PIN,
        channel=Channel.SYSTEM,
        till=shop.number,
        amount="250",
    )
    assert response.ok
    assert await world.balances(wallet(payer), till(shop)) == [50 * KSH, 250 * KSH - 125]


async def test_the_books_balance(world: World) -> None:
    world.check_books()
