"""Bulk disbursement in a real browser: a bad file refused row by row, a good one paid out.

Method: a real ``mkoba serve`` (demo world: one member of staff per role, the Daraja
sandbox's organisation 600000 with Ksh500,000 in its utility account, demo customers on
0712 000 001 onwards) and headless Chromium (Playwright) on its console port: operations
uploads the files through the form, finance approves the batch on its command's page,
and the maker watches the payments and downloads the result file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.channels.serving import Served, serve
from tests.e2e.test_back_office import Codes, sign_in

ORGANISATION = "600000"
ONE, TWO, PIN = "254712000031", "254712000032", "1357"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("bulk")) as server:
        yield server


@pytest.fixture(scope="module")
def console_url(served: Served) -> str:
    found = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/staff", served.log.read_text())
    assert found is not None, served.log.read_text()[-2000:]
    return found.group(1)


@pytest.fixture(scope="module")
def codes(served: Served) -> Codes:
    return Codes(served)


def choose(page: Page, name: str, text: str) -> None:
    """Put a CSV file named ``name`` in the upload form."""
    page.get_by_label("File").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode("utf-8")}
    )


def balance(served: Served, msisdn: str) -> Decimal:
    """A customer's balance in shillings, as they would ask for it."""
    with httpx.Client(base_url=served.url) as api:
        answer = api.post("/api/v1/balance", json={"msisdn": msisdn, "pin": PIN}).json()
    assert answer["ok"], answer
    return Decimal(answer["data"]["balance"])


def test_a_bulk_file_with_bad_rows_is_refused_row_by_row_and_a_good_one_pays_out(
    browser: Browser, console_url: str, codes: Codes, served: Served, tmp_path: Path
) -> None:
    maker = sign_in(browser, console_url, codes, "operations")
    maker.get_by_role("link", name="Bulk disbursement").click()
    expect(maker).to_have_url(f"{console_url}/staff/bulk")
    maker.get_by_label("Organisation's shortcode").fill(ORGANISATION)
    maker.get_by_label("Title (optional)").fill("December stipends")
    bad = (
        "phone,amount,reference,name\n"
        "0712000031,1500,DEC-1,Good Row\n"
        "0712,1500,DEC-2,Short Number\n"
        "0712000032,12.345,DEC-3,Three Decimals\n"
        "0712000031,1500,DEC-1,Same Again\n"
    )
    choose(maker, "stipends.csv", bad)
    maker.get_by_role("button", name="Upload").click()
    alert = maker.get_by_role("alert")
    expect(alert).to_contain_text("The file has 3 bad lines: nothing was recorded.")
    problems = alert.locator("table.problems tbody tr")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("3")
    expect(problems.nth(0)).to_contain_text("phone:")
    expect(problems.nth(1)).to_contain_text("4")
    expect(problems.nth(1)).to_contain_text("KES has 2 decimal places")
    expect(problems.nth(2)).to_contain_text("the same phone and reference as line 2")
    expect(maker).to_have_url(f"{console_url}/staff/bulk")
    assert served.rows("SELECT COUNT(*) FROM staff_batches") == [(0,)]
    # The maker fixes the file and uploads it again: it waits for a checker.
    good = (
        "phone,amount,reference,name\n"
        "0712000031,1500,DEC-1,First Student\n"
        "0712000032,2000.50,DEC-2,Second Student\n"
    )
    choose(maker, "stipends.csv", good)
    maker.get_by_label("Note for the checker").fill("December stipends, approved by the board")
    maker.get_by_role("button", name="Upload").click()
    expect(maker).to_have_url(re.compile(r"/staff/bulk/\d+$"))
    batch_url = maker.url
    expect(maker.locator(".summary")).to_contain_text("2 payees, Ksh3,500.50 in all")
    expect(maker.locator(".batch-state")).to_have_text("waiting")
    before = (balance(served, ONE), balance(served, TWO))
    # The checker finds the batch waiting, reads the view, and approves it.
    checker = sign_in(browser, console_url, codes, "finance")
    checker.get_by_role("link", name=re.compile(r"Pay 2 payees Ksh3,500\.50")).click()
    changed = checker.locator("table.diff tr.changed")
    expect(changed.filter(has_text="Utility account")).to_have_count(1)
    expect(changed.filter(has_text="Total paid")).to_contain_text("Ksh3,500.50")
    checker.get_by_label("A fresh code from your authenticator").fill(codes.next("finance"))
    checker.get_by_role("button", name="Approve").click()
    expect(checker.locator(".state").first).to_have_text("done")
    # The maker's page follows the payments until every row is paid.
    expect(maker.locator(".batch-state")).to_have_text("finished", timeout=20_000)
    expect(maker.locator("dd.paid")).to_have_text("2")
    expect(maker.locator("dd.failed")).to_have_text("0")
    expect(maker.locator("dd.remaining")).to_have_text("0")
    assert (balance(served, ONE), balance(served, TWO)) == (
        before[0] + Decimal("1500.00"),
        before[1] + Decimal("2000.50"),
    )
    with maker.expect_download() as downloading:
        maker.get_by_role("link", name="Download the result file").click()
    saved = tmp_path / "result.csv"
    downloading.value.save_as(saved)
    table = list(csv.DictReader(io.StringIO(saved.read_text("utf-8"))))
    assert [(row["phone"], row["amount"], row["state"]) for row in table] == [
        (ONE, "1500.00", "paid"),
        (TWO, "2000.50", "paid"),
    ]
    assert all(row["receipt"] and row["result_code"] == "ok" for row in table)
    # Each row's receipt is on the page's table too.
    maker.goto(batch_url)
    for row in table:
        expect(maker.locator("table.rows")).to_contain_text(row["receipt"])
