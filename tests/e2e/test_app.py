"""The smartphone web app in real browsers: one phone shows a QR, another scans it and pays.

Method: a real ``mkoba serve`` (demo world) and Debian's Chromium. Each phone is a
browser context on ``/app``, enrolled as a person does it (number, the SMS code from
the handset's inbox, the PIN). The paying phone is its own Chromium process, whose
fake camera plays a video of the payee's QR code (written by the test from the code's
payload with segno): it scans, sees the payee's name and the amount, pays with the
PIN. Both phones see the payment complete without a reload. The books are then read
from the store: the payer's wallet moved by the amount and the tariff's fee, the
payee's by the amount, and every ledger still balances.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from mkoba.catalog import load_catalog
from mkoba.channels.app import keqr
from tests.channels.serving import Served, serve
from tests.e2e.camera import qr_video
from tests.e2e.conftest import ARGS, CHROMIUM
from tests.e2e.phones import Phones, balance, books_unbalanced

TUTOR, STUDENT, OFFLINE, SHOPPER = "254712000011", "254712000012", "254712000013", "254712000014"
# A demo till (mkoba/demo/seed.py), and the static code on its counter, printed once.
JAVA_HOUSE = keqr.Payee(keqr.PayeeKind.BUY_GOODS, "300200", "JAVA HOUSE", "NAIROBI", "5814")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("app")) as server:
        yield server


@pytest.fixture
def phones(served: Served) -> Iterator[Phones]:
    held = Phones(served)
    yield held
    held.close()


def shillings(cents: int) -> str:
    """As the app writes money: Ksh1,234.50."""
    return f"Ksh{cents // 100:,}.{cents % 100:02d}"


def camera_browser(browser: Browser, video: Path) -> Browser:
    """Another Chromium whose camera sees ``video`` (the fake camera is per process)."""
    return browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


def test_a_student_scans_the_tutors_code_and_pays_and_both_phones_see_it(
    browser: Browser, served: Served, phones: Phones, tmp_path: Path
) -> None:
    before = {number: balance(served, number) for number in (TUTOR, STUDENT)}
    tutor = phones.enrolled(browser, TUTOR)
    payload = tutor.receive("150", "LESSON 7")
    expect(tutor.page.locator("#receive-countdown")).to_contain_text("Expires in 4:")
    video = qr_video(payload, tmp_path / "tutor-qr.y4m")

    with_camera = camera_browser(browser, video)
    try:
        student = phones.enrolled(with_camera, STUDENT, permissions=["camera"])
        student.tab("Pay").click()
        student.page.get_by_role("button", name="Scan a code").click()
        confirm = student.page.locator("#pay-confirm")
        expect(confirm).to_be_visible(timeout=20_000)
        # What the student sees before the PIN: who is paid, how much, for what.
        expect(student.page.locator("#pay-payee")).to_have_text(tutor.name)
        expect(student.page.locator("#pay-amount-fixed")).to_have_text("Ksh150.00")
        expect(student.page.locator("#pay-reference")).to_have_text("Reference: LESSON 7")
        # A dynamic code's amount is the payee's: there is no field to change it.
        expect(student.page.locator("#pay-amount")).to_be_hidden()
        student.confirm("1357")
        receipt_box = student.page.locator("#pay-receipt")
        expect(receipt_box).to_contain_text(f"You paid Ksh150.00 to {tutor.name}.")
        receipt = student.page.locator("#pay-receipt-id").inner_text().removeprefix("Receipt: ")
        # The tutor's phone turns to "paid" by itself, from the live notices.
        paid = tutor.page.locator("#receive-paid")
        expect(paid).to_have_text(f"Paid by {student.name}: Ksh150.00. Receipt {receipt}.")
        expect(tutor.page.locator("#receive-qr")).to_be_hidden()
        expect(student.page.locator(".toast").first).to_contain_text(receipt)
        tutor.tab("Notices").click()
        expect(tutor.page.locator("#notices-list li").first).to_have_text(
            f"You received Ksh150.00 from {student.name}. Receipt {receipt}."
        )
        # The tutor's own app shows the new balance and the payment on the mini statement.
        tutor.tab("Home").click()
        tutor.page.get_by_role("button", name="Balance and statement").click()
        tutor.page.locator("#pin-dialog").get_by_label("PIN").fill("1357")
        tutor.page.locator("#pin-dialog").get_by_role("button", name="OK").click()
        expect(tutor.page.locator("#home-balance-text")).to_have_text(
            f"Your balance is {shillings(before[TUTOR] + 15_000)}"
        )
        newest = tutor.page.locator("#home-statement tbody tr").first
        expect(newest).to_have_attribute("title", receipt)
        expect(newest.locator("td.amount")).to_have_text("Ksh150.00")
    finally:
        phones.close()
        with_camera.close()

    rows = served.rows("SELECT product, amount, fee FROM receipts WHERE receipt = ?", (receipt,))
    assert len(rows) == 1, rows
    product, amount, fee = rows[0]
    assert amount == 15_000
    assert fee == load_catalog("kenya").current().fee(str(product), 15_000).customer
    assert balance(served, STUDENT) == before[STUDENT] - 15_000 - fee
    assert balance(served, TUTOR) == before[TUTOR] + 15_000
    assert books_unbalanced(served) == []


def test_the_app_opens_offline_and_keeps_no_api_answer(
    browser: Browser, served: Served, phones: Phones
) -> None:
    phone = phones.enrolled(browser, OFFLINE)
    page = phone.page
    name = phone.name
    assert name
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    phone.receive("10", "OFFLINE")
    kept = page.evaluate(
        """async () => { const urls = [];
             for (const name of await caches.keys())
               for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
             return urls; }"""
    )
    assert f"{served.url}/app/js/main.js" in kept
    assert f"{served.url}/app/vendor/jsQR.js" in kept
    assert [url for url in kept if "/api/" in url] == []
    assert [url for url in kept if not url.startswith(f"{served.url}/app/")] == []
    # No network at all: the app still opens (on its home screen, from what it keeps).
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    expect(page.locator("#home-name")).to_have_text(name)
    expect(phone.refusal("home")).to_have_attribute("data-code", "network")


def test_a_till_sticker_is_scanned_and_the_shopper_types_the_amount(
    browser: Browser, served: Served, phones: Phones, tmp_path: Path
) -> None:
    before = balance(served, SHOPPER)
    video = qr_video(keqr.static_code(JAVA_HOUSE), tmp_path / "till-sticker.y4m")
    with_camera = camera_browser(browser, video)
    try:
        shopper = phones.enrolled(with_camera, SHOPPER, permissions=["camera"])
        page = shopper.page
        shopper.tab("Pay").click()
        page.get_by_role("button", name="Scan a code").click()
        expect(page.locator("#pay-confirm")).to_be_visible(timeout=20_000)
        expect(page.locator("#pay-payee")).to_have_text("JAVA HOUSE")
        expect(page.locator("#pay-number")).to_have_text("Till 300200")
        # A static code fixes no amount: the shopper types it.
        expect(page.locator("#pay-amount-fixed")).to_be_hidden()
        page.locator("#pay-confirm").get_by_label("Amount (Ksh)").fill("80")
        shopper.confirm("1357")
        expect(page.locator("#pay-receipt")).to_contain_text("You paid Ksh80.00 to JAVA HOUSE.")
        receipt = page.locator("#pay-receipt-id").inner_text().removeprefix("Receipt: ")
    finally:
        phones.close()
        with_camera.close()
    rows = served.rows("SELECT product, amount, fee FROM receipts WHERE receipt = ?", (receipt,))
    assert len(rows) == 1, rows
    product, amount, fee = rows[0]
    assert (product, amount) == ("buy_goods", 8_000)
    assert balance(served, SHOPPER) == before - 8_000 - fee
    assert books_unbalanced(served) == []
