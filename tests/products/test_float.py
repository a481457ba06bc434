"""Agent float moves through a running platform, on both stores.

Method: two head offices with two stores each and a super-agent. Float moves
between stores of one head office (by a store, or by the head office naming
the store), from a store to the super-agent and back; each move checks both
floats and both SMS. Then every refusal: across head offices, between
super-agents, by an assistant or a customer, more than the float holds, an
unknown or the same store, below the minimum, a reused request id.
"""

from __future__ import annotations

import pytest

from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, PartyState, Purpose, Role
from mkoba.processor.request import Response
from tests.products.world import (
    AGENT_PIN,
    CUSTOMER_PIN,
    KSH,
    World,
    float_of,
    refused,
)

pytestmark = pytest.mark.anyio


async def super_agent(world: World, float_ksh: int = 1_000_000) -> Party:
    party = await world.add_party(
        PartyKind.SUPER_AGENT,
        "Equity Agency Services",
        msisdn=world.msisdn(),
        number=f"SA{world.number()}",
        purposes=(Purpose.FLOAT,),
        roles=(Role.SUPER_AGENT,),
        pin=AGENT_PIN,
    )
    await world.issue(float_of(party), float_ksh * KSH)
    return party


async def move(world: World, who: Party, to: str, amount: str, **extra: str) -> Response:
    assert who.msisdn
    pin = extra.pop("pin", AGENT_PIN)
    return await world.ask("float_transfer", who.msisdn, pin, to=to, amount=amount, **extra)


async def test_a_store_moves_float_to_a_sibling_store(world: World) -> None:
    _, (first, second) = await world.agent(10_000, stores=2)
    assert second.number and first.msisdn and second.msisdn
    response = await move(world, first, second.number, "2,500")
    assert response.code is Code.OK, response
    assert response.receipt is not None
    assert await world.balances(float_of(first), float_of(second)) == [7_500 * KSH, 12_500 * KSH]
    receipt = await world.receipt(response.receipt)
    assert (receipt["product"], receipt["payer_id"], receipt["payee_id"], receipt["fee"]) == (
        "float_transfer",
        first.id,
        second.id,
        0,
    )
    texts = {sms.recipient: sms.body for sms in await world.sms(response.request_id)}
    assert f"Ksh2,500.00 float sent to {second.number} - DUKA" in texts[first.msisdn]
    assert "New float balance is Ksh7,500.00." in texts[first.msisdn]
    assert f"Ksh2,500.00 float received from {first.number} - DUKA" in texts[second.msisdn]
    assert "New float balance is Ksh12,500.00." in texts[second.msisdn]


async def test_a_head_office_moves_float_between_its_stores(world: World) -> None:
    office, (first, second) = await world.agent(1_000, stores=2)
    _, (stranger,) = await world.agent(1_000)
    assert first.number and second.number and stranger.number
    by_store_number = await move(world, office, first.number, "400", source="2")
    assert by_store_number.ok, by_store_number
    by_full_number = await move(world, office, second.number, "100", source=first.number)
    assert by_full_number.ok, by_full_number
    assert await world.balances(float_of(first), float_of(second)) == [1_300 * KSH, 700 * KSH]
    refused(await move(world, office, first.number, "10"), Code.INVALID_INPUT, "source")
    refused(
        await move(world, office, first.number, "10", source=stranger.number),
        Code.NOT_ALLOWED,
        "its own stores",
    )
    refused(
        await move(world, office, stranger.number, "10", source="1"),
        Code.NOT_ALLOWED,
        "same head office",
    )


async def test_stores_sell_float_to_and_buy_it_from_a_super_agent(world: World) -> None:
    _, (store,) = await world.agent(5_000)
    bank = await super_agent(world)
    assert bank.number and store.number
    sold = await move(world, store, bank.number, "3,000")
    assert sold.ok, sold
    bought = await move(world, bank, store.number, "10,000")
    assert bought.ok, bought
    assert await world.balances(float_of(store), float_of(bank)) == [
        12_000 * KSH,
        (1_000_000 - 7_000) * KSH,
    ]


async def test_float_transfer_refusals(world: World) -> None:
    _, (store, sibling) = await world.agent(1_000, stores=2)
    _, (other,) = await world.agent(1_000)
    bank = await super_agent(world)
    second_bank = await super_agent(world)
    helper = await world.assistant(store)
    customer = await world.customer(100)
    assert sibling.number and other.number and store.number
    assert bank.number and second_bank.number and customer.msisdn

    refused(await move(world, store, other.number, "10"), Code.NOT_ALLOWED, "same head office")
    refused(await move(world, bank, second_bank.number, "10"), Code.NOT_ALLOWED, "super-agents")
    refused(await move(world, helper, sibling.number, "10"), Code.NOT_ALLOWED)
    refused(
        await world.ask(
            "float_transfer", customer.msisdn, CUSTOMER_PIN, to=sibling.number, amount="10"
        ),
        Code.NOT_ALLOWED,
    )
    refused(await move(world, store, sibling.number, "1,000.01"), Code.INSUFFICIENT_FLOAT)
    refused(await move(world, store, "999999/9", "10"), Code.UNKNOWN_AGENT)
    refused(await move(world, store, "SA000", "10"), Code.UNKNOWN_AGENT)
    refused(await move(world, store, store.number, "10"), Code.SAME_ACCOUNT)
    refused(await move(world, store, sibling.number, "0.5"), Code.BELOW_MINIMUM)
    refused(await move(world, store, sibling.number, "10", source="2"), Code.INVALID_INPUT)
    refused(await move(world, store, sibling.number, "10", pin="1111"), Code.WRONG_PIN)
    frozen = await world.set_state(sibling, PartyState.FROZEN)
    refused(await move(world, store, sibling.number, "10"), Code.ACCOUNT_INACTIVE)
    await world.set_state(frozen, PartyState.ACTIVE)
    assert (await move(world, store, sibling.number, "10", request_id="fl-1")).ok
    refused(
        await move(world, store, sibling.number, "20", request_id="fl-1"), Code.DUPLICATE_REQUEST
    )
    assert await world.balances(float_of(store), float_of(sibling)) == [990 * KSH, 1_010 * KSH]


async def test_the_books_balance(world: World) -> None:
    world.check_books()
