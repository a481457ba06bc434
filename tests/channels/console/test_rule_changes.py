"""Risk rule changes under maker-checker: proposed by one member of staff, approved by another.

Method: a running platform (each store) on the Kenya profile, whose R1 holds a payer's
11th payment in an hour. Members of staff of each role, signed in with sessions of
their own, use the staff API as the console's forms do. What the rules decide is read
where a customer meets it: the answer to a real payment through TranProc. A change
lowers a threshold, and the payment just under the old one is held only once another
member of staff approved it, and only from the moment it takes force; it stays in
force across a restart. A widened window of a stream rule (R5) catches, once approved,
the pattern it let pass before. Every step is in the audit trail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mkoba.app import Platform
from mkoba.cli import app
from mkoba.codes import Code
from mkoba.parties import Party
from mkoba.risk.engine import RiskEngine
from mkoba.staff import audit
from tests.channels.console.staff import Member, sign_in
from tests.conftest import MakePlatform
from tests.processor.world import running, settings_for
from tests.world import CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-rule-changes")


async def send(world: World, payer: Party, payee: Party, ksh: int = 100) -> Any:
    assert payer.msisdn and payee.msisdn
    return await world.ask(
        "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount=str(ksh)
    )


async def paid(world: World, payer: Party, payee: Party, times: int) -> None:
    for _ in range(times):
        answer = await send(world, payer, payee)
        assert answer.code is Code.OK, answer


def value(platform: Platform, rule: str, parameter: str) -> object:
    """The value TranProc's rules read now."""
    risk = platform.services.profile(platform.clock()).risk
    assert risk is not None
    return getattr(getattr(risk, rule), parameter)


async def in_force(platform: Platform, rule: str, parameter: str, wanted: object) -> None:
    """Wait until TranProc reads ``wanted`` (it reads approved changes within a second)."""
    deadline = time.monotonic() + 10
    while value(platform, rule, parameter) != wanted:
        assert time.monotonic() < deadline, f"{rule} {parameter} never became {wanted}"
        await asyncio.sleep(0.05)


async def propose(member: Member, **fields: str) -> Any:
    return await member.make("change_risk_rule", **{"reason": "card-testing wave", **fields})


def trail(platform: Platform, entity: str) -> list[tuple[str, str, str]]:
    rows = platform.services.store.query(
        "SELECT actor, action, outcome FROM staff_audit WHERE entity = ? ORDER BY seq", (entity,)
    )
    return [(str(actor), str(action), str(outcome)) for actor, action, outcome in rows]


async def test_a_lowered_r1_threshold_holds_a_payment_once_another_member_approves_it(
    platform: Platform, world: World
) -> None:
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "compliance")
    payer, payee = await world.customer(5_000), await world.customer()
    assert value(platform, "R1", "per_hour") == 10
    await paid(world, payer, payee, 4)
    made = await propose(maker, rule="r1", parameter="per_hour", value="3")
    assert made.status_code == 201, made.text
    command = made.json()
    assert command["state"] == "pending"
    lines = {line["label"]: (line["before"], line["after"]) for line in command["view"]}
    assert lines["per_hour"][1] == "3" and lines["per_hour"][0].startswith("10 (kenya@")
    # Waiting for a checker, the change decides nothing: the 5th payment goes through.
    await paid(world, payer, payee, 1)
    own = await maker.approve(command["id"])
    assert own.status_code == 403 and "another member of staff" in own.json()["error"]
    await asyncio.sleep(1.5)  # longer than TranProc takes to read an approved change
    assert value(platform, "R1", "per_hour") == 10
    await paid(world, payer, payee, 1)
    approved = await checker.approve(command["id"])
    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert done["state"] == "done" and done["outcome"]["code"] == "ok", done
    await in_force(platform, "R1", "per_hour", 3)
    # The 7th payment in the hour, under the old threshold of 10, is held now.
    held = await send(world, payer, payee)
    assert held.code is Code.HELD_FOR_REVIEW, held
    # The rules as staff read them: the value, marked with the change that set it.
    rules = (await checker.get("/rules")).json()
    (r1,) = [rule for rule in rules["rules"] if rule["rule"] == "R1"]
    (per_hour,) = [p for p in r1["parameters"] if p["name"] == "per_hour"]
    assert per_hour["value"] == "3" and per_hour["change"] > 0
    (change,) = [c for c in rules["changes"] if c["id"] == per_hour["change"]]
    assert change["maker"] == maker.username and change["checker"] == checker.username
    assert change["reason"] == "card-testing wave" and change["in_force"]
    assert change["command"] == command["id"]
    assert trail(platform, "risk_rule:R1:per_hour") == [
        (maker.username, "command.make", "pending"),
        (checker.username, "command.approve", "approved"),
        (maker.username, "command.run", "done"),
    ]
    checked, broken = audit.verify(
        platform.services.store, audit.audit_key(platform.settings.keys_dir)
    )
    assert broken is None and checked > 0


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"rule": "R1", "parameter": "per_hour", "value": "0"}, "greater than or equal to 1"),
        ({"rule": "R1", "parameter": "per_hour", "value": "ten"}, "valid integer"),
        ({"rule": "R1", "parameter": "per_hour", "value": "2.5"}, "valid integer"),
        ({"rule": "R13", "parameter": "per_hour", "value": "3"}, "rule: one of R1"),
        ({"rule": "R1", "parameter": "per_week", "value": "3"}, "parameter: R1 has enabled"),
        ({"rule": "R1", "parameter": "action", "value": "freeze"}, "'hold'"),
        ({"rule": "R3", "parameter": "action", "value": "hold"}, "'alert'"),
        ({"rule": "R2", "parameter": "limit_share", "value": "170%"}, "between 0% and 100%"),
        ({"rule": "R6", "parameter": "new_payee_over", "value": "-5"}, "never negative"),
        ({"rule": "R9", "parameter": "enabled", "value": "maybe"}, "valid boolean"),
        (
            {"rule": "R1", "parameter": "per_day", "value": "20", "effective": "soon"},
            "effective: a date",
        ),
    ],
)
async def test_a_value_the_profile_would_refuse_is_refused_when_proposed(
    platform: Platform, fields: dict[str, str], says: str
) -> None:
    maker = await sign_in(platform, "operations")
    entity = f"risk_rule:{fields['rule'].upper()}:{fields['parameter']}"
    before = trail(platform, entity)
    refused = await propose(maker, **fields)
    assert refused.status_code == 422, refused.text
    assert says in refused.json()["error"]
    assert trail(platform, entity) == before  # nothing recorded, nothing waits


async def test_a_change_needs_a_reason_and_a_new_value_and_a_moment_not_past(
    platform: Platform,
) -> None:
    maker = await sign_in(platform, "operations")
    no_reason = await maker.make(
        "change_risk_rule", rule="R5", parameter="window_minutes", value="20"
    )
    assert no_reason.status_code == 422 and "reason is required" in no_reason.json()["error"]
    same = await propose(maker, rule="R5", parameter="window_minutes", value="30")
    assert same.status_code == 409 and "is 30 already" in same.json()["error"]
    past = await propose(
        maker, rule="R5", parameter="window_minutes", value="20", effective="2020-01-01"
    )
    assert past.status_code == 409 and "from now on" in past.json()["error"]


async def test_only_the_roles_of_the_policy_propose_check_or_see_rule_changes(
    platform: Platform,
) -> None:
    for role in ("care_l1", "care_l2", "agent_network", "compliance", "finance", "auditor"):
        member = await sign_in(platform, role)
        refused = await propose(member, rule="R10", parameter="window_days", value="20")
        assert refused.status_code == 403, (role, refused.text)
    for role, status in (("care_l1", 403), ("finance", 403), ("sysadmin", 403), ("auditor", 200)):
        member = await sign_in(platform, role)
        assert (await member.get("/rules")).status_code == status, role
    maker = await sign_in(platform, "operations")
    made = (await propose(maker, rule="R10", parameter="window_days", value="20")).json()
    # Another maker is no checker, nor is finance (it checks tariffs, not rules).
    for role in ("operations", "finance"):
        other = await sign_in(platform, role)
        assert (await other.approve(made["id"])).status_code == 403, role
    # A checker's rejection changes nothing.
    checker = await sign_in(platform, "compliance")
    rejected = await checker.post(f"/commands/{made['id']}/reject", {"reason": "no evidence"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    await asyncio.sleep(1.5)
    assert value(platform, "R10", "window_days") == 30


async def test_the_rules_page_shows_the_rules_and_offers_the_form_to_who_proposes(
    platform: Platform,
) -> None:
    maker, auditor = await sign_in(platform, "operations"), await sign_in(platform, "auditor")
    page = await maker.client.get("/staff/rules")
    assert page.status_code == 200 and "R12" in page.text and "insider" in page.text
    assert "/staff/commands/new?product=change_risk_rule" in page.text
    form = await maker.client.get("/staff/commands/new", params={"product": "change_risk_rule"})
    assert form.status_code == 200
    assert all(f'name="{name}"' in form.text for name in ("rule", "parameter", "value", "reason"))
    seen = await auditor.client.get("/staff/rules")
    assert seen.status_code == 200 and "change_risk_rule" not in seen.text
    # The menu links the page for those with a part in the rules, and not for others.
    assert 'href="/staff/rules"' in (await maker.client.get("/staff/home")).text
    assert 'href="/staff/rules"' in (await auditor.client.get("/staff/home")).text
    care = await sign_in(platform, "care_l1")
    assert 'href="/staff/rules"' not in (await care.client.get("/staff/home")).text
    assert (await care.client.get("/staff/rules")).status_code == 403


async def test_a_change_takes_force_at_its_moment_not_at_its_approval(
    platform: Platform, world: World
) -> None:
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "compliance")
    payee = await world.customer()
    early, late = await world.customer(5_000), await world.customer(5_000)
    await paid(world, early, payee, 2)
    await paid(world, late, payee, 2)
    start = dt.datetime.fromtimestamp(platform.clock() // 1_000_000_000 + 8, dt.UTC)
    made = await propose(
        maker, rule="R1", parameter="per_day", value="2", effective=start.isoformat()
    )
    assert made.status_code == 201, made.text
    assert (await checker.approve(made.json()["id"])).json()["state"] == "done"
    # Approved, not yet in force: a 3rd payment in the day goes through.
    assert platform.clock() < start.timestamp() * 1e9
    await paid(world, early, payee, 1)
    rules = (await checker.get("/rules")).json()
    (change,) = [c for c in rules["changes"] if c["parameter"] == "per_day"]
    assert not change["in_force"]
    await in_force(platform, "R1", "per_day", 2)
    assert platform.clock() >= start.timestamp() * 1e9
    held = await send(world, late, payee)
    assert held.code is Code.HELD_FOR_REVIEW, held


async def test_an_approved_change_stays_in_force_after_a_restart(
    store_url: str, tmp_path: Path
) -> None:
    settings = settings_for(store_url, tmp_path)
    async with running(settings) as platform:
        maker = await sign_in(platform, "operations")
        checker = await sign_in(platform, "compliance")
        made = (await propose(maker, rule="R1", parameter="per_hour", value="2")).json()
        assert (await checker.approve(made["id"])).json()["state"] == "done"
        await in_force(platform, "R1", "per_hour", 2)
    async with running(settings) as platform:
        assert value(platform, "R1", "per_hour") == 2  # read at start, not waited for
        world = await World(platform).setup()
        payer, payee = await world.customer(5_000), await world.customer()
        await paid(world, payer, payee, 2)
        held = await send(world, payer, payee)
        assert held.code is Code.HELD_FOR_REVIEW, held
        auditor = await sign_in(platform, "auditor")
        rules = (await auditor.get("/rules")).json()
        (change,) = rules["changes"]
        assert (change["rule"], change["parameter"], change["value"]) == ("R1", "per_hour", "2")
    # The command line reads the same store: the value in force, marked, and the change.
    cli = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})
    listed = cli.invoke(app, ["rules", "list", "--db", store_url])
    assert listed.exit_code == 0, listed.output
    assert "per_hour=2*, per_day=30" in listed.output and "changed by staff" in listed.output
    shown = cli.invoke(app, ["rules", "show", "R1", "--db", store_url])
    assert shown.exit_code == 0, shown.output
    assert "changes approved by staff" in shown.output
    assert "per_hour" in shown.output and "card-testing wave" in shown.output


async def test_a_widened_stream_window_catches_what_the_old_one_let_pass(
    platform: Platform, world: World
) -> None:
    # Last in the module: the platform's clock is frozen and moved forward from here on.
    platform.clock.fixed = platform.clock()
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "compliance")
    shop = world.agent_store
    _, (other,) = await world.agent(1_000_000)

    async def cash_in_then_out_after(minutes: int) -> Party:
        carrier = await world.customer()
        assert carrier.msisdn and other.number
        assert (await world.deposit(carrier, 1_000 * KSH)).code is Code.OK
        assert platform.clock.fixed is not None
        platform.clock.fixed += minutes * 60 * 1_000_000_000
        agent, outlet = other.number.split("/")
        out = await world.ask(
            "withdraw", carrier.msisdn, CUSTOMER_PIN, agent=agent, store=outlet, amount="500"
        )
        assert out.code is Code.OK, out
        return carrier

    async def flagged() -> set[int]:
        risk = platform.services.risk
        assert isinstance(risk, RiskEngine) and platform.alerts is not None
        await risk.drain()
        found = await platform.alerts.list(rule="R5", limit=500)
        return {alert.details["customer_id"] for alert in found if alert.party_id == shop.id}

    # R5 (a cash-in, then a cash-out at another agent within 30 minutes): 45 passes.
    early = await cash_in_then_out_after(45)
    assert early.id not in await flagged()
    made = await propose(maker, rule="R5", parameter="window_minutes", value="90")
    assert (await checker.approve(made.json()["id"])).json()["state"] == "done"
    await in_force(platform, "R5", "window_minutes", 90)
    late = await cash_in_then_out_after(45)
    assert late.id in await flagged() and early.id not in await flagged()
