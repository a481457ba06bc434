"""The commission statement and the language setting, through a running platform, on both stores.

Method: customers deposit and withdraw at two stores of one head office, which
earns the agent commission of the 2023 table (9 on a deposit of 1,000 and on a
withdrawal of 2,000); the head office and each store read their statement. Then
customers and agents switch language and read their next SMS in it.
"""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import Party
from mkoba.processor.request import Channel
from tests.products.world import (
    AGENT_PIN,
    CUSTOMER_PIN,
    FEES,
    KSH,
    World,
    refused,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    world = World(platform)
    # The operator's fee income pays agents' deposit commissions.
    await world.issue(FEES, 1_000_000 * KSH)
    return world


async def deposit(world: World, store: Party, customer: Party, amount: str) -> str:
    assert store.msisdn and customer.msisdn
    response = await world.ask(
        "deposit", store.msisdn, AGENT_PIN, to=customer.msisdn, amount=amount
    )
    assert response.ok and response.receipt, response
    return response.receipt


async def test_the_head_office_and_its_stores_read_their_commission(world: World) -> None:
    office, (first, second) = await world.agent(100_000, stores=2)
    customer = await world.customer(10_000)
    assert office.msisdn and first.msisdn and second.msisdn and customer.msisdn
    deposited = await deposit(world, second, customer, "1,000")
    agent, store = (first.number or "").split("/")
    withdrawn = await world.ask(
        "withdraw", customer.msisdn, CUSTOMER_PIN, agent=agent, store=store, amount="2,000"
    )
    assert withdrawn.ok and withdrawn.receipt

    statement = await world.ask("commission_statement", office.msisdn, AGENT_PIN)
    assert statement.code is Code.OK, statement
    assert statement.data["balance"] == 18 * KSH
    assert [(e["receipt"], e["product"], e["commission"]) for e in statement.data["entries"]] == [
        (withdrawn.receipt, "withdraw", 9 * KSH),
        (deposited, "deposit", 9 * KSH),
    ]
    assert statement.message == (
        f"Commission balance Ksh18.00. Last: {withdrawn.receipt} withdraw Ksh9.00;"
        f" {deposited} deposit Ksh9.00."
    )
    own = await world.ask("commission_statement", first.msisdn, AGENT_PIN)
    assert own.data["balance"] == 18 * KSH
    assert [e["receipt"] for e in own.data["entries"]] == [withdrawn.receipt]

    later = [await deposit(world, second, customer, "1,000") for _ in range(6)]
    latest = await world.ask("commission_statement", office.msisdn, AGENT_PIN)
    assert [e["receipt"] for e in latest.data["entries"]] == later[::-1][:5]
    assert latest.data["balance"] == (18 + 6 * 9) * KSH


async def test_commission_statement_refusals(world: World) -> None:
    office, (store,) = await world.agent(1_000)
    helper = await world.assistant(store)
    customer = await world.customer()
    assert office.msisdn and helper.msisdn and customer.msisdn
    empty = await world.ask("commission_statement", office.msisdn, AGENT_PIN)
    assert empty.ok
    assert empty.message == "Commission balance Ksh0.00. No commission yet."
    refused(await world.ask("commission_statement", helper.msisdn, AGENT_PIN), Code.NOT_ALLOWED)
    refused(
        await world.ask("commission_statement", customer.msisdn, CUSTOMER_PIN), Code.NOT_ALLOWED
    )
    refused(await world.ask("commission_statement", office.msisdn, "1111"), Code.WRONG_PIN)


async def test_a_customer_switches_to_kiswahili(world: World) -> None:
    customer = await world.customer(1_000)
    friend = await world.customer(language="sw")
    assert customer.msisdn and friend.msisdn
    response = await world.ask("set_language", customer.msisdn, language="SW", channel=Channel.USSD)
    assert response.code is Code.OK, response
    assert response.message == "Lugha yako sasa ni Kiswahili."
    assert world.party(customer.msisdn).language == "sw"
    stored = await world.rows("SELECT language FROM parties WHERE id = ?", (customer.id,))
    assert stored == [("sw",)]
    sent = await world.ask(
        "send_money", customer.msisdn, CUSTOMER_PIN, to=friend.msisdn, amount="10"
    )
    assert sent.ok
    texts = {sms.recipient: sms.body for sms in await world.sms(sent.request_id)}
    assert "Imethibitishwa. Ksh10.00 imetumwa kwa" in texts[customer.msisdn]
    back = await world.ask("set_language", customer.msisdn, CUSTOMER_PIN, language="en")
    assert back.message == "Your language is now English."


async def test_set_language_refusals_and_agents(world: World) -> None:
    customer = await world.customer()
    _, (store,) = await world.agent()
    assert customer.msisdn and store.msisdn
    refused(
        await world.ask("set_language", customer.msisdn, language="fr", channel=Channel.USSD),
        Code.INVALID_INPUT,
    )
    refused(await world.ask("set_language", customer.msisdn, "0000", language="sw"), Code.WRONG_PIN)
    refused(
        await world.ask("set_language", world.msisdn(), language="sw", channel=Channel.USSD),
        Code.NOT_REGISTERED,
    )
    assert (await world.ask("set_language", store.msisdn, language="sw", channel=Channel.USSD)).ok
    assert world.party(store.msisdn).language == "sw"
    assert world.party(customer.msisdn).language == "en"


async def test_the_books_balance(world: World) -> None:
    world.check_books()
