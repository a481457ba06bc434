"""The back office in a real browser: sign in with TOTP, maker-checker, the reversal queue.

Method: a real ``mkoba serve`` (demo world: one member of staff per role, the password
``mkoba demo 2026``), and headless Chromium (Playwright) on its console port, one
browser context per member of staff, as two people at two desks. Authenticator codes
are made from each account's seed, read with the server's staff key as
``mkoba staff totp`` reads it; each code is of a later time-step than the last used.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from mkoba.staff import accounts
from tests.channels.console.staff import Authenticator
from tests.channels.serving import Served, serve

PASSWORD = "mkoba demo 2026"
PAYER, PAYEE, PIN = "254712000001", "254712000002", "1357"


class _Rows:
    """The server's database, read-only, as the staff tables' readers want it."""

    def __init__(self, served: Served) -> None:
        self.served = served

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self.served.rows(sql, params)


class Codes:
    """Each member's authenticator, its seed read with the server's staff key."""

    def __init__(self, served: Served) -> None:
        self.rows = _Rows(served)
        self.key = accounts.staff_key(served.keys)
        self.apps: dict[str, Authenticator] = {}

    def next(self, username: str) -> str:
        if username not in self.apps:
            account = accounts.by_username(self.rows, self.key, username)
            assert account is not None, username
            self.apps[username] = Authenticator(account.state.totp_secret)
        return self.apps[username].next()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("back-office")) as server:
        yield server


@pytest.fixture(scope="module")
def console_url(served: Served) -> str:
    found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", served.log.read_text())
    assert found is not None, served.log.read_text()[-2000:]
    return found.group(1)


@pytest.fixture(scope="module")
def codes(served: Served) -> Codes:
    return Codes(served)


def sign_in(browser: Browser, console_url: str, codes: Codes, username: str) -> Page:
    """A new desk (browser context) with ``username`` signed in through the form."""
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{console_url}/staff/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator").fill(codes.next(username))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console_url}/staff/home")
    return page


def test_a_wrong_code_is_refused_on_the_sign_in_page(
    browser: Browser, console_url: str, codes: Codes
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{console_url}/staff/")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username, password or code.")
    expect(page).to_have_url(f"{console_url}/staff/")
    # Nothing of the console opens without signing in.
    page.goto(f"{console_url}/staff/home")
    expect(page).to_have_url(f"{console_url}/staff/")


def test_a_maker_issues_e_money_and_a_checker_approves_it_after_seeing_the_change(
    browser: Browser, console_url: str, codes: Codes, served: Served
) -> None:
    maker = sign_in(browser, console_url, codes, "operations")
    maker.get_by_role("link", name="Issue e-money").click()
    maker.get_by_label("Kind").fill("operator")
    maker.get_by_label("Amount").fill("25000")
    maker.get_by_label("Reference").fill("FT26120599901")
    maker.get_by_label("Note for the checker").fill("capital for commissions")
    maker.get_by_role("button", name="Continue").click()
    expect(maker).to_have_url(re.compile(r"/staff/commands/\d+$"))
    command_url = maker.url
    expect(maker.locator(".state").first).to_have_text("pending")
    expect(maker.locator(".summary")).to_contain_text("Issue Ksh25,000.00 of e-money")
    # The maker sees no way to approve their own command, and the API refuses it too.
    expect(maker.get_by_role("button", name="Approve")).to_have_count(0)
    csrf = maker.locator("body").get_attribute("hx-headers") or ""
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', csrf)
    assert token is not None
    command_id = command_url.rsplit("/", 1)[1]
    own = maker.request.post(
        f"{console_url}/staff/v1/commands/{command_id}/approve",
        data={"code": codes.next("operations")},
        headers={"X-CSRF-Token": token.group(1)},
    )
    assert own.status == 403 and "another member of staff" in own.text()
    # The checker finds it waiting, reads the before/after view, and approves.
    checker = sign_in(browser, console_url, codes, "finance")
    checker.get_by_role("link", name=re.compile("Issue Ksh25,000.00")).click()
    changed = checker.locator("table.diff tr.changed")
    expect(changed.filter(has_text="Fees account")).to_have_count(1)
    expect(changed.filter(has_text="E-money outstanding")).to_have_count(1)
    checker.get_by_label("A fresh code from your authenticator").fill(codes.next("finance"))
    checker.get_by_role("button", name="Approve").click()
    expect(checker.locator(".state").first).to_have_text("done")
    expect(checker.locator(".outcome")).to_contain_text("Receipt")
    issued = served.rows(
        "SELECT amount FROM receipts WHERE product = 'issue_emoney' AND reference = ?",
        ("FT26120599901",),
    )
    assert issued == [(25_000 * 100,)]


def test_care_resolves_a_reversal_request_end_to_end(
    browser: Browser, console_url: str, codes: Codes, served: Served
) -> None:
    with httpx.Client(base_url=served.url) as api:
        before = api.post("/api/v1/balance", json={"msisdn": PAYER, "pin": PIN}).json()
        sent = api.post(
            "/api/v1/send-money", json={"msisdn": PAYER, "pin": PIN, "to": PAYEE, "amount": "120"}
        ).json()
        assert sent["ok"], sent
        asked = api.post(
            "/api/v1/reversals", json={"msisdn": PAYER, "pin": PIN, "receipt": sent["receipt"]}
        ).json()
        assert asked["ok"], asked
    care = sign_in(browser, console_url, codes, "care_l1")
    # The request is a ticket in the back office's queue, and points to the reversal.
    care.get_by_role("link", name="Tickets").click()
    care.get_by_label("Queue").select_option("care_l2")
    care.get_by_role("button", name="Show").click()
    ticket_row = care.locator("tr", has_text=f"Reversal of {sent['receipt']}")
    expect(ticket_row).to_have_count(1)
    ticket_row.locator("a").first.click()
    ticket_url = care.url
    care.get_by_role("link", name="the reversal queue").click()
    row = care.locator("tr", has_text=sent["receipt"])
    row.get_by_role("link", name="Approve").click()
    expect(care.get_by_label("Receipt")).to_have_value(sent["receipt"])
    care.get_by_label("Note for the checker").fill("customer called: wrong number")
    care.get_by_role("button", name="Continue").click()
    expect(care.locator(".state").first).to_have_text("pending")
    back_office = sign_in(browser, console_url, codes, "care_l2")
    back_office.get_by_role("link", name=re.compile(f"reversal of {sent['receipt']}")).click()
    back_office.get_by_label("A fresh code from your authenticator").fill(codes.next("care_l2"))
    back_office.get_by_role("button", name="Approve").click()
    expect(back_office.locator(".state").first).to_have_text("done")
    with httpx.Client(base_url=served.url) as api:
        after = api.post("/api/v1/balance", json={"msisdn": PAYER, "pin": PIN}).json()
    # The 120 came back; only the fee of the first send stays spent (amounts in shillings).
    fee = Decimal(before["data"]["balance"]) - Decimal(after["data"]["balance"])
    assert 0 <= fee < 120, (before, after)
    back_office.get_by_role("link", name="Reversals").click()
    expect(back_office.locator("tr", has_text=sent["receipt"])).to_have_count(0)
    # The ticket closed with the decision.
    back_office.goto(ticket_url)
    expect(back_office.locator(".state").first).to_have_text("resolved")
    expect(back_office.locator(".outcome")).to_contain_text("Reversal approved")


def test_care_resolves_a_customer_ticket_and_the_customer_reads_it(
    browser: Browser, console_url: str, codes: Codes, served: Served
) -> None:
    with httpx.Client(base_url=served.url) as api:
        opened = api.post(
            "/api/v1/tickets",
            json={
                "msisdn": PAYEE,
                "pin": PIN,
                "category": "transaction",
                "text": "Agent kept my cash",
            },
        ).json()
        assert opened["ok"], opened
    care = sign_in(browser, console_url, codes, "care_l1")
    care.goto(f"{console_url}/staff/tickets/{opened['data']['ticket']}")
    expect(care.locator(".summary")).to_contain_text("Agent kept my cash")
    care.get_by_label("Add a note").fill("Called the agent")
    care.get_by_role("button", name="Add the note").click()
    expect(care.get_by_text("Called the agent")).to_be_visible()
    care.get_by_label("Resolve: what was done").fill("The agent paid you Ksh500.")
    care.get_by_role("button", name="Resolve").click()
    expect(care.locator(".state").first).to_have_text("resolved")
    with httpx.Client(base_url=served.url) as api:
        deadline = time.monotonic() + 10
        while True:
            inbox = api.get(f"/api/v1/sms/{PAYEE}", headers=served.handset(PAYEE)).json()
            texts = [m["text"] for m in inbox["messages"]]
            if any("is resolved: The agent paid you Ksh500." in t for t in texts):
                break
            assert time.monotonic() < deadline, texts[-3:]
            time.sleep(0.2)


def test_care_finds_a_customer_and_the_page_is_masked(
    browser: Browser, console_url: str, codes: Codes
) -> None:
    care = sign_in(browser, console_url, codes, "care_l1")
    care.get_by_role("link", name="Customers").click()
    care.get_by_label("Search for").fill("0712000001")
    care.get_by_role("button", name="Search").click()
    care.locator("table a").first.click()
    expect(care.get_by_text("Personal data is masked for your role.")).to_be_visible()
    expect(care.locator("body")).not_to_contain_text("0712000001")
    expect(care.get_by_role("link", name="Reset a PIN")).to_be_visible()


def test_no_page_loads_anything_from_elsewhere(
    browser: Browser, console_url: str, codes: Codes
) -> None:
    page = browser.new_context().new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{console_url}/staff/")
    assert asked and all(url.startswith(console_url) for url in asked), asked
    vendored = Path(__file__).parents[2] / "src/mkoba/channels/console/static/htmx.min.js"
    assert page.evaluate("typeof htmx.version") == "string"
    assert vendored.stat().st_size > 10_000
