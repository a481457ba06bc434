"""Regulatory reports in the console: compliance downloads the CTR and STR drafts.

Method: a running platform (each store) on the Kenya profile with the CTR threshold
lowered to KES 1,000 (one cash transaction cannot reach the real one) and a goAML
entity id given to the console. Agents take cash in through TranProc, with the
platform's clock set inside chosen weeks; alerts are raised on the platform's queue as
a rule would. Members of staff of each role, signed in with their own sessions,
download as a browser would (the pages) and as a client would (the staff API): the
files are checked as compliance would (the XML against our own XSD, the CSV row by
row), refusals are read, and the audit trail is asked what it holds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from mkoba.app import Platform
from mkoba.channels.console.report_routes import iso_week
from mkoba.parties import Party
from mkoba.processor import history
from mkoba.risk.alerts import Alerts
from mkoba.risk.reports import problems
from mkoba.staff import audit
from tests.channels.console.staff import sign_in
from tests.conftest import MakePlatform
from tests.risk.reports.test_cli import low_threshold
from tests.risk.reports.test_ctr import deposit, local, week_two_back
from tests.world import KSH, World

pytestmark = pytest.mark.anyio
ENTITY = "4711"
DAY_NS = 24 * 3600 * 1_000_000_000


@pytest.fixture(scope="module")
async def platform(
    make_platform: MakePlatform, tmp_path_factory: pytest.TempPathFactory
) -> Platform:
    profile = low_threshold(tmp_path_factory.mktemp("profile"))
    made = await make_platform("console-reports", profile=str(profile), goaml_entity=ENTITY)
    assert made.console is not None and made.console.alerts is made.alerts is not None
    assert made.console.goaml_entity == ENTITY  # MKOBA_GOAML_ENTITY, through app.py
    return made


def queue(platform: Platform) -> Alerts:
    assert platform.alerts is not None
    return platform.alerts


@contextmanager
def clock_at(platform: Platform, ns: int) -> Iterator[None]:
    platform.clock.fixed = ns
    try:
        yield
    finally:
        platform.clock.fixed = None


def receipts_in_xml(body: bytes) -> dict[str, str]:
    report = ElementTree.fromstring(body)
    return {
        str(t.findtext("transactionnumber")): str(t.findtext("amount_local"))
        for t in report.iter("transaction")
    }


def receipts_in_csv(body: bytes) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(body.decode("utf-8")))
    return {row["receipt"]: row["amount"] for row in rows}


def trail(platform: Platform, action: str, actor: str) -> list[audit.Entry]:
    """The audit trail's entries of ``action`` by ``actor``, oldest first."""
    wanted = audit.Filter(actor=actor, action=action)
    return list(reversed(audit.entries(platform.services.store, wanted, 100)))


async def two_deposits(world: World, customer: Party) -> tuple[str, str]:
    """A cash-in over the threshold and one just under it, in the week before last."""
    monday = week_two_back()
    over = await deposit(world, customer, 1_500 * KSH, local(monday, 10))
    under = await deposit(world, customer, 999 * KSH, local(monday + timedelta(days=1), 11))
    return over, under


async def test_compliance_downloads_the_weeks_ctr_as_goaml_xml_and_csv(
    platform: Platform, world: World
) -> None:
    customer = await world.customer(name="Amina Wanjiru")
    over, under = await two_deposits(world, customer)
    week = iso_week(week_two_back())
    officer = await sign_in(platform, "compliance")

    xml = await officer.client.get("/staff/reports/ctr", params={"week": week, "format": "xml"})
    assert xml.status_code == 200, xml.text
    assert xml.headers["content-type"] == "application/xml; charset=utf-8"
    assert xml.headers["content-disposition"] == f'attachment; filename="CTR-{week}.xml"'
    assert xml.headers["cache-control"] == "no-store"
    assert problems(xml.content) == []  # well-formed and valid against our own XSD
    report = ElementTree.fromstring(xml.content)
    assert report.findtext("rentity_id") == ENTITY
    assert report.findtext("report_code") == "CTR"
    assert report.findtext("entity_reference") == f"CTR-{week}"
    in_xml = receipts_in_xml(xml.content)
    assert in_xml[over] == "1500.00"
    assert under not in in_xml
    assert all(float(amount) >= 1_000 for amount in in_xml.values())

    # The same report over the staff API, the week given by its Monday, as CSV.
    monday = week_two_back().isoformat()
    table = await officer.get("/reports/ctr", week=monday, format="csv")
    assert table.status_code == 200, table.text
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    assert table.headers["content-disposition"] == f'attachment; filename="CTR-{week}.csv"'
    assert receipts_in_csv(table.content) == in_xml  # the same rows
    row = next(csv.DictReader(io.StringIO(table.text)))
    assert row["direction"] in ("cash_in", "cash_out")

    entries = trail(platform, "reports.ctr", officer.username)
    assert [(e.entity, e.outcome) for e in entries] == [
        (f"ctr:{week}", "ok"),
        (f"ctr:{monday}", "ok"),
    ]
    detail = json.loads(entries[0].detail)
    assert (detail["week"], detail["from"], detail["format"]) == (week, monday, "xml")
    assert detail["to"] == (week_two_back() + timedelta(days=6)).isoformat()
    assert detail["threshold"] == 1_000 * KSH
    assert all(e.role == "compliance" and e.actor_id for e in entries)
    # Nothing of the session (its id, its anti-forgery token) reaches the trail.
    assert officer.csrf not in "".join(e.detail for e in entries)
    cookie = officer.client.cookies.get("mkoba_staff")
    assert cookie and cookie not in "".join(e.detail for e in entries)


async def test_the_default_week_is_the_last_full_one(platform: Platform, world: World) -> None:
    customer = await world.customer(name="Otieno Odhiambo")
    last_monday = week_two_back() + timedelta(days=7)
    over = await deposit(world, customer, 2_000 * KSH, local(last_monday, 9))
    officer = await sign_in(platform, "compliance")
    page = await officer.client.get("/staff/reports")
    assert page.status_code == 200, page.text
    assert f'value="{iso_week(last_monday)}"' in page.text
    assert "Ksh1,000.00" in page.text  # the threshold said
    got = await officer.client.get("/staff/reports/ctr", params={"format": "csv"})
    assert got.status_code == 200, got.text
    assert f'filename="CTR-{iso_week(last_monday)}.csv"' in got.headers["content-disposition"]
    assert receipts_in_csv(got.content)[over] == "2000.00"


async def test_an_str_draft_with_its_clock_downloads_as_xml(
    platform: Platform, world: World
) -> None:
    customer = await world.customer(name="Zawadi Njeri")
    assert customer.msisdn
    over, _ = await two_deposits(world, customer)
    made = history.receipt(platform.services.store, over)
    assert made is not None
    alert_id = await queue(platform).raise_alert(
        "R3",
        customer.id,
        customer.msisdn,
        "high",
        "3 cash-ins under the CTR threshold in 24 h",
        {"request_ids": [made.request_id, "no-such-request"]},
        str_clock=True,
    )
    late = await queue(platform).raise_alert(
        "R9", customer.id, customer.msisdn, "high", "mule", {"receipts": [over]}
    )
    with clock_at(platform, platform.clock() - 3 * DAY_NS):  # suspicion 3 days ago
        await queue(platform).escalate(late, "someone", "money out as soon as in")
    officer = await sign_in(platform, "compliance")

    page = await officer.client.get("/staff/reports")
    assert page.status_code == 200
    assert f'href="/staff/reports/str/{alert_id}?format=xml"' in page.text
    assert "due in 47 h" in page.text and "overdue by 24 h" in page.text
    listed = await officer.get("/reports/str")
    rows = {row["id"]: row for row in listed.json()}
    assert rows[alert_id]["overdue"] is False and rows[late]["overdue"] is True

    got = await officer.client.get(f"/staff/reports/str/{alert_id}", params={"format": "xml"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/xml; charset=utf-8"
    assert got.headers["content-disposition"] == f'attachment; filename="STR-alert-{alert_id}.xml"'
    assert problems(got.content) == []
    report = ElementTree.fromstring(got.content)
    assert report.findtext("report_code") == "STR"
    assert report.findtext("entity_reference") == f"STR-ALERT-{alert_id}"
    assert report.findtext("reason") == "3 cash-ins under the CTR threshold in 24 h"
    assert list(receipts_in_xml(got.content)) == [over]
    assert "DRAFT, not filed" in str(report.findtext("action"))

    draft = await officer.get(f"/reports/str/{late}", format="csv")
    assert draft.status_code == 200 and list(receipts_in_csv(draft.content)) == [over]

    (entry,) = [
        e
        for e in trail(platform, "reports.str", officer.username)
        if e.entity == f"alert:{alert_id}"
    ]
    detail = json.loads(entry.detail)
    assert (entry.outcome, detail["format"], detail["receipts"]) == ("ok", "xml", 1)
    assert detail["subject"] == customer.id
    assert detail["due"].endswith("+00:00")


async def test_a_role_without_the_reports_is_refused(platform: Platform, world: World) -> None:
    customer = await world.customer()
    assert customer.msisdn
    alert_id = await queue(platform).raise_alert(
        "R3", customer.id, customer.msisdn, "high", "structuring", {}, str_clock=True
    )
    care = await sign_in(platform, "care_l2")
    assert (await care.client.get("/staff/reports")).status_code == 403
    refused = await care.client.get("/staff/reports/ctr", params={"format": "csv"})
    assert refused.status_code == 403 and "no part in regulatory reports" in refused.text
    assert "content-disposition" not in refused.headers
    assert (await care.get("/reports/ctr")).json() == {
        "error": "Your role has no part in regulatory reports."
    }
    assert (await care.get(f"/reports/str/{alert_id}")).status_code == 403
    assert (await care.get("/reports/str")).status_code == 403
    home = await care.client.get("/staff/home")
    assert home.status_code == 200 and "/staff/reports" not in home.text
    outcomes = [(e.outcome, e.entity) for e in trail(platform, "reports.ctr", care.username)]
    assert outcomes == [("refused", "ctr:last"), ("refused", "ctr:last")]
    # The auditor reads the reports (view): the drafts and the files.
    auditor = await sign_in(platform, "auditor")
    assert (await auditor.get("/reports/str")).status_code == 200
    assert (await auditor.get("/reports/ctr", format="csv")).status_code == 200


async def test_the_menu_links_the_reports_for_compliance(platform: Platform) -> None:
    officer = await sign_in(platform, "compliance")
    home = await officer.client.get("/staff/home")
    assert 'href="/staff/reports"' in home.text


@pytest.mark.parametrize(
    ("week", "why"),
    [
        ("2026-W99", "a week such as 2026-W49"),
        ("next week", "a week such as 2026-W49"),
        ("2026-12-01", "is a Tuesday"),
        ("1999-W10", "none before"),
        ("x" * 21, "at most 20 characters"),
        ("2026-W4\x009", "a week such as 2026-W49"),
    ],
)
async def test_a_bad_week_is_refused_with_why(platform: Platform, week: str, why: str) -> None:
    officer = await sign_in(platform, "compliance")
    page = await officer.client.get("/staff/reports/ctr", params={"week": week})
    assert page.status_code == 422, page.text
    assert why in page.text and "content-disposition" not in page.headers
    api = await officer.get("/reports/ctr", week=week)
    assert api.status_code == 422 and why in api.json()["error"]
    # What the trail keeps of the week asked for is plain text, whatever was sent.
    for entry in trail(platform, "reports.ctr", officer.username):
        assert entry.entity in (f"ctr:{week}", "ctr:unreadable"), entry.entity
        assert entry.outcome == "refused"


async def test_refusals_name_the_problem(platform: Platform, world: World) -> None:
    officer = await sign_in(platform, "compliance")
    this_week = iso_week(week_two_back() + timedelta(days=14))
    unfinished = await officer.get("/reports/ctr", week=this_week)
    assert unfinished.status_code == 422 and "not over yet" in unfinished.json()["error"]
    assert (await officer.get("/reports/ctr", format="pdf")).status_code == 422
    missing = await officer.client.get("/staff/reports/str/987654")
    assert missing.status_code == 404 and "There is no alert 987654" in missing.text
    assert (await officer.client.get("/staff/reports/str/abc")).status_code == 422
    customer = await world.customer()
    assert customer.msisdn
    no_clock = await queue(platform).raise_alert(
        "R4", customer.id, customer.msisdn, "medium", "split", {}
    )
    clockless = await officer.get(f"/reports/str/{no_clock}")
    assert clockless.status_code == 409 and "no STR clock" in clockless.json()["error"]
    empty = await queue(platform).raise_alert(
        "R3", customer.id, customer.msisdn, "high", "x", {"receipts": ["NOSUCH1"]}, str_clock=True
    )
    nothing = await officer.get(f"/reports/str/{empty}")
    assert nothing.status_code == 409 and "names no transaction" in nothing.json()["error"]
    # Without the entity's goAML id, XML is refused and CSV still comes.
    console = platform.console
    assert console is not None
    console.goaml_entity = ""
    try:
        assert (await officer.get("/reports/ctr")).status_code == 409
        assert (await officer.get("/reports/ctr", format="csv")).status_code == 200
    finally:
        console.goaml_entity = ENTITY
    refused = [e.entity for e in trail(platform, "reports.str", officer.username)]
    assert refused == ["alert:987654", f"alert:{no_clock}", f"alert:{empty}"]


async def test_nobody_downloads_an_str_about_their_own_wallet(
    platform: Platform, world: World
) -> None:
    customer = await world.customer()
    assert customer.msisdn
    alert_id = await queue(platform).raise_alert(
        "R3", customer.id, customer.msisdn, "high", "about staff", {}, str_clock=True
    )
    own = await sign_in(platform, "compliance", phone=customer.msisdn)
    refused = await own.get(f"/reports/str/{alert_id}")
    assert refused.status_code == 403 and "your own wallet" in refused.json()["error"]
