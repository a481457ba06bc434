"""Onboarding businesses from the operator console: accounts, roles, numbers, a first PIN.

Method: a platform per store; staff requests as the console sends them (``by_staff``);
each new business is then used as its owner would use it (a store deposits, a till is
paid), with the temporary PIN from its welcome SMS, changed first.
"""

from __future__ import annotations

import re

import pytest

from mkoba.codes import Code
from mkoba.parties import PartyKind, Purpose, account_id
from mkoba.processor.request import Response, Staff
from tests.products.world import AGENT_PIN, CUSTOMER_PIN, KSH, World, refused

pytestmark = pytest.mark.anyio
AGENT_NETWORK = ("agent.one", "agent_network", "compliance.one")


async def onboard(world: World, **fields: str) -> Response:
    return await world.by_staff("onboard_business", Staff(*AGENT_NETWORK), **fields)


async def first_pin(world: World, msisdn: str, chosen: str) -> None:
    """The welcome SMS's temporary PIN, changed to ``chosen`` as the owner must first."""
    (welcome,) = [sms for sms in await world.sms_to(msisdn) if "temporary PIN" in sms]
    found = re.search(r"temporary PIN is ([0-9]{4})\.", welcome)
    assert found is not None, welcome
    changed = await world.ask("change_pin", msisdn, found[1], new_pin=chosen)
    assert changed.code is Code.OK, changed


async def test_a_head_office_and_its_store_are_onboarded_and_the_store_serves(
    world: World,
) -> None:
    await world.setup()
    office_phone, store_phone = world.msisdn(), world.msisdn()
    number = world.number()
    office = await onboard(
        world, kind="agent_head_office", name="Baraka Agencies", number=number, phone=office_phone
    )
    assert office.code is Code.OK, office
    store = await onboard(
        world, kind="agent_store", name="Baraka Shop 1", parent=number, phone=store_phone
    )
    assert store.code is Code.OK, store
    assert store.data["number"] == f"{number}/1"
    party = world.party(store_phone)
    assert party.kind is PartyKind.AGENT_STORE and party.parent_id == world.party(office_phone).id
    float_account = account_id(party.id, Purpose.FLOAT)
    await world.issue(float_account, 10_000 * KSH)
    await first_pin(world, store_phone, AGENT_PIN)
    client = await world.customer()
    assert client.msisdn
    deposited = await world.ask("deposit", store_phone, AGENT_PIN, to=client.msisdn, amount="500")
    assert deposited.code is Code.OK, deposited
    # The head office earned its commission on it.
    assert await world.available(account_id(world.party(office_phone).id, Purpose.COMMISSION)) > 0


async def test_a_till_takes_payments_and_a_paybill_has_no_phone(world: World) -> None:
    till_phone, till = world.msisdn(), world.number()
    made = await onboard(world, kind="merchant", name="Mama Ntilie", number=till, phone=till_phone)
    assert made.code is Code.OK, made
    payer = await world.customer(1_000)
    assert payer.msisdn
    paid = await world.ask("buy_goods", payer.msisdn, CUSTOMER_PIN, till=till, amount="150")
    assert paid.code is Code.OK, paid
    biller = world.number()
    made = await onboard(
        world, kind="organisation", name="Kisumu Water", number=biller, tariff="shared"
    )
    assert made.code is Code.OK, made
    party = world.services.directory.by_number(PartyKind.ORGANISATION, biller)
    assert party is not None and party.tariff == "shared" and party.msisdn is None


async def test_what_onboarding_refuses(world: World) -> None:
    taken = world.number()
    assert (
        await onboard(world, kind="merchant", name="First", number=taken, phone=world.msisdn())
    ).code is Code.OK
    client = await world.customer()
    assert client.msisdn
    cases = [
        ({"kind": "bank", "name": "X", "number": "1"}, Code.INVALID_INPUT, "kind: one of"),
        (
            {"kind": "merchant", "name": "Y", "number": taken, "phone": world.msisdn()},
            Code.NOT_ALLOWED,
            "taken",
        ),
        ({"kind": "merchant", "name": "Z", "number": world.number()}, Code.INVALID_INPUT, "phone"),
        (
            {"kind": "merchant", "name": "Z", "number": world.number(), "phone": client.msisdn},
            Code.NOT_ALLOWED,
            "registered already",
        ),
        (
            {"kind": "agent_store", "name": "S", "phone": world.msisdn(), "parent": "999999"},
            Code.UNKNOWN_AGENT,
            "parent",
        ),
        (
            {"kind": "organisation", "name": "O", "number": world.number(), "tariff": "free"},
            Code.INVALID_INPUT,
            "tariff",
        ),
        (
            {"kind": "merchant", "name": "", "number": world.number(), "phone": world.msisdn()},
            Code.INVALID_INPUT,
            "name",
        ),
    ]
    for fields, code, words in cases:
        refused(await onboard(world, **fields), code, words)
    # Only the console onboards.
    by_pin = await world.ask(
        "onboard_business", client.msisdn, CUSTOMER_PIN, kind="merchant", name="N", number="77"
    )
    refused(by_pin, Code.NOT_ALLOWED, "operator console")
