"""The daily close in a real browser: finance signs yesterday off, the auditor checks it.

Method: a real ``mkoba serve`` (demo world) and headless Chromium. Finance opens
Closes, signs off the day it proposes (yesterday) with the bank's balance, a note and a
fresh code, and lands on the stored close; the auditor, at another desk, finds it in the
list, sees no sign-off form, and has the console check it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.channels.serving import Served, serve
from tests.e2e.test_back_office import Codes, sign_in


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("close")) as server:
        yield server


@pytest.fixture(scope="module")
def console_url(served: Served) -> str:
    found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", served.log.read_text())
    assert found is not None, served.log.read_text()[-2000:]
    return found.group(1)


def test_finance_signs_a_day_off_and_the_auditor_checks_it(
    browser: Browser, console_url: str, served: Served
) -> None:
    codes = Codes(served)
    finance = sign_in(browser, console_url, codes, "finance")
    finance.get_by_role("link", name="Closes").click()
    day = finance.get_by_label("Day").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)
    finance.get_by_label("Trust bank balance (minor units)").fill("123456")
    finance.get_by_label("Note on the breaks").fill("bank statement matched")
    finance.get_by_label("A fresh code from your authenticator").fill(codes.next("finance"))
    finance.get_by_role("button", name="Sign off").click()
    expect(finance).to_have_url(f"{console_url}/staff/closes/{day}")
    expect(finance.locator("h1")).to_have_text(f"Close of {day}")
    expect(finance.locator("main")).to_contain_text("bank statement matched")
    stored = served.rows("SELECT staff, bank_balance FROM staff_closes WHERE day = ?", (day,))
    assert stored == [("finance", 123456)]

    auditor = sign_in(browser, console_url, codes, "auditor")
    auditor.get_by_role("link", name="Closes").click()
    expect(auditor.get_by_role("button", name="Sign off")).to_have_count(0)
    auditor.get_by_role("link", name=day).click()
    auditor.get_by_role("button", name="Check this close").click()
    expect(auditor.locator("#checked")).to_have_text(f"The close of {day} is as signed off.")
