"""Maker-checker over the staff API: a command waits for another member of staff's approval.

Method: the console's own app in process on a running platform (both stores), staff
accounts as ``mkoba staff create`` makes them, each member signed in on a client of
their own. Money is checked in the ledger and the steps in the audit trail.
"""

from __future__ import annotations

import asyncio

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import local_msisdn
from mkoba.processor.request import Channel
from mkoba.staff import audit
from tests.channels.console.staff import sign_in
from tests.conftest import MakePlatform
from tests.products.world import api_client
from tests.world import CUSTOMER_PIN, FEES, KSH, TRUST, World, wallet

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-commands")


_references = iter(range(1, 100_000))


def reference() -> str:
    return f"FT2612{next(_references):06d}"


async def balance(platform: Platform, account: int) -> int:
    (found,) = await asyncio.wrap_future(platform.writer.balances([account]))
    assert found is not None
    return found.credits_posted - found.debits_posted


async def test_a_maker_issues_e_money_and_only_another_approves_it_after_a_fresh_code(
    platform: Platform, world: World
) -> None:
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    fees_before = await balance(platform, FEES)
    trust_before = await balance(platform, TRUST)
    ref = reference()
    made = await maker.make(
        "issue_emoney", "capital", kind="operator", amount="25000", reference=ref
    )
    assert made.status_code == 201, made.text
    command = made.json()
    assert command["state"] == "pending" and command["may"] == ["cancel"]
    assert command["amount"] == 25_000 * KSH
    assert await balance(platform, FEES) == fees_before  # nothing moved yet
    # The checker sees what changes: the fee account and the trust mirror, before and after.
    seen = (await checker.get(f"/commands/{command['id']}")).json()
    assert seen["may"] == ["approve", "reject"]
    lines = {line["label"]: (line["before"], line["after"]) for line in seen["view"]}
    before, after = lines["Fees account"]
    assert before != after and after.replace(",", "").endswith(
        f"{(fees_before + 25_000 * KSH) // KSH}.00"
    )
    # The maker may not approve their own command, even with a good code.
    own = await maker.approve(command["id"])
    assert own.status_code == 403 and "another member of staff" in own.json()["error"]
    wrong = await checker.approve(command["id"], "000000" if checker.code() != "000000" else "1")
    assert wrong.status_code in (401, 422)
    approved = await checker.approve(command["id"])
    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert done["state"] == "done" and done["checker"] == checker.username
    assert done["outcome"]["code"] == "ok" and done["outcome"]["receipt"]
    assert await balance(platform, FEES) == fees_before + 25_000 * KSH
    assert await balance(platform, TRUST) == trust_before - 25_000 * KSH
    # Every step is in the chained audit trail, and the chain holds.
    assert platform.console is not None
    entries = [
        (row[0], row[1])
        for row in platform.services.store.query(
            "SELECT action, outcome FROM staff_audit WHERE entity = ? ORDER BY seq",
            (f"emoney:{ref}",),
        )
    ]
    assert entries == [
        ("command.make", "pending"),
        ("command.approve", "wrong_code"),
        ("command.approve", "approved"),
        ("command.run", "done"),
    ]
    checked, broken = audit.verify(
        platform.services.store, audit.audit_key(platform.settings.keys_dir)
    )
    assert broken is None and checked > 0


async def test_a_bank_reference_issues_e_money_once(platform: Platform, world: World) -> None:
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    ref = reference()
    first = (await maker.make("issue_emoney", kind="operator", amount="10", reference=ref)).json()
    # One open command per reference: a second maker cannot race the first.
    twice = await maker.make("issue_emoney", kind="operator", amount="10", reference=ref)
    assert twice.status_code == 409 and str(first["id"]) in twice.json()["error"]
    assert (await checker.approve(first["id"])).json()["state"] == "done"
    fees = await balance(platform, FEES)
    again = (await maker.make("issue_emoney", kind="operator", amount="10", reference=ref)).json()
    failed = (await checker.approve(again["id"])).json()
    assert failed["state"] == "failed" and "already used" in failed["outcome"]["message"]
    assert await balance(platform, FEES) == fees


async def test_roles_without_the_permission_are_refused_and_writes_need_the_csrf_token(
    platform: Platform, world: World
) -> None:
    for role in ("care_l1", "sysadmin", "auditor", "finance"):
        member = await sign_in(platform, role)
        refused = await member.make("issue_emoney", kind="operator", amount="1", reference="X1")
        assert refused.status_code == 403, (role, refused.text)
    maker = await sign_in(platform, "operations")
    no_token = await maker.post(
        "/commands",
        {
            "product": "issue_emoney",
            "fields": {"kind": "operator", "amount": "1", "reference": "X2"},
        },
        csrf=False,
    )
    assert no_token.status_code == 403
    # A checker role with no part in an action does not even see its commands.
    made = (
        await maker.make("issue_emoney", kind="operator", amount="1", reference=reference())
    ).json()
    care = await sign_in(platform, "care_l2")
    assert (await care.get(f"/commands/{made['id']}")).status_code == 404
    assert (await care.approve(made["id"])).status_code == 403


async def test_a_rejected_or_cancelled_command_moves_nothing(
    platform: Platform, world: World
) -> None:
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    fees = await balance(platform, FEES)
    one = (
        await maker.make("issue_emoney", kind="operator", amount="5", reference=reference())
    ).json()
    two = (
        await maker.make("issue_emoney", kind="operator", amount="5", reference=reference())
    ).json()
    assert (await checker.post(f"/commands/{one['id']}/reject", {"reason": ""})).status_code == 422
    rejected = await checker.post(f"/commands/{one['id']}/reject", {"reason": "no bank credit"})
    assert rejected.json()["state"] == "rejected"
    assert (await checker.post(f"/commands/{two['id']}/cancel")).status_code == 403
    assert (await maker.post(f"/commands/{two['id']}/cancel")).json()["state"] == "cancelled"
    assert (await checker.approve(one["id"])).status_code == 409
    assert (await checker.approve(two["id"])).status_code == 409
    assert await balance(platform, FEES) == fees


async def test_care_unlocks_a_locked_pin_with_a_checker_and_never_their_own_wallet(
    platform: Platform, world: World
) -> None:
    client = await world.customer(100)
    assert client.msisdn
    for _ in range(5):
        await world.ask("balance", client.msisdn, "0000")
    locked = await world.ask("balance", client.msisdn, CUSTOMER_PIN)
    assert locked.code is Code.PIN_LOCKED, locked
    # Care whose own wallet this is may start nothing on it that a checker then runs.
    own = await sign_in(platform, "care_l1", phone=client.msisdn)
    back_office = await sign_in(platform, "care_l2")
    theirs = (await own.make("unlock_pin", customer=client.msisdn)).json()
    blocked = (await back_office.approve(theirs["id"])).json()
    assert blocked["state"] == "failed" and "their own" in blocked["outcome"]["message"]
    care = await sign_in(platform, "care_l1")
    made = await care.make("unlock_pin", "called from a new phone", customer=client.msisdn)
    assert made.status_code == 201, made.text
    view = {line["label"]: line for line in made.json()["view"]}
    assert (view["PIN"]["before"], view["PIN"]["after"]) == ("Locked", "Open, 0 wrong tries")
    done = (await back_office.approve(made.json()["id"])).json()
    assert done["state"] == "done", done
    assert (await world.ask("balance", client.msisdn, CUSTOMER_PIN)).code is Code.OK
    # Unlocking an open PIN is refused before anyone has to approve it.
    again = await care.make("unlock_pin", customer=client.msisdn)
    assert again.status_code == 409 and "not locked" in again.json()["error"]


async def test_care_decides_a_held_reversal_from_the_queue(
    platform: Platform, world: World
) -> None:
    payer = await world.customer(1_000)
    payee = await world.customer(0)
    assert payer.msisdn and payee.msisdn
    sent = await world.ask("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="300")
    assert sent.code is Code.OK and sent.receipt
    asked = await world.ask("request_reversal", payer.msisdn, CUSTOMER_PIN, receipt=sent.receipt)
    assert asked.code is Code.OK, asked
    care = await sign_in(platform, "care_l1")
    queue = (await care.get("/reversals")).json()
    (held,) = [item for item in queue if item["receipt"] == sent.receipt]
    assert held["amount"] == 300 * KSH and held["command"] is None
    made = (await care.make("approve_reversal", receipt=sent.receipt)).json()
    assert made["state"] == "pending"
    queue = (await care.get("/reversals")).json()
    assert [i["command"] for i in queue if i["receipt"] == sent.receipt] == [made["id"]]
    payer_before = await world.available(wallet(payer))
    checker = await sign_in(platform, "care_l2")
    done = (await checker.approve(made["id"])).json()
    assert done["state"] == "done" and done["outcome"]["receipt"], done
    assert await world.available(wallet(payer)) == payer_before + 300 * KSH
    assert sent.receipt not in [i["receipt"] for i in (await care.get("/reversals")).json()]


async def test_staff_actions_are_not_on_the_public_api_any_more(platform: Platform) -> None:
    async with api_client(platform) as client:
        for path in (
            "/api/v1/emoney/issue",
            "/api/v1/emoney/redeem",
            "/api/v1/pin/unlock",
            "/api/v1/pin/reset",
            "/api/v1/reversals/approve",
            "/api/v1/reversals/reject",
        ):
            answer = await client.post(path, json={"msisdn": "254711900004", "pin": "9753"})
            assert answer.status_code in (404, 405), (path, answer.status_code)


async def test_a_frozen_wallet_moves_no_money_until_reopened_and_a_tier_change_moves_limits(
    platform: Platform, world: World
) -> None:
    client = await world.customer(5_000)
    friend = await world.customer(0)
    assert client.msisdn and friend.msisdn
    l2 = await sign_in(platform, "care_l2")
    # The back office freezes at once (its role may do it), and the customer is told.
    frozen = await l2.make("freeze_wallet", customer=client.msisdn, reason="reported stolen")
    assert frozen.status_code == 201 and frozen.json()["state"] == "done", frozen.text
    assert world.party(client.msisdn).state.value == "frozen"
    sent = await world.ask("send_money", client.msisdn, CUSTOMER_PIN, to=friend.msisdn, amount="50")
    assert sent.code is not Code.OK
    assert any("frozen" in text for text in await world.sms_to(client.msisdn))
    twice = await l2.make("freeze_wallet", customer=client.msisdn)
    assert twice.status_code == 409 and "frozen" in twice.json()["error"]
    reopened = await l2.make("unfreeze_wallet", customer=client.msisdn)
    assert reopened.json()["state"] == "done"
    sent = await world.ask("send_money", client.msisdn, CUSTOMER_PIN, to=friend.msisdn, amount="50")
    assert sent.code is Code.OK, sent
    # A tier change waits for compliance, then the lower tier's limit applies.
    lower = world.services.profile(platform.clock()).tiers[0]
    moved = (await l2.make("set_kyc_tier", customer=client.msisdn, tier=lower)).json()
    assert moved["state"] == "pending"
    assert {line["label"]: line["after"] for line in moved["view"]}["KYC tier"] == lower
    compliance = await sign_in(platform, "compliance")
    assert (await compliance.approve(moved["id"])).json()["state"] == "done"
    assert world.party(client.msisdn).kyc_tier == lower
    bad = await l2.make("set_kyc_tier", customer=client.msisdn, tier="platinum")
    assert bad.status_code == 409 and "tier: one of" in bad.json()["error"]


async def test_care_works_the_queue_a_customer_ticket_is_due_first_and_resolved(
    platform: Platform, world: World
) -> None:
    client = await world.customer(0)
    assert client.msisdn
    opened = await world.ask("open_ticket", client.msisdn, channel=Channel.USSD, category="fraud")
    number = opened.data["ticket"]
    compliance = await sign_in(platform, "compliance")
    queue = (await compliance.get("/tickets", queue="compliance")).json()
    (mine,) = [t for t in queue if t["id"] == number]
    assert mine["state"] == "open" and 0 < mine["left_s"] <= 2 * 3600
    assert mine["phone"] == local_msisdn(client.msisdn)  # compliance sees personal data
    care = await sign_in(platform, "care_l1")
    masked = (await care.get(f"/tickets/{number}")).json()
    assert "*" in masked["phone"]
    resolved = await compliance.make(
        "resolve_ticket", ticket=str(number), text="We blocked the caller."
    )
    assert resolved.json()["state"] == "done", resolved.text
    after = (await compliance.get(f"/tickets/{number}")).json()
    assert after["state"] == "resolved" and after["notes"][-1]["text"] == "We blocked the caller."
    whole = (await compliance.get(f"/customers/{client.id}")).json()
    assert [t["id"] for t in whole["tickets"]] == [number]
    admin = await sign_in(platform, "sysadmin")
    assert (await admin.get("/tickets")).status_code == 403
