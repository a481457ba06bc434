"""E-money issuance and redemption: the only way money enters or leaves the wallet system.

A fresh operator starts with nothing in fee income, so the first deposit's agent
commission cannot be paid: it is refused with a precise code until operations
staff issue e-money to the operator against its capital in the trust account.
"""

from __future__ import annotations

import asyncio

import pytest

from mkoba.codes import Code
from mkoba.parties import PartyKind, Purpose, Role, account_id
from mkoba.processor.request import Response
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


async def trust_out(world: World) -> int:
    """E-money issued and not redeemed: the trust mirror's debit balance."""
    (trust,) = await asyncio.wrap_future(world.platform.writer.balances([TRUST]))
    assert trust is not None
    return trust.debits_posted - trust.credits_posted


async def test_a_fresh_operator_funds_commissions_by_issuing_e_money_to_itself(
    world: World,
) -> None:
    ops = await world.staff(Role.OPERATIONS)
    _office, (store,) = await world.agent(float_ksh=50_000)
    client = await world.customer()
    assert ops.msisdn and store.msisdn and client.msisdn
    assert await world.available(FEES) == 0
    unfunded = await world.ask("deposit", store.msisdn, AGENT_PIN, to=client.msisdn, amount="1000")
    refused(unfunded, Code.OPERATOR_UNFUNDED, "fund its fee income")
    assert await world.available(account_id(client.id, Purpose.WALLET)) == 0
    issued = await world.ask(
        "issue_emoney",
        ops.msisdn,
        STAFF_PIN,
        kind="operator",
        amount="100000",
        reference="CAPITAL-001",
    )
    assert issued.code is Code.OK, issued
    assert await world.available(FEES) == 100_000 * KSH
    deposited = await world.ask("deposit", store.msisdn, AGENT_PIN, to=client.msisdn, amount="1000")
    assert deposited.code is Code.OK, deposited
    assert await world.available(account_id(client.id, Purpose.WALLET)) == 1_000 * KSH


async def test_issuing_and_redeeming_float_moves_the_trust_mirror_one_for_one(
    world: World,
) -> None:
    ops = await world.staff(Role.OPERATIONS)
    dealer = await world.add_party(
        PartyKind.SUPER_AGENT,
        "Big Bank Agency",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.FLOAT,),
        roles=(Role.SUPER_AGENT,),
        pin=AGENT_PIN,
    )
    assert ops.msisdn and dealer.number and dealer.msisdn
    trust_before = await trust_out(world)
    issued = await world.ask(
        "issue_emoney",
        ops.msisdn,
        STAFF_PIN,
        kind="super_agent",
        to=dealer.number,
        amount="2,000,000",
        reference="FT24112300123",
    )
    assert issued.code is Code.OK, issued
    float_account = account_id(dealer.id, Purpose.FLOAT)
    assert await world.available(float_account) == 2_000_000 * KSH
    redeemed = await world.ask(
        "redeem_emoney",
        ops.msisdn,
        STAFF_PIN,
        kind="super_agent",
        to=dealer.number,
        amount="500000",
        reference="OUT-77",
    )
    assert redeemed.code is Code.OK, redeemed
    assert await world.available(float_account) == 1_500_000 * KSH
    # The trust mirror (debit-normal) moved by exactly the e-money still out.
    assert await trust_out(world) - trust_before == 1_500_000 * KSH
    # Nobody redeems more than the holder has.
    refused(
        await world.ask(
            "redeem_emoney",
            ops.msisdn,
            STAFF_PIN,
            kind="super_agent",
            to=dealer.number,
            amount="1500001",
            reference="OUT-78",
        ),
        Code.INSUFFICIENT_FUNDS,
    )
    texts = await world.sms_to(dealer.msisdn)
    assert any("issued to you against bank reference FT24112300123" in text for text in texts)
    audit = await world.audit(dealer)
    assert (ops.id, "emoney_issue") in audit and (ops.id, "emoney_redeem") in audit


async def test_only_operations_or_admin_staff_move_e_money(world: World) -> None:
    care = await world.staff(Role.CUSTOMER_CARE)
    ops = await world.staff(Role.OPERATIONS)
    client = await world.customer()
    assert care.msisdn and ops.msisdn and client.msisdn
    refused(
        await world.ask(
            "issue_emoney", care.msisdn, STAFF_PIN, kind="operator", amount="10", reference="X1"
        ),
        Code.NOT_ALLOWED,
        "operations or admin",
    )
    refused(
        await world.ask(
            "issue_emoney",
            client.msisdn,
            CUSTOMER_PIN,
            kind="operator",
            amount="10",
            reference="X1",
        ),
        Code.NOT_ALLOWED,
    )
    refused(
        await world.ask(
            "issue_emoney", ops.msisdn, "0000", kind="operator", amount="10", reference="X1"
        ),
        Code.WRONG_PIN,
    )
    refused(
        await world.ask("issue_emoney", ops.msisdn, STAFF_PIN, kind="operator", amount="10"),
        Code.INVALID_INPUT,
        "reference",
    )
    refused(
        await world.ask(
            "issue_emoney",
            ops.msisdn,
            STAFF_PIN,
            kind="agent_store",
            to="9/9",
            amount="10",
            reference="X2",
        ),
        Code.UNKNOWN_AGENT,
    )
    refused(
        await world.ask(
            "issue_emoney",
            ops.msisdn,
            STAFF_PIN,
            kind="customer",
            to="1",
            amount="10",
            reference="X3",
        ),
        Code.INVALID_INPUT,
        "kind:",
    )


async def test_a_bank_reference_issues_e_money_once(world: World) -> None:
    # The operator found the same bank reference had issued e-money twice: one bank
    # movement is one e-money movement, whoever asks and however the text is sent.
    first = await world.staff(Role.OPERATIONS)
    second = await world.staff(Role.OPERATIONS)
    dealer = await world.add_party(
        PartyKind.SUPER_AGENT,
        "Reference Test Dealer",
        msisdn=world.msisdn(),
        number=world.number(),
        purposes=(Purpose.FLOAT,),
    )
    assert first.msisdn and second.msisdn and dealer.number
    trust_before = await trust_out(world)

    async def issue(staff_msisdn: str, reference: str) -> Response:
        return await world.ask(
            "issue_emoney",
            staff_msisdn,
            STAFF_PIN,
            kind="super_agent",
            to=dealer.number or "",
            amount="1000",
            reference=reference,
        )

    done = await issue(first.msisdn, "FT-DUP-1")
    assert done.code is Code.OK, done
    again = await issue(second.msisdn, " FT-DUP-1 ")
    refused(again, Code.NOT_ALLOWED, "FT-DUP-1 was already used")
    assert done.receipt is not None and done.receipt in again.message
    assert await trust_out(world) - trust_before == 1_000 * KSH
    # Another reference issues; a redemption keeps references of its own.
    assert (await issue(second.msisdn, "FT-DUP-2")).code is Code.OK
    redeemed = await world.ask(
        "redeem_emoney",
        first.msisdn,
        STAFF_PIN,
        kind="super_agent",
        to=dealer.number,
        amount="10",
        reference="FT-DUP-1",
    )
    assert redeemed.code is Code.OK, redeemed
