"""A new member of staff, end to end in a browser: made, checked, enrolled, signed in.

Method: a real ``mkoba serve`` (demo world) and headless Chromium, one browser context
per person. The demo's system administrator makes a ``care_l1`` account; a second
system administrator, bootstrapped as an operator would with ``mkoba staff create``,
approves it with a fresh code and is shown the enrolment link once; the new member
opens it with no session, adds the seed shown to an authenticator, chooses a password,
confirms a first code and signs in.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from mkoba.demo.staff import DEMO_STAFF_PASSWORD
from tests.channels.console.staff import Authenticator
from tests.channels.serving import Served, serve
from tests.e2e.test_back_office import Codes, sign_in

CHOSEN = "Neema chose this 2026"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("staff-enrolment")) as server:
        yield server


@pytest.fixture(scope="module")
def console_url(served: Served) -> str:
    found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", served.log.read_text())
    assert found is not None, served.log.read_text()[-2000:]
    return found.group(1)


def second_sysadmin(served: Served) -> str:
    """Another system administrator, made on the server's command line."""
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mkoba.cli import main; main()",
            "staff",
            "create",
            "sysadmin.two",
            "--role",
            "sysadmin",
            "--name",
            "Zawadi Njoroge",
            "--password-stdin",
            "--db",
            str(served.db),
            "--keys-dir",
            str(served.keys),
        ],
        input=f"{DEMO_STAFF_PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return "sysadmin.two"


def test_a_sysadmin_makes_an_account_another_approves_and_the_member_enrols(
    browser: Browser, console_url: str, served: Served
) -> None:
    codes = Codes(served)
    checker_name = second_sysadmin(served)
    maker = sign_in(browser, console_url, codes, "sysadmin")
    maker.get_by_role("link", name="Staff", exact=True).click()
    maker.get_by_role("link", name="Make a staff account").click()
    maker.get_by_label("Username").fill("neema.w")
    maker.get_by_label("Name", exact=True).fill("Neema Wafula")
    maker.get_by_label("Role").select_option("care_l1")
    maker.get_by_label("Note for the checker").fill("joins care on Monday")
    maker.get_by_role("button", name="Continue").click()
    expect(maker).to_have_url(re.compile(r"/staff/commands/\d+$"))
    expect(maker.locator(".state").first).to_have_text("pending")
    expect(maker.get_by_role("button", name="Approve")).to_have_count(0)

    checker = sign_in(browser, console_url, codes, checker_name)
    checker.get_by_role("link", name=re.compile("Make a staff account for Neema Wafula")).click()
    expect(checker.locator("table.diff")).to_contain_text("care_l1")
    checker.get_by_label("A fresh code from your authenticator").fill(codes.next(checker_name))
    checker.get_by_role("button", name="Approve").click()
    link = checker.locator(".enrolment-link")
    expect(link).to_contain_text("/staff/enrol/")
    enrolment_url = link.inner_text()
    # Shown once: the command's page, read again, no longer carries it.
    checker.reload()
    expect(checker.locator(".state").first).to_have_text("done")
    expect(checker.locator("body")).not_to_contain_text("/staff/enrol/")

    member = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    member.goto(enrolment_url)
    expect(member.get_by_role("heading", name="Welcome, Neema Wafula")).to_be_visible()
    expect(member.locator(".qr svg")).to_have_count(1)
    app = Authenticator(member.locator("code.seed").inner_text().strip())
    member.get_by_label("Choose a password").fill(CHOSEN)
    member.get_by_label("The same password again").fill(CHOSEN)
    member.get_by_label("Code from your authenticator").fill(app.next())
    member.get_by_role("button", name="Enrol").click()
    expect(member).to_have_url(re.compile(r"/staff/\?enrolled=1$"))
    member.get_by_label("Username").fill("neema.w")
    member.get_by_label("Password").fill(CHOSEN)
    member.get_by_label("Code from your authenticator").fill(app.next())
    member.get_by_role("button", name="Sign in").click()
    expect(member).to_have_url(f"{console_url}/staff/home")
    expect(member.locator(".me")).to_have_text("Neema Wafula · care_l1")
    # The link worked once.
    member.goto(enrolment_url)
    expect(member.locator("body")).to_contain_text("expired, was used already")
