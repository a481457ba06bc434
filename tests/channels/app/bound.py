"""Bound phones for the route tests: a customer registered, funded, and their app enrolled."""

from __future__ import annotations

import asyncio

import httpx

from mkoba.parties import Party
from tests.channels.app.phone import AppPhone, code_in
from tests.products.world import CUSTOMER_PIN, World


async def enrolment_code(world: World, msisdn: str, before: int) -> str:
    """The code of the newest enrolment SMS to ``msisdn`` (sent after ``before`` messages)."""
    # The route answers before TranProc texts the code (nobody may time the directory).
    for _ in range(500):
        messages = await world.sms_to(msisdn)
        if len(messages) > before:
            return code_in(messages[-1])
        await asyncio.sleep(0.01)
    raise AssertionError("no enrolment SMS")


async def bound_phone(
    world: World, client: httpx.AsyncClient, balance_ksh: int = 0, name: str = "Amina Wanjiru"
) -> tuple[Party, AppPhone]:
    """A new customer with ``balance_ksh`` and their app bound."""
    party = await world.customer(balance_ksh, name=name)
    assert party.msisdn is not None
    phone = AppPhone(client, party.msisdn)
    before = len(await world.sms_to(party.msisdn))
    enrolment = await phone.start()
    code = await enrolment_code(world, party.msisdn, before)
    answer = await phone.confirm(enrolment, code, CUSTOMER_PIN)
    assert answer.status_code == 201, answer.text
    return party, phone
