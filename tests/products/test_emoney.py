"""E-money issuance and redemption: the only way money enters or leaves the wallet system.

A fresh operator starts with nothing in fee income, so the first deposit's agent
commission cannot be paid: it is refused with a precise code until operations
staff issue e-money to the operator against its capital in the trust account.
Only the operator console asks for either (operations makes, finance checks): no
PIN, on any channel, moves e-money, and nobody moves it into or out of a wallet
linked to themselves.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from mkoba.codes import Code
from mkoba.commands import parse
from mkoba.parties import OPERATOR_ID, Party, PartyKind, Purpose, Role, account_id
from mkoba.processor.request import Channel, Request, Response, Staff
from tests.products.world import (
    AGENT_PIN,
    CUSTOMER_PIN,
    FEES,
    KSH,
    STAFF_PIN,
    TRUST,
    World,
    refused,
)

pytestmark = pytest.mark.anyio

# Operations makes a float top-up; finance checks it (the console's shipped policy).
OPS = Staff("ops.one", "operations", "fin.one")


async def trust_out(world: World) -> int:
    """E-money issued and not redeemed: the trust mirror's debit balance."""
    (trust,) = await asyncio.wrap_future(world.platform.writer.balances([TRUST]))
    assert trust is not None
    return trust.debits_posted - trust.credits_posted


async def dealer(world: World, name: str = "Big Bank Agency", **extra: Any) -> Party:
    """A super-agent holding a float account."""
    return await world.add_party(
        PartyKind.SUPER_AGENT,
        name,
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.FLOAT,),
        roles=(Role.SUPER_AGENT,),
        pin=AGENT_PIN,
        **extra,
    )


async def audit_details(world: World, subject: Party) -> list[tuple[int, str, dict[str, Any]]]:
    """The audit records about ``subject``: (actor id, action, details), oldest first."""
    found = await world.rows(
        "SELECT actor_id, action, detail FROM audit_log WHERE subject_id = ? ORDER BY at, id",
        (subject.id,),
    )
    return [(int(actor), str(action), json.loads(detail)) for actor, action, detail in found]


async def test_a_fresh_operator_funds_commissions_by_issuing_e_money_to_itself(
    world: World,
) -> None:
    _office, (store,) = await world.agent(float_ksh=50_000)
    client = await world.customer()
    assert store.msisdn and client.msisdn
    assert await world.available(FEES) == 0
    unfunded = await world.ask("deposit", store.msisdn, AGENT_PIN, to=client.msisdn, amount="1000")
    refused(unfunded, Code.OPERATOR_UNFUNDED, "fund its fee income")
    assert await world.available(account_id(client.id, Purpose.WALLET)) == 0
    issued = await world.by_staff(
        "issue_emoney", OPS, kind="operator", amount="100000", reference="CAPITAL-001"
    )
    assert issued.code is Code.OK, issued
    assert issued.receipt is not None
    assert await world.available(FEES) == 100_000 * KSH
    deposited = await world.ask("deposit", store.msisdn, AGENT_PIN, to=client.msisdn, amount="1000")
    assert deposited.code is Code.OK, deposited
    assert await world.available(account_id(client.id, Purpose.WALLET)) == 1_000 * KSH


async def test_issuing_and_redeeming_float_moves_the_trust_mirror_one_for_one(
    world: World,
) -> None:
    holder = await dealer(world)
    assert holder.number and holder.msisdn
    trust_before = await trust_out(world)
    issued = await world.by_staff(
        "issue_emoney",
        OPS,
        kind="super_agent",
        to=holder.number,
        amount="2,000,000",
        reference="FT24112300123",
    )
    assert issued.code is Code.OK, issued
    # Posted at once, with a receipt of its own (the console has no delivery to wait for).
    assert issued.receipt is not None
    row = await world.receipt(issued.receipt)
    assert (row["product"], row["status"], row["reference"]) == (
        "issue_emoney",
        "completed",
        "FT24112300123",
    )
    float_account = account_id(holder.id, Purpose.FLOAT)
    assert await world.available(float_account) == 2_000_000 * KSH
    redeemed = await world.by_staff(
        "redeem_emoney",
        OPS,
        kind="super_agent",
        to=holder.number,
        amount="500000",
        reference="OUT-77",
    )
    assert redeemed.code is Code.OK, redeemed
    assert redeemed.receipt is not None and redeemed.receipt != issued.receipt
    assert await world.available(float_account) == 1_500_000 * KSH
    # The trust mirror (debit-normal) moved by exactly the e-money still out.
    assert await trust_out(world) - trust_before == 1_500_000 * KSH
    # Nobody redeems more than the holder has.
    refused(
        await world.by_staff(
            "redeem_emoney",
            OPS,
            kind="super_agent",
            to=holder.number,
            amount="1500001",
            reference="OUT-78",
        ),
        Code.INSUFFICIENT_FUNDS,
    )
    assert await world.available(float_account) == 1_500_000 * KSH
    texts = await world.sms_to(holder.msisdn)
    assert any("issued to you against bank reference FT24112300123" in text for text in texts)
    # The audit names the console staff who made and checked each move, and its receipt.
    moves = {
        action: (actor, detail) for actor, action, detail in await audit_details(world, holder)
    }
    assert moves["emoney_issue"] == (
        OPERATOR_ID,
        {
            "by": "console",
            "maker": "ops.one",
            "checker": "fin.one",
            "amount": 2_000_000 * KSH,
            "reference": "FT24112300123",
            "account": float_account,
            "receipt": issued.receipt,
        },
    )
    actor, detail = moves["emoney_redeem"]
    assert actor == OPERATOR_ID
    assert (detail["maker"], detail["checker"], detail["receipt"]) == (
        "ops.one",
        "fin.one",
        redeemed.receipt,
    )


async def test_no_pin_moves_e_money_on_any_channel(world: World) -> None:
    # The native API's e-money routes are gone; a request that reaches TranProc anyway
    # (with a staff or a customer PIN, or without the console's staff) is refused.
    ops = await world.staff(Role.OPERATIONS)
    client = await world.customer()
    assert ops.msisdn and client.msisdn
    trust_before = await trust_out(world)
    fields = {"kind": "operator", "amount": "10", "reference": "X1"}
    for channel in (Channel.API, Channel.USSD, Channel.SYSTEM):
        refused(
            await world.ask("issue_emoney", ops.msisdn, STAFF_PIN, channel=channel, **fields),
            Code.NOT_ALLOWED,
            "operator console",
        )
    refused(
        await world.ask("redeem_emoney", ops.msisdn, STAFF_PIN, **fields),
        Code.NOT_ALLOWED,
        "operator console",
    )
    refused(
        await world.ask("issue_emoney", client.msisdn, CUSTOMER_PIN, **fields),
        Code.NOT_ALLOWED,
        "operator console",
    )
    # The staff channel without the staff the console signed in is no better.
    profile = world.services.profile(world.platform.clock())
    anonymous = Request(
        "test:emoney-anonymous",
        Channel.STAFF,
        "issue_emoney",
        "staff:nobody",
        parse("issue_emoney", fields, profile),
        received=time.time_ns(),
    )
    refused(await world.platform.request(anonymous), Code.NOT_ALLOWED, "operator console")
    assert await trust_out(world) == trust_before
    # The same request from the console issues.
    assert (await world.by_staff("issue_emoney", OPS, **fields)).code is Code.OK
    assert await trust_out(world) == trust_before + 10 * KSH


async def test_what_the_console_asks_must_name_a_holder_and_a_bank_reference(
    world: World,
) -> None:
    trust_before = await trust_out(world)
    refused(
        await world.by_staff("issue_emoney", OPS, kind="operator", amount="10"),
        Code.INVALID_INPUT,
        "reference",
    )
    refused(
        await world.by_staff(
            "issue_emoney", OPS, kind="operator", amount="10", reference="not a reference!"
        ),
        Code.INVALID_INPUT,
        "reference",
    )
    refused(
        await world.by_staff(
            "issue_emoney", OPS, kind="agent_store", to="9/9", amount="10", reference="X2"
        ),
        Code.UNKNOWN_AGENT,
    )
    refused(
        await world.by_staff(
            "issue_emoney", OPS, kind="customer", to="1", amount="10", reference="X3"
        ),
        Code.INVALID_INPUT,
        "kind:",
    )
    assert await trust_out(world) == trust_before


async def test_staff_move_no_e_money_for_a_wallet_linked_to_them(world: World) -> None:
    # A member of operations whose own wallet is on a phone the console links to them.
    own = await world.customer()
    assert own.msisdn
    insider = OPS._replace(phones=(own.msisdn,))
    # The dealership is theirs: its phone, or the same ID document under another number.
    theirs = await dealer(world, "Insider Agency")
    same_id = await dealer(world, "Insider Holdings", id_number=World.id_number(own.msisdn))
    other = await dealer(world, "Arm's Length Agency")
    assert theirs.msisdn and theirs.number and same_id.number and other.number
    trust_before = await trust_out(world)

    async def issue(staff: Staff, holder: Party, reference: str) -> Response:
        assert holder.number
        return await world.by_staff(
            "issue_emoney",
            staff,
            kind="super_agent",
            to=holder.number,
            amount="1000",
            reference=reference,
        )

    owner = OPS._replace(phones=(theirs.msisdn,))
    words = "Staff may not act on a wallet linked to their own phone or identity."
    refused(await issue(owner, theirs, "LINK-1"), Code.NOT_ALLOWED, words)
    refused(await issue(insider, same_id, "LINK-2"), Code.NOT_ALLOWED, words)
    redeem = await world.by_staff(
        "redeem_emoney", owner, kind="super_agent", to=theirs.number, amount="1", reference="L3"
    )
    refused(redeem, Code.NOT_ALLOWED, words)
    assert await trust_out(world) == trust_before
    # The same staff move e-money for a holder that is not theirs; others for theirs.
    assert (await issue(insider, other, "LINK-4")).code is Code.OK
    assert (await issue(OPS, same_id, "LINK-5")).code is Code.OK
    assert await trust_out(world) == trust_before + 2_000 * KSH
    assert await world.available(account_id(same_id.id, Purpose.FLOAT)) == 1_000 * KSH


async def test_staff_linked_to_a_head_office_move_no_float_for_its_stores(world: World) -> None:
    office, (store,) = await world.agent()
    _, (elsewhere,) = await world.agent()
    assert office.msisdn and store.number and elsewhere.number
    owner = OPS._replace(phones=(office.msisdn,))

    async def issue(holder: Party, reference: str) -> Response:
        assert holder.number
        return await world.by_staff(
            "issue_emoney",
            owner,
            kind="agent_store",
            to=holder.number,
            amount="50",
            reference=reference,
        )

    words = "Staff may not act on a wallet linked to their own phone or identity."
    refused(await issue(store, "CHAIN-1"), Code.NOT_ALLOWED, words)
    assert (await issue(elsewhere, "CHAIN-2")).code is Code.OK


async def test_a_bank_reference_issues_e_money_once(world: World) -> None:
    # The operator found the same bank reference had issued e-money twice: one bank
    # movement is one e-money movement, whoever asks and however the text is sent.
    first = OPS
    second = Staff("ops.two", "operations", "fin.two")
    holder = await world.add_party(
        PartyKind.SUPER_AGENT,
        "Reference Test Dealer",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.FLOAT,),
    )
    assert holder.number
    trust_before = await trust_out(world)

    async def issue(staff: Staff, reference: str) -> Response:
        return await world.by_staff(
            "issue_emoney",
            staff,
            kind="super_agent",
            to=holder.number or "",
            amount="1000",
            reference=reference,
        )

    done = await issue(first, "FT-DUP-1")
    assert done.code is Code.OK, done
    for spelled in (" FT-DUP-1 ", "ft-dup-1", "FTDUP1", "ft dup 1"):
        again = await issue(second, spelled)
        refused(again, Code.NOT_ALLOWED, "Bank reference FTDUP1 was already used: receipt")
        assert done.receipt is not None and done.receipt in again.message
    assert await trust_out(world) - trust_before == 1_000 * KSH
    # Another reference issues; a redemption keeps references of its own.
    assert (await issue(second, "FT-DUP-2")).code is Code.OK
    redeemed = await world.by_staff(
        "redeem_emoney",
        first,
        kind="super_agent",
        to=holder.number,
        amount="10",
        reference="FT-DUP-1",
    )
    assert redeemed.code is Code.OK, redeemed
    assert await trust_out(world) - trust_before == 1_990 * KSH


async def test_one_reference_asked_for_twice_at_once_issues_once(world: World) -> None:
    # Two members of operations enter the same bank movement at the same moment: the
    # decision is made under the reference's lock, so only one of them issues.
    holder = await dealer(world, "Race Test Dealer")
    assert holder.number
    trust_before = await trust_out(world)
    makers = [Staff(f"ops.{n}", "operations", "fin.one") for n in range(4)]
    answers = await asyncio.gather(
        *(
            world.by_staff(
                "issue_emoney",
                staff,
                kind="super_agent",
                to=holder.number,
                amount="700",
                reference="FT-RACE-1",
            )
            for staff in makers
        )
    )
    done = [answer for answer in answers if answer.ok]
    assert len(done) == 1, answers
    assert done[0].receipt is not None
    for answer in answers:
        if not answer.ok:
            refused(answer, Code.NOT_ALLOWED, f"already used: receipt {done[0].receipt}")
    assert await trust_out(world) - trust_before == 700 * KSH
    assert await world.available(account_id(holder.id, Purpose.FLOAT)) == 700 * KSH
    world.check_books()
