"""PIN administration through a running platform, on both stores.

Method: lock a customer's PIN with five wrong tries (M-Pesa's limit), then get
the account back each way: customer care unlocks it in the operator console;
care resets it there to a temporary PIN, which the customer reads from their SMS
and must change before anything else; the customer unlocks it themselves with
their ID number and a new PIN. Each leaves an audit record (naming the console
staff who made and checked it) and tells the customer by SMS. Then who may not:
anyone with a PIN (staff or customer, on any channel), the console on a staff
member's PIN (the server's command line does that) or on a wallet linked to the
staff acting, a wrong ID number (three a day).
"""

from __future__ import annotations

import json
import re

import pytest

from mkoba.codes import Code
from mkoba.parties import OPERATOR_ID, Party, PartyKind, Role
from mkoba.processor.request import Channel, Response, Staff
from tests.processor.world import eventually
from tests.products.world import (
    CUSTOMER_PIN,
    KSH,
    STAFF_PIN,
    World,
    refused,
    wallet,
)
from tests.world import CARE

pytestmark = pytest.mark.anyio
OWN_WALLET = "Staff may not act on a wallet linked to their own phone or identity."


async def locked_customer(world: World) -> Party:
    party = await world.customer(1_000)
    assert party.msisdn
    for _ in range(5):
        await world.ask("balance", party.msisdn, "0000")
    refused(await world.ask("balance", party.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)
    return party


async def staff_asks(world: World, product: str, customer: Party, staff: Staff = CARE) -> Response:
    """``product`` on ``customer``'s PIN, asked from the operator console for ``staff``."""
    assert customer.msisdn
    return await world.by_staff(product, staff, customer=customer.msisdn)


async def console_audit(world: World, subject: Party, action: str) -> list[tuple[int, object]]:
    """The (actor id, details) of ``subject``'s audit records for ``action``."""
    found = await world.rows(
        "SELECT actor_id, detail FROM audit_log WHERE subject_id = ? AND action = ?",
        (subject.id, action),
    )
    return [(int(actor), json.loads(detail)) for actor, detail in found]


async def test_customer_care_unlocks_a_locked_pin(world: World) -> None:
    customer = await locked_customer(world)
    assert customer.msisdn
    response = await staff_asks(world, "unlock_pin", customer)
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
    assert await console_audit(world, customer, "pin_unlock") == [
        (OPERATOR_ID, {"by": "console", "maker": "care.one", "checker": "care.two"})
    ]
    again = await staff_asks(world, "unlock_pin", customer)
    refused(again, Code.NOT_ALLOWED, "That PIN is not locked.")
    assert len(await console_audit(world, customer, "pin_unlock")) == 1


async def test_a_reset_pin_must_be_changed_before_anything_else(world: World) -> None:
    customer = await locked_customer(world)
    assert customer.msisdn
    back_office = Staff("care.three", "care_l1", "care.four")
    response = await staff_asks(world, "reset_pin", customer, back_office)
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
    assert await console_audit(world, customer, "pin_reset") == [
        (OPERATOR_ID, {"by": "console", "maker": "care.three", "checker": "care.four"})
    ]


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


async def test_no_pin_administers_a_pin_on_any_channel(world: World) -> None:
    # The native API's PIN routes for staff are gone; a request that reaches TranProc
    # anyway, with a staff member's PIN or the customer's own, is refused.
    customer = await locked_customer(world)
    care = await world.staff(Role.CUSTOMER_CARE)
    admin = await world.staff(Role.ADMIN)
    assert care.msisdn and admin.msisdn and customer.msisdn
    for product in ("unlock_pin", "reset_pin"):
        for staff in (care, admin):
            assert staff.msisdn
            for channel in (Channel.API, Channel.USSD, Channel.SYSTEM):
                asked = await world.ask(
                    product, staff.msisdn, STAFF_PIN, channel=channel, customer=customer.msisdn
                )
                refused(asked, Code.NOT_ALLOWED, "operator console")
        own = await world.ask(product, customer.msisdn, CUSTOMER_PIN, customer=customer.msisdn)
        refused(own, Code.NOT_ALLOWED, "operator console")
    # Nothing changed: still locked, nothing audited, nothing sent.
    refused(await world.ask("balance", customer.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)
    assert not await console_audit(world, customer, "pin_unlock")
    assert not await console_audit(world, customer, "pin_reset")
    texts = await world.sms_to(customer.msisdn)
    assert not any("unlocked" in text or "temporary PIN" in text for text in texts), texts


async def test_the_console_does_not_touch_a_staff_pin(world: World) -> None:
    # A staff PIN is unlocked from the server's command line only (``mkoba staff unlock``).
    other_care = await world.staff(Role.CUSTOMER_CARE)
    admin = await world.staff(Role.ADMIN)
    assert admin.msisdn
    for _ in range(5):
        await world.ask("balance", admin.msisdn, "0000")
    for product in ("unlock_pin", "reset_pin"):
        for target in (other_care, admin):
            refused(
                await staff_asks(world, product, target),
                Code.NOT_ALLOWED,
                "A staff PIN is unlocked from the server's command line only.",
            )
    refused(await world.ask("balance", admin.msisdn, STAFF_PIN), Code.PIN_LOCKED)
    assert world.services.directory.credentials[other_care.id].must_change is False


async def test_staff_do_not_administer_a_wallet_linked_to_them(world: World) -> None:
    customer = await locked_customer(world)
    assert customer.msisdn
    # Their own wallet; a wallet of theirs on another phone (the same ID document);
    # the checker's own wallet: the console links each to the staff who act.
    same_id = await world.add_party(
        PartyKind.CUSTOMER,
        "Second Line",
        msisdn=world.msisdn(),
        pin=CUSTOMER_PIN,
        id_number=World.id_number(customer.msisdn),
    )
    assert same_id.msisdn
    for staff in (
        CARE._replace(phones=(customer.msisdn,)),
        CARE._replace(phones=(world.msisdn(), same_id.msisdn)),
    ):
        for product in ("unlock_pin", "reset_pin"):
            refused(await staff_asks(world, product, customer, staff), Code.NOT_ALLOWED, OWN_WALLET)
    refused(await world.ask("balance", customer.msisdn, CUSTOMER_PIN), Code.PIN_LOCKED)
    assert not await console_audit(world, customer, "pin_unlock")
    # Staff with no link to it unlock it; the linked ones still may act on other wallets.
    linked = CARE._replace(phones=(same_id.msisdn,))
    other = await locked_customer(world)
    assert (await staff_asks(world, "unlock_pin", other, linked)).ok
    assert (await staff_asks(world, "unlock_pin", customer)).ok
    assert (await world.ask("balance", customer.msisdn, CUSTOMER_PIN)).ok


async def test_what_the_console_asks_must_name_a_registered_pin(world: World) -> None:
    unknown = await world.by_staff("unlock_pin", customer=world.msisdn())
    refused(unknown, Code.NOT_REGISTERED)
    pinless = await world.add_party(PartyKind.CUSTOMER, "No Pin", msisdn=world.msisdn())
    refused(await staff_asks(world, "unlock_pin", pinless), Code.PIN_NOT_SET)
    refused(await staff_asks(world, "reset_pin", pinless), Code.PIN_NOT_SET)
    refused(await world.by_staff("reset_pin", customer="not a number"), Code.INVALID_INPUT)


async def test_the_books_balance(world: World) -> None:
    world.check_books()


async def test_a_temporary_pin_reaches_the_phone_and_is_never_in_the_store_in_clear(
    world: World,
) -> None:
    customer = await locked_customer(world)
    assert customer.msisdn
    response = await staff_asks(world, "reset_pin", customer)
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
