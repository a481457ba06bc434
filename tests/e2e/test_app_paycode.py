"""Pay by code in real browsers: the payer shows a pay code, the payee charges it.

Method: a real ``mkoba serve`` (demo world) and Debian's Chromium, each phone its
own browser context on ``/app``, enrolled as a person does it. The payer shows a
pay code; the payee types its digits with an amount and a reference; the payer's
phone hears of the charge live and confirms it with the PIN; both phones see it
complete. The books are then read from the store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.channels.serving import Served, serve
from tests.e2e.phones import PIN, Phones, balance, books_unbalanced

PAYEE = "254712000042"
# Demo customers no other test uses; the payer is the first with money enough (the demo's
# three weeks of history leave some wallets empty).
PAYERS = [f"2547120000{n}" for n in range(43, 60)]
AMOUNT = 9_500


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("paycode")) as server:
        yield server


def test_a_payee_charges_the_payers_code_and_the_payer_confirms_with_the_pin(
    browser: Browser, served: Served
) -> None:
    payer_number = next(number for number in PAYERS if balance(served, number) >= 2 * AMOUNT)
    before = {number: balance(served, number) for number in (payer_number, PAYEE)}
    phones = Phones(served)
    try:
        payer = phones.enrolled(browser, payer_number)
        payee = phones.enrolled(browser, PAYEE)
        payer.tab("Pay code").click()
        payer.page.get_by_role("button", name="Show my pay code").click()
        expect(payer.page.locator("#paycode-qr")).to_be_visible()
        expect(payer.page.locator("#paycode-countdown")).to_contain_text("Expires in")
        digits = payer.page.locator("#paycode-digits").inner_text()
        assert len(digits.replace(" ", "")) == 8

        payee.tab("Charge").click()
        screen = payee.page.locator("#screen-charge")
        screen.get_by_label("The payer's pay code (8 digits)").fill(digits)
        screen.get_by_label("Amount (Ksh)").fill("95")
        screen.get_by_label("Reference").fill("SUKUMA")
        screen.get_by_role("button", name="Charge", exact=True).click()
        state = payee.page.locator("#charge-state")
        expect(state).to_have_text("Waiting for the payer to confirm Ksh95.00…")

        # The payer's phone asks, live: who charges, how much, for what.
        asked = payer.page.locator("#paycode-asked")
        expect(asked).to_have_text(f"{payee.name} asks you for Ksh95.00 (SUKUMA).")
        expect(payer.page.locator("#paycode-qr")).to_be_hidden()
        payer.page.locator("#paycode-pin").fill(PIN)
        payer.page.locator("#paycode-confirm").get_by_role("button", name="Pay").click()
        done = payer.page.locator("#paycode-done")
        expect(done).to_contain_text(f"You paid Ksh95.00 to {payee.name}. Receipt ")
        receipt = done.inner_text().rsplit("Receipt ", 1)[1].rstrip(".")
        # The payee's screen turns to paid by itself.
        expect(state).to_have_text(f"Paid: Ksh95.00. Receipt {receipt}.", timeout=10_000)
        expect(payee.page.locator(".toast").first).to_contain_text(receipt)
    finally:
        phones.close()

    rows = served.rows("SELECT product, amount, fee FROM receipts WHERE receipt = ?", (receipt,))
    assert len(rows) == 1, rows
    product, amount, fee = rows[0]
    assert (product, amount) == ("send_money", AMOUNT)
    assert balance(served, payer_number) == before[payer_number] - AMOUNT - fee
    assert balance(served, PAYEE) == before[PAYEE] + AMOUNT
    assert books_unbalanced(served) == []
