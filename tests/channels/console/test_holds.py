"""Held payments in the console: compliance releases or refuses them from their alert.

Method: a running platform (each store) on the Kenya profile with R1 lowered to 3
payments an hour, so a customer's 4th payment in an hour is held by the real rule in
TranProc, its money reserved and an alert raised. Members of staff of each role, signed
in with their own sessions, use the staff API and the pages: compliance releases one
hold (the payee is paid, once) and refuses another (the payer has the money back); the
auditor sees the hold but cannot decide it; first-line care sees nothing; nobody decides
a payment from or to their own wallet; and the audit
trail holds every attempt, done or refused.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.ledger import WriterError
from mkoba.parties import Party
from mkoba.risk.alert_schema import Alert
from mkoba.risk.alerts import Alerts
from mkoba.staff import audit
from tests.channels.console.staff import sign_in
from tests.conftest import MakePlatform
from tests.risk.test_inline_rules import risky_profile
from tests.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio
_holds = itertools.count(1)


@pytest.fixture(scope="module")
async def platform(
    make_platform: MakePlatform, tmp_path_factory: pytest.TempPathFactory
) -> Platform:
    profile = risky_profile(tmp_path_factory.mktemp("profile"))
    made = await make_platform("console-holds", profile=str(profile))
    assert made.console is not None and made.console.alerts is made.alerts is not None
    return made


def queue(platform: Platform) -> Alerts:
    assert platform.alerts is not None
    return platform.alerts


async def send(world: World, payer: Party, payee: Party, ksh: int, **kwargs: Any) -> Any:
    assert payer.msisdn and payee.msisdn
    return await world.ask(
        "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount=str(ksh), **kwargs
    )


async def hold(world: World, ksh: int = 200) -> tuple[Party, Party, str, Alert, list[int]]:
    """A payer whose 4th payment in the hour (``ksh`` to a fresh payee) is held: the
    payer, the payee, the request id, its alert, and both wallets before it."""
    payer, payee = await world.customer(5_000), await world.customer()
    for _ in range(3):
        assert (await send(world, payer, payee, 100)).code is Code.OK
    request_id = f"console-hold-{next(_holds)}"
    before = await world.balances(wallet(payer), wallet(payee))
    held = await send(world, payer, payee, ksh, request_id=request_id)
    assert held.code is Code.HELD_FOR_REVIEW, held
    (alert,) = [
        a
        for a in await queue(world.platform).list(rule="R1", limit=500)
        if a.details.get("request_id") == request_id
    ]
    assert alert.details["action"] == "hold" and alert.party_id == payer.id
    return payer, payee, request_id, alert, before


def trail(platform: Platform, alert_id: int) -> list[tuple[str, str, str]]:
    """The audit trail's entries on one alert: who, what, and the outcome."""
    wanted = audit.Filter(entity=f"alert:{alert_id}")
    entries = audit.entries(platform.services.store, wanted, 100)
    return [(e.actor, e.action, e.outcome) for e in reversed(entries)]


async def test_compliance_releases_a_held_payment_and_the_payee_is_paid_once(
    platform: Platform, world: World
) -> None:
    payer, payee, request_id, alert, before = await hold(world)
    officer = await sign_in(platform, "compliance")
    seen = await officer.get(f"/alerts/{alert.id}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["held"] is True and seen.json()["details"]["amount"] == 200 * KSH
    page = await officer.client.get(f"/staff/alerts/{alert.id}")
    assert "The payment is held for review" in page.text and "Release the payment" in page.text

    released = await officer.post(f"/alerts/{alert.id}/release", {"text": "Rent, as every month"})
    assert released.status_code == 200, released.text
    assert (released.json()["state"], released.json()["held"]) == ("dismissed", False)
    history = [(n["staff"], n["action"], n["text"]) for n in released.json()["notes"]]
    assert history == [
        (officer.username, "note", "released the held payment"),
        (officer.username, "dismiss", "Rent, as every month"),
    ]
    paid = await world.balances(wallet(payer), wallet(payee))
    assert paid[1] == before[1] + 200 * KSH and paid[0] <= before[0] - 200 * KSH
    assert request_id not in platform.processor.deliveries.held()
    replay = await send(world, payer, payee, 200, request_id=request_id)
    assert replay.code is Code.OK

    again = await officer.post(f"/alerts/{alert.id}/release", {"text": "twice"})
    assert again.status_code == 409 and "dismissed" in again.json()["error"]
    assert await world.balances(wallet(payer), wallet(payee)) == paid  # once
    shown = (await officer.get(f"/alerts/{alert.id}")).json()
    assert shown["held"] is False
    page = await officer.client.get(f"/staff/alerts/{alert.id}")
    assert "not held any more" in page.text and "Release the payment" not in page.text
    assert [(a, o) for _, a, o in trail(platform, alert.id)] == [
        ("alerts.view", "ok"),  # the API, then the page
        ("alerts.view", "ok"),
        ("alerts.release", "ok"),
        ("alerts.release", "refused"),
        ("alerts.view", "ok"),
        ("alerts.view", "ok"),
    ]
    world.check_books()


async def test_compliance_refuses_a_held_payment_and_the_payer_has_the_money_back(
    platform: Platform, world: World
) -> None:
    payer, payee, request_id, alert, before = await hold(world, 300)
    officer = await sign_in(platform, "compliance")
    assert (await world.balances(wallet(payer)))[0] < before[0]  # reserved
    refused = await officer.post(f"/alerts/{alert.id}/refuse", {"text": "Payer reports a scam"})
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert (body["state"], body["held"]) == ("escalated", False) and body["str_due"] > 0
    history = [(n["action"], n["text"]) for n in body["notes"]]
    assert history == [
        ("note", "refused the held payment: Payer reports a scam"),
        ("escalate", "Payer reports a scam"),
    ]
    assert await world.balances(wallet(payer), wallet(payee)) == before  # the money is back
    replay = await send(world, payer, payee, 300, request_id=request_id)
    assert replay.code is Code.ROLLED_BACK
    # The alert is still live (escalated): deciding again finds the money gone back.
    late = await officer.post(f"/alerts/{alert.id}/release", {"text": "changed my mind"})
    assert late.status_code == 409, late.text
    assert "not held any more" in late.json()["error"] and "went back" in late.json()["error"]
    assert await world.balances(wallet(payer), wallet(payee)) == before
    assert [(a, o) for _, a, o in trail(platform, alert.id)] == [
        ("alerts.refuse", "ok"),
        ("alerts.release", "refused"),
    ]
    world.check_books()


async def test_a_hold_that_went_back_meanwhile_is_a_conflict_saying_so(
    platform: Platform, world: World
) -> None:
    payer, payee, request_id, alert, before = await hold(world)
    # Its hold ran out (the processor gives the money back as at the deadline).
    assert await platform.processor.release(request_id, approve=False) is True
    officer = await sign_in(platform, "compliance")
    assert (await officer.get(f"/alerts/{alert.id}")).json()["held"] is False
    page = await officer.client.get(f"/staff/alerts/{alert.id}")
    assert "Release the payment" not in page.text and "Take it" in page.text
    late = await officer.post(f"/alerts/{alert.id}/release", {"text": "fine"})
    assert late.status_code == 409 and "went back to the payer" in late.json()["error"]
    assert await world.balances(wallet(payer), wallet(payee)) == before
    alert_now = await queue(platform).get(alert.id)
    assert alert_now is not None and alert_now.state == "open"  # the alert is unchanged


async def test_only_compliance_decides_and_never_on_its_own_wallet(
    platform: Platform, world: World
) -> None:
    payer, payee, request_id, alert, before = await hold(world)
    reserved = await world.balances(wallet(payer), wallet(payee))
    care = await sign_in(platform, "care_l1")
    auditor = await sign_in(platform, "auditor")
    assert payer.msisdn
    own = await sign_in(platform, "compliance", phone=payer.msisdn)
    assert payee.msisdn
    paid_to_me = await sign_in(platform, "compliance", phone=payee.msisdn)
    officer = await sign_in(platform, "compliance")

    by_care = await care.post(f"/alerts/{alert.id}/release", {"text": "customer called"})
    assert by_care.status_code == 403
    seen = await auditor.get(f"/alerts/{alert.id}")
    assert seen.status_code == 200 and seen.json()["held"] is True
    page = await auditor.client.get(f"/staff/alerts/{alert.id}")
    assert "The payment is held for review" in page.text
    assert "Release the payment" not in page.text and "<form hx-post" not in page.text
    by_auditor = await auditor.post(f"/alerts/{alert.id}/refuse", {"text": "looks odd"})
    assert by_auditor.status_code == 403 and "not release or refuse" in by_auditor.json()["error"]
    about_me = await own.post(f"/alerts/{alert.id}/release", {"text": "it is mine"})
    assert about_me.status_code == 403 and "your own wallet" in about_me.json()["error"]
    to_me = await paid_to_me.post(f"/alerts/{alert.id}/release", {"text": "pay me"})
    assert to_me.status_code == 403 and "to your own wallet" in to_me.json()["error"]
    blank = await officer.post(f"/alerts/{alert.id}/release", {"text": "  "})
    assert blank.status_code == 422 and "say why" in blank.json()["error"]
    assert (await officer.post(f"/alerts/{alert.id + 999}/release", {"text": "x"})).status_code == (
        404
    )
    other = await queue(platform).raise_alert(
        "R3", payer.id, payer.msisdn, "high", "structuring", {"receipts": ["UKN9"]}
    )
    not_hold = await officer.post(f"/alerts/{other}/refuse", {"text": "x"})
    assert not_hold.status_code == 409 and "not about a held payment" in not_hold.json()["error"]
    # Nothing of that moved money or changed the alert.
    assert await world.balances(wallet(payer), wallet(payee)) == reserved
    assert request_id in platform.processor.deliveries.held()
    assert await world.balances(wallet(payer), wallet(payee)) == reserved
    found = await queue(platform).get(alert.id)
    assert found is not None and found.state == "open"
    assert trail(platform, alert.id) == [
        (care.username, "alerts.release", "refused"),
        (auditor.username, "alerts.view", "ok"),
        (auditor.username, "alerts.view", "ok"),
        (auditor.username, "alerts.refuse", "refused"),
        (own.username, "alerts.release", "refused"),
        (paid_to_me.username, "alerts.release", "refused"),
        (officer.username, "alerts.release", "refused"),
    ]
    # Compliance releases it from the page's form; a forged form is refused first.
    forged = await officer.client.post(
        f"/staff/ui/alerts/{alert.id}/release", data={"text": "x"}, headers={"HX-Request": "true"}
    )
    assert forged.status_code == 403
    headers = {"X-CSRF-Token": officer.csrf, "HX-Request": "true"}
    done = await officer.client.post(
        f"/staff/ui/alerts/{alert.id}/release",
        data={"text": "Checked with the payer"},
        headers=headers,
    )
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/staff/alerts/{alert.id}"
    paid = await world.balances(wallet(payee))
    assert paid == [before[1] + 200 * KSH]
    twice = await officer.client.post(
        f"/staff/ui/alerts/{alert.id}/release", data={"text": "again"}, headers=headers
    )
    assert twice.status_code == 409
    assert await world.balances(wallet(payee)) == paid


async def test_a_store_failure_while_deciding_is_audited_and_leaves_the_payment_held(
    platform: Platform, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    payer, payee, request_id, alert, _ = await hold(world)
    reserved = await world.balances(wallet(payer), wallet(payee))
    console = platform.console
    assert console is not None

    async def failing(request_id: str, approve: bool) -> bool | None:
        raise WriterError("the store is down")

    books = dataclasses.replace(console.reads.books, release=failing)
    monkeypatch.setattr(console, "reads", dataclasses.replace(console.reads, books=books))
    officer = await sign_in(platform, "compliance")
    answer = await officer.post(f"/alerts/{alert.id}/release", {"text": "fine"})
    assert answer.status_code == 500 and "the store is down" not in answer.text
    assert trail(platform, alert.id)[-1] == (officer.username, "alerts.release", "failed")
    assert request_id in platform.processor.deliveries.held()
    assert await world.balances(wallet(payer), wallet(payee)) == reserved
    found = await queue(platform).get(alert.id)
    assert found is not None and found.state == "open"
