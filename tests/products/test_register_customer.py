"""Agent-assisted registration: an agent registers a customer; the customer sets the PIN.

Method: a platform per store; an agent store (and its assistant) asks with its own PIN
as its phone would; the new customer then sets a first PIN from their own phone with
the ID number the agent captured (``pin_unlock_self``, the network proving the number),
and uses the wallet. The directory, the audit log and the SMS are read as staff and
the customer would read them.
"""

from __future__ import annotations

import re

import pytest

from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, PartyState, Purpose, Role
from mkoba.processor.request import Channel, Response
from tests.products.world import AGENT_PIN, CUSTOMER_PIN, KSH, World, refused, wallet

pytestmark = pytest.mark.anyio
ID = "31415926"


async def register(world: World, agent: str, customer: str, **fields: str) -> Response:
    values = {"customer": customer, "name": "Wanjiku  Kamau", "id_number": ID} | fields
    return await world.ask("register_customer", agent, AGENT_PIN, **values)


async def test_an_agent_registers_a_customer_who_then_sets_their_own_pin(world: World) -> None:
    await world.setup()
    _, (store,) = await world.agent(float_ksh=5_000)
    assert store.msisdn
    customer = world.msisdn()
    answer = await register(world, store.msisdn, customer, id_number=ID.lower() + " ")
    assert answer.code is Code.OK, answer
    party = world.party(customer)
    assert party.name == "Wanjiku Kamau" and party.state is PartyState.ACTIVE
    assert party.kyc_tier == world.services.profile(world.platform.clock()).tiers[-1]
    # Only the ID number's keyed digest is kept, never the number.
    assert party.id_digest and ID not in party.id_digest
    stored = await world.rows("SELECT * FROM parties WHERE id = ?", (party.id,))
    assert ID not in str(stored)
    # The registering agent is recorded.
    assert (store.id, "register_customer") in await world.audit(party)
    assert answer.data["agent"] == store.id and answer.data["store"] == store.id
    # The wallet exists and takes a deposit at once, but nothing is spent without a PIN.
    assert (await world.ask("deposit", store.msisdn, AGENT_PIN, to=customer, amount="500")).ok
    refused(await world.ask("balance", customer, "1357"), Code.PIN_NOT_SET)
    texts = await world.sms_to(customer)
    welcome = next(text for text in texts if text.startswith("Welcome to M-PESA"))
    assert "PIN Manager" in welcome and "ID number" in welcome
    # No PIN of any kind travels by SMS.
    assert re.search(r"\b[0-9]{4,6}\b", welcome.split("registered this number")[1]) is None
    assert any("You registered WANJIKU KAMAU" in text for text in await world.sms_to(store.msisdn))
    # The customer sets the first PIN from their own phone, with the ID number the agent saw.
    wrong = await world.ask(
        "pin_unlock_self", customer, channel=Channel.USSD, id_number="27182818", new_pin="5820"
    )
    refused(wrong, Code.NOT_ALLOWED, "does not match")
    set_pin = await world.ask(
        "pin_unlock_self", customer, channel=Channel.USSD, id_number=ID, new_pin="5820"
    )
    assert set_pin.code is Code.OK, set_pin
    balance = await world.ask("balance", customer, "5820")
    assert balance.ok and balance.data["balance"] == 500 * KSH
    assert await world.available(wallet(party)) == 500 * KSH
    world.check_books()


async def fresh_store(world: World) -> Party:
    _, (store,) = await world.agent()
    return store


def tiers(world: World) -> tuple[str, ...]:
    return world.services.profile(world.platform.clock()).tiers


async def test_an_assistant_registers_for_the_store(world: World) -> None:
    _, store, assistant = await world.agent_with_assistant(0)
    assert assistant.msisdn
    customer = world.msisdn()
    answer = await register(world, assistant.msisdn, customer, tier=tiers(world)[0])
    assert answer.code is Code.OK, answer
    assert answer.data["store"] == store.id and answer.data["agent"] == assistant.id
    assert world.party(customer).kyc_tier == tiers(world)[0]
    assert (assistant.id, "register_customer") in await world.audit(world.party(customer))


async def test_what_an_agent_may_not_register(world: World) -> None:
    _, (store,) = await world.agent()
    assert store.msisdn
    existing = await world.customer(0)
    assert existing.msisdn
    refused(await register(world, store.msisdn, existing.msisdn), Code.ALREADY_REGISTERED)
    refused(await register(world, store.msisdn, store.msisdn), Code.NOT_ALLOWED, "own number")
    for bad in ("12", "12-345-678", "A" * 21, "１２３４５６７８"):
        refused(
            await register(world, store.msisdn, world.msisdn(), id_number=bad),
            Code.INVALID_INPUT,
            "id_number",
        )
    refused(
        await register(world, store.msisdn, world.msisdn(), name="R2D2"),
        Code.INVALID_INPUT,
        "name",
    )
    refused(
        await register(world, store.msisdn, world.msisdn(), tier="platinum"),
        Code.INVALID_INPUT,
        "tier",
    )
    # A wrong agent PIN, a customer, and a suspended agent: nothing is registered.
    nobody = world.msisdn()
    wrong = await world.ask(
        "register_customer", store.msisdn, "0000", customer=nobody, name="Ann Njeri", id_number=ID
    )
    refused(wrong, Code.WRONG_PIN)
    refused(
        await world.ask(
            "register_customer",
            existing.msisdn,
            CUSTOMER_PIN,
            customer=nobody,
            name="Ann Njeri",
            id_number=ID,
        ),
        Code.NOT_ALLOWED,
    )
    helper = await world.assistant(store)
    assert helper.msisdn
    suspended = await world.set_state(store, PartyState.FROZEN)
    assert suspended.msisdn
    refused(await register(world, suspended.msisdn, nobody), Code.ACCOUNT_INACTIVE)
    refused(await register(world, helper.msisdn, nobody), Code.ACCOUNT_INACTIVE, "suspended")
    frozen_helper = await world.set_state(
        await world.assistant(await fresh_store(world)), PartyState.FROZEN
    )
    assert frozen_helper.msisdn
    refused(await register(world, frozen_helper.msisdn, nobody), Code.ACCOUNT_INACTIVE)
    assert world.services.directory.by_msisdn(nobody) is None


async def test_an_agent_cannot_register_their_own_id_under_another_number(world: World) -> None:
    office, _ = await world.agent()
    agent_id = "87654321"
    own = await world.add_party(
        PartyKind.AGENT_STORE,
        "Own Duka",
        msisdn=world.msisdn(),
        number=f"{office.number}/9",
        parent=office.id,
        purposes=(Purpose.FLOAT,),
        roles=(Role.AGENT_OPERATOR,),
        pin=AGENT_PIN,
        id_number=agent_id,
    )
    assert own.msisdn
    refused(
        await register(world, own.msisdn, world.msisdn(), id_number=agent_id),
        Code.NOT_ALLOWED,
        "themselves",
    )
