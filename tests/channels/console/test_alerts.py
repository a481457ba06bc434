"""The compliance alert queue in the console: compliance triages, others are held to the policy.

Method: a running platform (each store) whose console keeps the risk package's alert
queue; alerts are raised on it as a rule would, about real customers. Members of staff
of each role, signed in with their own sessions, use the staff API and the pages:
compliance works an alert from open to a filed STR, the auditor reads but cannot act,
first-line care sees nothing, and the audit trail holds every look and every action,
done or refused.
"""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from mkoba.risk.alerts import STR_DUE_NS, Alerts
from mkoba.staff import audit
from tests.channels.console.staff import Member, sign_in
from tests.conftest import MakePlatform
from tests.world import World

pytestmark = pytest.mark.anyio
DAY_NS = 24 * 3600 * 1_000_000_000


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    made = await make_platform("console-alerts")
    console = made.console
    assert console is not None
    assert console.alerts is made.alerts is not None  # the platform's one queue
    return made


def queue(platform: Platform) -> Alerts:
    assert platform.console is not None and platform.console.alerts is not None
    return platform.console.alerts


async def raise_r3(platform: Platform, world: World, **overrides: object) -> tuple[int, str]:
    """A structuring alert with its STR clock about a fresh customer: its id and phone."""
    party = await world.customer(0)
    assert party.msisdn
    given: dict[str, object] = {
        "rule": "R3",
        "party_id": party.id,
        "msisdn": party.msisdn,
        "severity": "high",
        "summary": "3 cash-ins under the CTR threshold in 24 h, together 92% of it",
        "details": {"receipts": ["UKN1", "UKN2", "UKN3"], "total": 1_790_000_00},
        "str_clock": True,
    }
    alert_id = await queue(platform).raise_alert(**{**given, **overrides})  # type: ignore[arg-type]
    return alert_id, party.msisdn


def trail(platform: Platform, alert_id: int) -> list[tuple[str, str, str]]:
    """The audit trail's entries on one alert: who, what, and the outcome."""
    wanted = audit.Filter(entity=f"alert:{alert_id}")
    entries = audit.entries(platform.services.store, wanted, 100)
    return [(e.actor, e.action, e.outcome) for e in reversed(entries)]


async def test_compliance_works_an_alert_to_a_filed_str(platform: Platform, world: World) -> None:
    alert_id, msisdn = await raise_r3(platform, world)
    officer = await sign_in(platform, "compliance")
    mlro = await sign_in(platform, "compliance")
    listed = await officer.get("/alerts")
    assert listed.status_code == 200, listed.text
    row = next(a for a in listed.json() if a["id"] == alert_id)
    assert (row["rule"], row["state"], row["assignee"], row["overdue"]) == ("R3", "open", "", False)
    assert 2 * 86_400 - 60 < row["str_left_s"] <= 2 * 86_400
    assert row["phone"] == "0" + msisdn[3:]  # compliance sees personal data

    assert (await officer.post(f"/alerts/{alert_id}/assign", {})).json()["assignee"] == (
        officer.username
    )
    noted = await officer.post(f"/alerts/{alert_id}/note", {"text": "Agent says: one deposit"})
    assert noted.status_code == 200 and noted.json()["state"] == "assigned"
    escalated = await officer.post(f"/alerts/{alert_id}/escalate", {"text": "Structuring"})
    assert escalated.json()["state"] == "escalated"
    handed = await officer.post(f"/alerts/{alert_id}/assign", {"to": mlro.username})
    assert (handed.json()["state"], handed.json()["assignee"]) == ("escalated", mlro.username)
    mine = await mlro.get("/alerts", mine="true")
    assert [a["id"] for a in mine.json()] == [alert_id]
    reported = await mlro.post(f"/alerts/{alert_id}/report", {"text": "goAML 2026/7"})
    assert reported.status_code == 200, reported.text
    assert reported.json()["state"] == "reported" and reported.json()["str_left_s"] is None
    history = [(n["staff"], n["action"], n["text"]) for n in reported.json()["notes"]]
    assert history == [
        (officer.username, "assign", f"to {officer.username}"),
        (officer.username, "note", "Agent says: one deposit"),
        (officer.username, "escalate", "Structuring"),
        (officer.username, "assign", f"to {mlro.username}"),
        (mlro.username, "report", "goAML 2026/7"),
    ]
    again = await mlro.post(f"/alerts/{alert_id}/note", {"text": "late"})
    assert again.status_code == 409 and "reported" in again.json()["error"]
    assert alert_id not in [a["id"] for a in (await officer.get("/alerts")).json()]
    assert alert_id in [a["id"] for a in (await officer.get("/alerts", state="all")).json()]
    assert trail(platform, alert_id) == [
        (officer.username, "alerts.assign", "ok"),
        (officer.username, "alerts.note", "ok"),
        (officer.username, "alerts.escalate", "ok"),
        (officer.username, "alerts.assign", "ok"),
        (mlro.username, "alerts.report", "ok"),
        (mlro.username, "alerts.note", "refused"),
    ]


async def test_refusals_answer_why_and_are_audited(platform: Platform, world: World) -> None:
    alert_id, _ = await raise_r3(platform, world)
    officer = await sign_in(platform, "compliance")
    care = await sign_in(platform, "care_l2")
    no_token = await officer.post(f"/alerts/{alert_id}/note", {"text": "x"}, csrf=False)
    assert no_token.status_code == 403
    assert (await officer.post(f"/alerts/{alert_id}/dismiss", {"text": " "})).status_code == 422
    to_care = await officer.post(f"/alerts/{alert_id}/assign", {"to": care.username})
    assert to_care.status_code == 422 and "does not work compliance alerts" in to_care.text
    nobody = await officer.post(f"/alerts/{alert_id}/assign", {"to": "nobody.here"})
    assert nobody.status_code == 422
    long = await officer.post(f"/alerts/{alert_id}/note", {"text": "x" * 1001})
    assert long.status_code == 422  # a body that does not validate reaches no alert
    assert (await officer.post(f"/alerts/{alert_id}/delete", {})).status_code == 404
    assert (await officer.post(f"/alerts/{alert_id + 999}/note", {"text": "x"})).status_code == 404
    dismissed = await officer.post(f"/alerts/{alert_id}/dismiss", {"text": "School fees"})
    assert dismissed.status_code == 200 and dismissed.json()["state"] == "dismissed"
    closed = await officer.post(f"/alerts/{alert_id}/escalate", {"text": "after all"})
    assert closed.status_code == 409 and "reopen it first" in closed.json()["error"]
    reopened = await officer.post(f"/alerts/{alert_id}/reopen", {"text": "Came back"})
    assert reopened.json()["state"] == "open"
    outcomes = [(action, outcome) for _, action, outcome in trail(platform, alert_id)]
    assert outcomes == [
        ("alerts.dismiss", "refused"),
        ("alerts.assign", "refused"),
        ("alerts.assign", "refused"),
        ("alerts.dismiss", "ok"),
        ("alerts.escalate", "refused"),
        ("alerts.reopen", "ok"),
    ]


async def test_the_auditor_reads_care_sees_nothing_and_nobody_works_their_own_wallet(
    platform: Platform, world: World
) -> None:
    alert_id, msisdn = await raise_r3(platform, world)
    auditor = await sign_in(platform, "auditor")
    care = await sign_in(platform, "care_l1")
    seen = await auditor.get(f"/alerts/{alert_id}")
    assert seen.status_code == 200 and seen.json()["state"] == "open"
    assert (await auditor.get("/alerts")).status_code == 200
    refused = await auditor.post(f"/alerts/{alert_id}/assign", {})
    assert refused.status_code == 403 and "not work them" in refused.json()["error"]
    assert (await care.get("/alerts")).status_code == 403
    assert (await care.get(f"/alerts/{alert_id}")).status_code == 403
    assert (await care.post(f"/alerts/{alert_id}/dismiss", {"text": "mine"})).status_code == 403
    own = await sign_in(platform, "compliance", phone=msisdn)
    about_me = await own.post(f"/alerts/{alert_id}/dismiss", {"text": "nothing to see"})
    assert about_me.status_code == 403 and "your own wallet" in about_me.json()["error"]
    alert = await queue(platform).get(alert_id)
    assert alert is not None and alert.state == "open"  # nothing changed it
    assert trail(platform, alert_id) == [
        (auditor.username, "alerts.view", "ok"),
        (auditor.username, "alerts.assign", "refused"),
        (care.username, "alerts.dismiss", "refused"),
        (own.username, "alerts.dismiss", "refused"),
    ]


async def test_the_pages_mark_an_overdue_str_and_work_an_alert(
    platform: Platform, world: World
) -> None:
    clock = platform.clock
    now = clock()
    clock.fixed = now - 3 * DAY_NS  # raised 3 days ago: its STR is a day overdue
    try:
        late, _ = await raise_r3(platform, world, summary="Late one", details={"n": "late"})
    finally:
        clock.fixed = None
    fresh, _ = await raise_r3(
        platform, world, summary="Fresh one <script>x</script>", details={"n": "<b>fresh"}
    )
    officer = await sign_in(platform, "compliance")
    overdue = await officer.get("/alerts", overdue="true")
    assert late in [a["id"] for a in overdue.json()]
    assert fresh not in [a["id"] for a in overdue.json()]
    page = await officer.client.get("/staff/alerts")
    assert page.status_code == 200 and 'href="/staff/alerts"' in page.text  # in the menu
    assert 'class="overdue"' in page.text and "overdue by 24 h" in page.text
    assert f'href="/staff/alerts/{fresh}"' in page.text and "due in 47 h" in page.text
    one = await officer.client.get(f"/staff/alerts/{late}")
    assert one.status_code == 200
    assert "Take it (assign to me)" in one.text and "Mark the STR reported" in one.text
    forged = await officer.client.post(
        f"/staff/ui/alerts/{late}/dismiss", data={"text": "forged"}, headers={"HX-Request": "true"}
    )
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.text
    headers = {"X-CSRF-Token": officer.csrf, "HX-Request": "true"}
    taken = await officer.client.post(
        f"/staff/ui/alerts/{late}/assign", data={"to": officer.username}, headers=headers
    )
    assert taken.status_code == 204 and taken.headers["HX-Redirect"] == f"/staff/alerts/{late}"
    filed = await officer.client.post(
        f"/staff/ui/alerts/{late}/report", data={"text": "goAML 2026/9"}, headers=headers
    )
    assert filed.status_code == 204
    shown = await officer.client.get(f"/staff/alerts/{late}")
    assert "goAML 2026/9" in shown.text and "Mark the STR reported" not in shown.text
    refused = await officer.client.post(
        f"/staff/ui/alerts/{late}/note", data={"text": "late"}, headers=headers
    )
    assert refused.status_code == 409 and "reported" in refused.text
    auditor = await sign_in(platform, "auditor")
    read_only = await auditor.client.get(f"/staff/alerts/{fresh}")
    assert read_only.status_code == 200 and "Fresh one &lt;script&gt;" in read_only.text
    assert "<script>x" not in read_only.text and "&lt;b&gt;fresh" in read_only.text
    assert "Take it" not in read_only.text and "<form hx-post" not in read_only.text
    care = await sign_in(platform, "care_l1")
    assert (await care.client.get("/staff/alerts")).status_code == 403
    assert 'href="/staff/alerts"' not in (await care.client.get("/staff/tickets")).text


async def test_a_str_clock_started_by_escalation(platform: Platform, world: World) -> None:
    alert_id, _ = await raise_r3(platform, world, rule="R1", str_clock=False, details={"n": 1})
    officer: Member = await sign_in(platform, "compliance")
    before = (await officer.get(f"/alerts/{alert_id}")).json()
    assert before["str_due"] == 0 and before["str_left_s"] is None
    at = platform.clock()
    escalated = (await officer.post(f"/alerts/{alert_id}/escalate", {"text": "Mule?"})).json()
    assert at + STR_DUE_NS <= escalated["str_due"] <= platform.clock() + STR_DUE_NS
