"""Reversals (M-Pesa's 456) through a running platform, on both stores.

Method: a customer sends money, then asks for it back. The test checks the
hold (the recipient can no longer spend the amount, the payer does not have it
yet), each staff decision (approve moves it back with a receipt of its own,
reject releases it), the SMS to both parties at each step and the audit
records; then every way a request or a decision is refused: someone else's
receipt, a second request, a recipient who spent the money, the 24-hour window,
a decision asked for with a PIN (only the operator console decides), console
staff linked to a party of the transaction, a hold that lapsed before anyone
decided.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from mkoba.codes import Code
from mkoba.parties import OPERATOR_ID, Party, PartyKind, Purpose, Role
from mkoba.processor.request import Channel, Response, Staff
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
HOUR_NS = 3_600 * 1_000_000_000


async def sent(
    world: World, amount: str = "1,000", *, channel: Channel = Channel.API
) -> tuple[Party, Party, str]:
    """A payer who sent ``amount`` to a recipient (who had nothing), and the receipt."""
    payer = await world.customer(5_000, name="Otieno Ochieng")
    recipient = await world.customer(name="Wambui Njoroge")
    assert payer.msisdn and recipient.msisdn
    response = await world.ask(
        "send_money",
        payer.msisdn,
        CUSTOMER_PIN,
        channel=channel,
        to=recipient.msisdn,
        amount=amount,
    )
    assert response.ok and response.receipt is not None, response
    return payer, recipient, response.receipt


async def ask_back(world: World, payer: Party, receipt: str, **extra: str) -> Response:
    assert payer.msisdn
    return await world.ask("request_reversal", payer.msisdn, CUSTOMER_PIN, receipt=receipt, **extra)


async def decide(world: World, receipt: str, approve: bool = True, staff: Staff = CARE) -> Response:
    """Approve or reject in the operator console: care makes, the back office checks."""
    product = "approve_reversal" if approve else "reject_reversal"
    return await world.by_staff(product, staff, receipt=receipt)


async def test_a_request_holds_the_money_and_approval_moves_it_back(world: World) -> None:
    payer, recipient, receipt = await sent(world)
    assert payer.msisdn and recipient.msisdn
    asked = await ask_back(world, payer, receipt.lower())
    assert asked.code is Code.OK, asked
    assert asked.data == {"original": receipt, "amount": 1_000 * KSH, "state": "held"}
    # Held: the recipient cannot spend it, the payer does not have it back yet.
    assert await world.balances(wallet(payer), wallet(recipient)) == [3_987 * KSH, 0]
    texts = {sms.recipient: sms.body for sms in await world.sms(asked.request_id)}
    assert texts[payer.msisdn].startswith(f"{receipt} Reversal request received for Ksh1,000.00")
    assert "sent to WAMBUI NJOROGE on" in texts[payer.msisdn]
    assert f"OTIENO OCHIENG 0{payer.msisdn[3:]} has asked to reverse" in texts[recipient.msisdn]
    assert "Available balance Ksh0.00." in texts[recipient.msisdn]
    spend = await world.ask(
        "send_money", recipient.msisdn, CUSTOMER_PIN, to=payer.msisdn, amount="500"
    )
    refused(spend, Code.INSUFFICIENT_FUNDS)

    approved = await decide(world, receipt)
    assert approved.code is Code.OK, approved
    assert approved.receipt is not None and approved.receipt != receipt
    assert await world.balances(wallet(payer), wallet(recipient)) == [4_987 * KSH, 0]
    row = await world.receipt(approved.receipt)
    assert (row["product"], row["status"], row["reference"]) == ("reversal", "completed", receipt)
    assert (row["payer_id"], row["payee_id"], row["amount"]) == (
        recipient.id,
        payer.id,
        1_000 * KSH,
    )
    texts = {sms.recipient: sms.body for sms in await world.sms(approved.request_id)}
    assert texts[payer.msisdn].startswith(
        f"{approved.receipt} Confirmed. Transaction {receipt} has been reversed"
    )
    assert "New M-PESA balance is Ksh4,987.00." in texts[payer.msisdn]
    assert "from OTIENO OCHIENG has been reversed" in texts[recipient.msisdn]
    state = await world.rows(
        "SELECT state, decided_by, reversal_receipt FROM reversals WHERE receipt = ?", (receipt,)
    )
    assert state == [("approved", OPERATOR_ID, approved.receipt)]
    assert await world.audit(payer) == [
        (payer.id, "register"),
        (payer.id, "reversal_request"),
        (OPERATOR_ID, "reversal_approved"),
    ]
    (detail,) = await world.rows(
        "SELECT detail FROM audit_log WHERE subject_id = ? AND action = 'reversal_approved'",
        (payer.id,),
    )
    assert json.loads(detail[0]) == {
        "by": "console",
        "maker": "care.one",
        "checker": "care.two",
        "receipt": receipt,
        "reversal": approved.receipt,
    }
    lines = await world.rows(
        "SELECT party_id, amount FROM statement_lines WHERE receipt = ? ORDER BY party_id",
        (approved.receipt,),
    )
    assert lines == [(payer.id, 1_000 * KSH), (recipient.id, -1_000 * KSH)]
    again = await decide(world, receipt, staff=Staff("care.three", "care_l1", "care.four"))
    refused(again, Code.REVERSAL_NOT_POSSIBLE, "approved already")


async def test_rejection_releases_the_hold(world: World) -> None:
    payer, recipient, receipt = await sent(world, "300", channel=Channel.SYSTEM)
    assert payer.msisdn and recipient.msisdn
    assert (await ask_back(world, payer, receipt)).ok
    assert await world.available(wallet(recipient)) == 0
    rejected = await decide(world, receipt, approve=False)
    assert rejected.code is Code.OK, rejected
    assert rejected.receipt is None
    assert await world.balances(wallet(payer), wallet(recipient)) == [4_693 * KSH, 300 * KSH]
    texts = {sms.recipient: sms.body for sms in await world.sms(rejected.request_id)}
    assert (
        "Your request to reverse Ksh300.00 sent to WAMBUI NJOROGE was not accepted"
        in (texts[payer.msisdn])
    )
    assert "Available balance Ksh300.00." in texts[recipient.msisdn]
    assert (OPERATOR_ID, "reversal_rejected") in await world.audit(payer)
    state = await world.rows(
        "SELECT state, decided_by, reversal_receipt FROM reversals WHERE receipt = ?", (receipt,)
    )
    assert state == [("rejected", OPERATOR_ID, "")]
    refused(await decide(world, receipt), Code.REVERSAL_NOT_POSSIBLE, "rejected already")
    refused(await ask_back(world, payer, receipt), Code.REVERSAL_NOT_POSSIBLE, "already asked")


async def test_money_already_spent_cannot_be_reversed(world: World) -> None:
    payer, recipient, receipt = await sent(world, "800")
    assert recipient.msisdn
    elsewhere = await world.customer()
    assert elsewhere.msisdn
    spent = await world.ask(
        "send_money", recipient.msisdn, CUSTOMER_PIN, to=elsewhere.msisdn, amount="500"
    )
    assert spent.ok
    refused(await ask_back(world, payer, receipt), Code.REVERSAL_NOT_POSSIBLE, "already used")
    assert await world.rows("SELECT COUNT(*) FROM reversals WHERE receipt = ?", (receipt,)) == [
        (0,)
    ]
    # 800 received, 500 sent on at a cost of 7: 293 left, and none of it is held.
    assert await world.available(wallet(recipient)) == 293 * KSH


async def test_only_the_payer_of_a_recent_send_may_ask(world: World) -> None:
    payer, recipient, receipt = await sent(world, "100")
    refused(await ask_back(world, recipient, receipt), Code.UNKNOWN_RECEIPT)
    refused(await ask_back(world, payer, "UKN0000000"), Code.UNKNOWN_RECEIPT)
    refused(await ask_back(world, payer, "not a code!"), Code.INVALID_INPUT, "receipt")
    till = await world.add_party(
        PartyKind.MERCHANT, "Java House", number=world.number(), purposes=(Purpose.TILL,)
    )
    assert payer.msisdn and till.number
    paid = await world.ask("buy_goods", payer.msisdn, CUSTOMER_PIN, till=till.number, amount="50")
    assert paid.ok and paid.receipt
    refused(
        await ask_back(world, payer, paid.receipt), Code.REVERSAL_NOT_POSSIBLE, "Ask the business"
    )
    refused(
        await world.ask("request_reversal", payer.msisdn, "0000", receipt=receipt), Code.WRONG_PIN
    )
    first = await ask_back(world, payer, receipt, request_id="rv-1")
    assert first.ok
    assert await ask_back(world, payer, receipt, request_id="rv-1") == first
    refused(await ask_back(world, payer, paid.receipt, request_id="rv-1"), Code.DUPLICATE_REQUEST)


async def test_a_send_not_yet_delivered_cannot_be_reversed(world: World) -> None:
    payer = await world.customer(1_000)
    recipient = await world.customer()
    assert payer.msisdn and recipient.msisdn
    request = world.request(
        "send_money", payer.msisdn, CUSTOMER_PIN, to=recipient.msisdn, amount="100"
    )
    pending = await world.platform.request(request)
    assert pending.ok and pending.receipt
    refused(await ask_back(world, payer, pending.receipt), Code.REVERSAL_NOT_POSSIBLE, "complete")
    assert await world.platform.acknowledge(request.id)


async def test_a_send_older_than_the_window_cannot_be_reversed(world: World) -> None:
    clock = world.platform.clock
    clock.fixed = clock() - 25 * HOUR_NS
    try:
        payer, _, receipt = await sent(world, "200", channel=Channel.SYSTEM)
    finally:
        clock.fixed = None
    refused(await ask_back(world, payer, receipt), Code.REVERSAL_NOT_POSSIBLE, "within 24 hours")


async def test_no_pin_decides_a_reversal_on_any_channel(world: World) -> None:
    # The native API's decision routes are gone; a request that reaches TranProc anyway,
    # with a staff member's PIN or the payer's own, decides nothing.
    payer, recipient, receipt = await sent(world, "400", channel=Channel.SYSTEM)
    assert (await ask_back(world, payer, receipt)).ok
    care = await world.staff(Role.CUSTOMER_CARE)
    ops = await world.staff(Role.OPERATIONS)
    assert payer.msisdn and care.msisdn and ops.msisdn
    for product in ("approve_reversal", "reject_reversal"):
        for msisdn, pin in ((care.msisdn, STAFF_PIN), (ops.msisdn, STAFF_PIN)):
            for channel in (Channel.API, Channel.USSD, Channel.SYSTEM):
                asked = await world.ask(product, msisdn, pin, channel=channel, receipt=receipt)
                refused(asked, Code.NOT_ALLOWED, "operator console")
        own = await world.ask(product, payer.msisdn, CUSTOMER_PIN, receipt=receipt)
        refused(own, Code.NOT_ALLOWED, "operator console")
    # Still held, still undecided; the console decides it.
    assert await world.balances(wallet(payer), wallet(recipient)) == [4_593 * KSH, 0]
    state = await world.rows("SELECT state FROM reversals WHERE receipt = ?", (receipt,))
    assert state == [("held",)]
    assert (await decide(world, receipt, approve=False)).ok


async def test_staff_decide_nothing_linked_to_them(world: World) -> None:
    payer, recipient, receipt = await sent(world, "400", channel=Channel.SYSTEM)
    assert (await ask_back(world, payer, receipt)).ok
    assert payer.msisdn and recipient.msisdn
    # A member of staff who is the payer or the recipient (the console links their own
    # wallet's phone), or the payer under another phone (the same ID document).
    second_line = await world.add_party(
        PartyKind.CUSTOMER,
        "Otieno Second Line",
        msisdn=world.msisdn(),
        id_number=World.id_number(payer.msisdn),
    )
    assert second_line.msisdn
    words = "Staff may not act on a wallet linked to their own phone or identity."
    for phones in ((payer.msisdn,), (recipient.msisdn,), (world.msisdn(), second_line.msisdn)):
        insider = CARE._replace(phones=phones)
        for approve in (True, False):
            refused(await decide(world, receipt, approve, insider), Code.NOT_ALLOWED, words)
    assert await world.available(wallet(recipient)) == 0
    refused(await decide(world, "UKN0000000"), Code.UNKNOWN_RECEIPT)
    refused(await decide(world, "not a code!"), Code.INVALID_INPUT, "receipt")
    # Staff with no link to either party decide it.
    outsider = CARE._replace(phones=(world.msisdn(),))
    assert (await decide(world, receipt, approve=False, staff=outsider)).ok
    assert await world.available(wallet(recipient)) == 400 * KSH


async def test_a_hold_nobody_decided_lapses_with_the_window(world: World) -> None:
    payer, recipient, receipt = await sent(world, "600", channel=Channel.SYSTEM)
    assert (await ask_back(world, payer, receipt)).ok
    assert await world.available(wallet(recipient)) == 0
    clock = world.platform.clock
    clock.fixed = clock() + 25 * HOUR_NS
    try:
        await asyncio.wrap_future(world.platform.writer.sweep())
        late = await decide(world, receipt)
    finally:
        clock.fixed = None
    refused(late, Code.REVERSAL_NOT_POSSIBLE, "lapsed")
    assert await world.balances(wallet(payer), wallet(recipient)) == [4_387 * KSH, 600 * KSH]
    state = await world.rows("SELECT state FROM reversals WHERE receipt = ?", (receipt,))
    assert state == [("lapsed",)]


async def test_the_books_balance(world: World) -> None:
    world.check_books()


async def test_two_decisions_at_once_move_the_money_once(world: World) -> None:
    # Two members of staff approve (and one rejects) at the same moment: TranProc makes
    # each decision under the reversal's lock on the record as it then stands.
    payer, recipient, receipt = await sent(world)
    first = Staff("care.one", "care_l1", "care.two")
    second = Staff("care.three", "care_l1", "compliance.one")
    third = Staff("care.five", "care_l1", "care.two")
    assert (await ask_back(world, payer, receipt)).ok
    answers = await asyncio.gather(
        decide(world, receipt, staff=first),
        decide(world, receipt, staff=second),
        decide(world, receipt, approve=False, staff=third),
    )
    done = [answer for answer in answers if answer.ok]
    assert len(done) == 1, answers
    for answer in answers:
        if not answer.ok:
            refused(answer, Code.REVERSAL_NOT_POSSIBLE, "already")
    moved_back = 1_000 * KSH if done[0].receipt else 0
    assert await world.balances(wallet(payer), wallet(recipient)) == [
        3_987 * KSH + moved_back,
        1_000 * KSH - moved_back,
    ]
    decisions = [action for _, action in await world.audit(payer) if action != "reversal_request"]
    assert decisions == [
        "register",
        "reversal_approved" if done[0].receipt else "reversal_rejected",
    ]
    world.check_books()
