"""Care tickets: opened from the phone or by a reversal request, worked and resolved by staff.

Method: a platform per store; customers ask through TranProc on the channels that
carry them (USSD knows the phone, the API needs the PIN); staff work tickets as the
console sends them (``by_staff``). The tickets are read from their table and the
customer's SMS from the outbox.
"""

from __future__ import annotations

import pytest

from mkoba.codes import Code
from mkoba.processor.request import Channel
from tests.products.world import CUSTOMER_PIN, World, refused

pytestmark = pytest.mark.anyio


async def tickets_of(world: World, party_id: int) -> list[tuple[object, ...]]:
    return await world.rows(
        "SELECT id, category, queue, state, channel, subject, resolution FROM tickets"
        " WHERE party_id = ? ORDER BY id",
        (party_id,),
    )


async def test_a_customer_opens_a_ticket_from_the_phone_and_learns_its_number(
    world: World,
) -> None:
    await world.setup()
    client = await world.customer()
    assert client.msisdn
    opened = await world.ask(
        "open_ticket",
        client.msisdn,
        channel=Channel.USSD,
        category="transaction",
        text="  the agent   did not give me cash ",
    )
    assert opened.code is Code.OK, opened
    number = opened.data["ticket"]
    ((found, category, queue, state, channel, _, _),) = await tickets_of(world, client.id)
    assert (found, category, queue, state, channel) == (
        number,
        "transaction",
        "care_l1",
        "open",
        "ussd",
    )
    (text,) = (await world.rows("SELECT text FROM tickets WHERE id = ?", (number,)))[0]
    assert text == "the agent did not give me cash"
    assert any(f"number {number}" in sms for sms in await world.sms_to(client.msisdn))
    # On the API the phone is not known: the PIN proves it.
    without = await world.ask("open_ticket", client.msisdn, category="other")
    assert without.code is not Code.OK
    with_pin = await world.ask("open_ticket", client.msisdn, CUSTOMER_PIN, category="other")
    assert with_pin.code is Code.OK


async def test_what_a_customer_may_open_is_checked(world: World) -> None:
    client = await world.customer()
    assert client.msisdn

    async def ask(**fields: str) -> object:
        return await world.ask("open_ticket", client.msisdn or "", channel=Channel.USSD, **fields)

    refused(await ask(category="reversal"), Code.INVALID_INPUT, "category: one of")
    refused(await ask(category="gossip"), Code.INVALID_INPUT, "category: one of")
    refused(await ask(category="other", text="x" * 501), Code.INVALID_INPUT, "at most 500")
    for _ in range(3):
        assert (await ask(category="other")).code is Code.OK
    refused(await ask(category="fraud"), Code.NOT_ALLOWED, "requests open already")


async def test_staff_note_assign_and_resolve_a_ticket_and_the_customer_is_told(
    world: World,
) -> None:
    client = await world.customer()
    assert client.msisdn
    opened = await world.ask(
        "open_ticket", client.msisdn, channel=Channel.USSD, category="pin_account"
    )
    ticket = str(opened.data["ticket"])
    assert (await world.by_staff("note_ticket", ticket=ticket, text="called back")).code is Code.OK
    assert (await world.by_staff("assign_ticket", ticket=ticket, to="care.two")).code is Code.OK
    refused(await world.by_staff("resolve_ticket", ticket=ticket), Code.INVALID_INPUT, "text")
    refused(
        await world.by_staff("resolve_ticket", ticket=ticket, text="Nimekusaidia 😀"),
        Code.INVALID_INPUT,
        "letters, digits",
    )
    done = await world.by_staff("resolve_ticket", ticket=ticket, text="Your PIN was reset.")
    assert done.code is Code.OK, done
    ((state, assigned, resolution),) = await world.rows(
        "SELECT state, assigned, resolution FROM tickets WHERE id = ?", (int(ticket),)
    )
    assert (state, assigned, resolution) == ("resolved", "care.two", "Your PIN was reset.")
    notes = await world.rows(
        "SELECT author, text FROM ticket_notes WHERE ticket_id = ? ORDER BY at", (int(ticket),)
    )
    assert notes == [
        ("care.one", "called back"),
        ("care.one", "Assigned to care.two."),
        ("care.one", "Your PIN was reset."),
    ]
    told = await world.sms_to(client.msisdn)
    assert any(f"request {ticket} is resolved: Your PIN was reset." in sms for sms in told)
    refused(
        await world.by_staff("resolve_ticket", ticket=ticket, text="again"),
        Code.NOT_ALLOWED,
        "resolved already",
    )
    # Nobody works a ticket but from the console.
    assert client.msisdn
    by_pin = await world.ask("note_ticket", client.msisdn, CUSTOMER_PIN, ticket=ticket, text="x")
    refused(by_pin, Code.NOT_ALLOWED, "operator console")


async def test_a_reversal_request_opens_a_ticket_that_its_decision_closes(world: World) -> None:
    payer = await world.customer(2_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    sent = await world.ask("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="100")
    assert sent.receipt
    asked = await world.ask("request_reversal", payer.msisdn, CUSTOMER_PIN, receipt=sent.receipt)
    assert asked.code is Code.OK, asked
    ((number, category, queue, state, _, subject, _),) = await tickets_of(world, payer.id)
    assert (category, queue, state, subject) == ("reversal", "care_l2", "open", sent.receipt)
    refused(
        await world.by_staff("resolve_ticket", ticket=str(number), text="done"),
        Code.NOT_ALLOWED,
        "Decide the reversal",
    )
    decided = await world.by_staff("approve_reversal", receipt=sent.receipt)
    assert decided.code is Code.OK, decided
    ((_, _, _, state, _, _, resolution),) = await tickets_of(world, payer.id)
    assert state == "resolved" and resolution == f"Reversal approved: receipt {decided.receipt}."
