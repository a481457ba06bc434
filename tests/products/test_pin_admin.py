"""PIN administration through a running platform, on both stores.

Method: lock a customer's PIN with five wrong tries (M-Pesa's limit), then get
the account back each way: customer care unlocks it; an admin resets it to a
temporary PIN, which the customer reads from their SMS and must change before
anything else; the customer unlocks it themselves with their ID number and a
new PIN. Each leaves an audit record and tells the customer by SMS. Then who
may not: other staff roles, staff acting on themselves or (unless admin) on
other staff, a wrong ID number (three a day).
"""

from __future__ import annotations

import re

import pytest

from mkoba.codes import Code
from mkoba.parties import Party, PartyKind, Role
from mkoba.processor.request import Response
from tests.processor.world import eventually
from tests.products.world import (
    CUSTOMER_PIN,
    KSH,
    STAFF_PIN,
    World,
    refused,
    wallet,
)

pytestmark = pytest.mark.anyio


async def locked_customer(world: World) -> Party:
    party = await world.customer(1_000)
    assert party.msisdn
    for _ in range(5):
        await world.ask("balance", party.msisdn, "0000")
    refused(await world.ask("balance", party.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)
    return party


async def staff_asks(world: World, staff: Party, product: str, customer: Party) -> Response:
    assert staff.msisdn and customer.msisdn
    return await world.ask(product, staff.msisdn, STAFF_PIN, customer=customer.msisdn)


async def test_customer_care_unlocks_a_locked_pin(world: World) -> None:
    customer = await locked_customer(world)
    care = await world.staff(Role.CUSTOMER_CARE)
    assert customer.msisdn
    response = await staff_asks(world, care, "unlock_pin", customer)
    assert response.code is Code.OK, response
    assert (await world.ask("balance", customer.msisdn, CUSTOMER_PIN)).ok
    credential = world.services.directory.credentials[customer.id]
    assert (credential.locked, credential.failed_attempts) == (False, 0)
    stored = await world.rows(
        "SELECT locked, failed_attempts FROM pin_credentials WHERE party_id = ?", (customer.id,)
    )
    assert stored == [(0, 0)]
    (sms,) = await world.sms(response.request_id)
    assert sms.recipient == customer.msisdn
    assert sms.body.startswith("Your M-PESA PIN was unlocked by customer care on")
    assert (care.id, "pin_unlock") in await world.audit(customer)
    refused(await staff_asks(world, care, "unlock_pin", customer), Code.INVALID_INPUT, "not locked")


async def test_a_reset_pin_must_be_changed_before_anything_else(world: World) -> None:
    customer = await locked_customer(world)
    admin = await world.staff(Role.ADMIN)
    assert customer.msisdn
    response = await staff_asks(world, admin, "reset_pin", customer)
    assert response.code is Code.OK, response
    (sms,) = await world.sms(response.request_id)
    assert sms.recipient == customer.msisdn
    found = re.search(r"temporary PIN is (\d{4})\.", sms.body)
    assert found is not None, sms.body
    temporary = found.group(1)
    stored = await world.rows("SELECT response FROM requests WHERE id = ?", (response.request_id,))
    assert temporary not in stored[0][0]
    assert temporary not in response.message
    refused(await world.ask("balance", customer.msisdn, CUSTOMER_PIN), Code.WRONG_PIN)
    refused(
        await world.ask("balance", customer.msisdn, temporary), Code.PIN_NOT_SET, "temporary PIN"
    )
    other = await world.customer()
    assert other.msisdn
    send = await world.ask("send_money", customer.msisdn, temporary, to=other.msisdn, amount="100")
    refused(send, Code.PIN_NOT_SET, "change the temporary PIN first")
    changed = await world.ask("change_pin", customer.msisdn, temporary, new_pin="4826")
    assert changed.ok, changed
    assert (
        await world.ask("send_money", customer.msisdn, "4826", to=other.msisdn, amount="100")
    ).ok
    assert await world.available(wallet(other)) == 100 * KSH
    assert (admin.id, "pin_reset") in await world.audit(customer)


async def test_a_customer_unlocks_with_their_id_number(world: World) -> None:
    customer = await locked_customer(world)
    assert customer.msisdn
    response = await world.ask(
        "pin_unlock_self",
        customer.msisdn,
        id_number=World.id_number(customer.msisdn).lower(),
        new_pin="5820",
    )
    assert response.code is Code.OK, response
    assert (await world.ask("balance", customer.msisdn, "5820")).ok
    refused(await world.ask("balance", customer.msisdn, CUSTOMER_PIN), Code.WRONG_PIN)
    (sms,) = await world.sms(response.request_id)
    assert sms.body.startswith("Your M-PESA PIN was unlocked with your ID number")
    assert (customer.id, "pin_unlock_self") in await world.audit(customer)


async def test_self_service_refusals_and_its_daily_cap(world: World) -> None:
    customer = await locked_customer(world)
    assert customer.msisdn
    right = World.id_number(customer.msisdn)

    async def unlock(id_number: str, new_pin: str | None = "5820") -> Response:
        assert customer.msisdn
        return await world.ask(
            "pin_unlock_self", customer.msisdn, id_number=id_number, new_pin=new_pin
        )

    refused(await unlock(right, new_pin="1234"), Code.WEAK_PIN)
    refused(await unlock(right, new_pin=None), Code.INVALID_INPUT, "new PIN")
    for _ in range(3):
        refused(await unlock("99999999"), Code.NOT_ALLOWED, "does not match")
    refused(await unlock(right), Code.NOT_ALLOWED, "Too many wrong ID numbers")
    refused(await world.ask("balance", customer.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)
    stranger = await world.ask("pin_unlock_self", world.msisdn(), id_number=right, new_pin="5820")
    refused(stranger, Code.NOT_REGISTERED)


async def test_who_may_administer_pins(world: World) -> None:
    customer = await locked_customer(world)
    care = await world.staff(Role.CUSTOMER_CARE)
    other_care = await world.staff(Role.CUSTOMER_CARE)
    ops = await world.staff(Role.OPERATIONS)
    admin = await world.staff(Role.ADMIN)
    assert care.msisdn and customer.msisdn
    refused(await staff_asks(world, ops, "unlock_pin", customer), Code.NOT_ALLOWED, "customer care")
    refused(
        await world.ask("unlock_pin", customer.msisdn, CUSTOMER_PIN, customer=customer.msisdn),
        Code.NOT_ALLOWED,
    )
    refused(await staff_asks(world, care, "reset_pin", care), Code.NOT_ALLOWED, "your own PIN")
    refused(
        await staff_asks(world, care, "reset_pin", other_care), Code.NOT_ALLOWED, "Only an admin"
    )
    assert (await staff_asks(world, admin, "reset_pin", other_care)).ok
    unknown = await world.ask("unlock_pin", care.msisdn, STAFF_PIN, customer=world.msisdn())
    refused(unknown, Code.NOT_REGISTERED)
    pinless = await world.add_party(PartyKind.CUSTOMER, "No Pin", msisdn=world.msisdn())
    refused(await staff_asks(world, care, "unlock_pin", pinless), Code.PIN_NOT_SET)
    wrong = await world.ask("unlock_pin", care.msisdn, "1111", customer=customer.msisdn)
    refused(wrong, Code.WRONG_PIN)
    refused(await world.ask("balance", customer.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)


async def test_the_books_balance(world: World) -> None:
    world.check_books()


async def test_a_temporary_pin_reaches_the_phone_and_is_never_in_the_store_in_clear(
    world: World,
) -> None:
    customer = await locked_customer(world)
    care = await world.staff(Role.CUSTOMER_CARE)
    assert customer.msisdn
    response = await staff_asks(world, care, "reset_pin", customer)
    assert response.code is Code.OK, response
    (row,) = await world.rows(
        "SELECT id, body FROM outbox WHERE request_id = ?", (response.request_id,)
    )
    outbox_id, stored = int(row[0]), str(row[1])
    # Sealed until the sender hands it over, scrubbed after: never readable at rest.
    assert stored.startswith("sealed:") or stored == "[secure: sent]", stored
    (sms,) = await world.sms(response.request_id)
    found = re.search(r"temporary PIN is (\d{4})\.", sms.body)
    assert found is not None, sms.body
    temporary = found.group(1)

    async def scrubbed() -> bool:
        # The sender scrubs the row in a commit of its own, just after the hand-over.
        (after,) = await world.rows("SELECT body FROM outbox WHERE id = ?", (outbox_id,))
        return bool(after == ("[secure: sent]",))

    await eventually(scrubbed, what="the temporary PIN scrubbed from the outbox")
    # The phone got it, and it works (to set a new PIN, as a temporary PIN must).
    changed = await world.ask("change_pin", customer.msisdn, temporary, new_pin="8024")
    assert changed.code is Code.OK, changed
    assert (await world.ask("balance", customer.msisdn, "8024")).ok
