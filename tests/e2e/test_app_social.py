"""Request money, split a bill and gift vouchers in the web app, in real browsers.

Method: a real ``mkoba serve`` (demo world) and Debian's Chromium, phones enrolled as
in ``test_app.py``. A tutor's phone asks a student's phone for money and the student
pays it from their list; an organiser splits a bill between two friends and sees who
has paid; a gift bought in the app reaches the recipient's phone by SMS and its code,
typed into that phone's app, lands in its wallet. Balances are read over the native
API, and every ledger still balances.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.channels.serving import Served, serve
from tests.e2e.phones import PIN, Phones, balance, books_unbalanced, inbox_last, local

TUTOR, STUDENT = "254712000041", "254712000042"
ORGANISER, PAYING_FRIEND, LATE_FRIEND = "254712000043", "254712000044", "254712000045"
GIVER, LUCKY = "254712000046", "254712000047"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("social")) as server:
        yield server


@pytest.fixture
def phones(served: Served) -> Iterator[Phones]:
    held = Phones(served)
    yield held
    held.close()


def type_pin(page: Page, pin: str = PIN) -> None:
    """Answer the PIN dialog the app has opened."""
    dialog = page.locator("#pin-dialog")
    dialog.get_by_label("PIN").fill(pin)
    dialog.get_by_role("button", name="OK").click()


def gift_code(served: Served, msisdn: str, after: int) -> str:
    """The gift's code from the first SMS after message ``after`` that holds one."""
    answer = httpx.get(
        f"{served.url}/api/v1/sms/{msisdn}",
        params={"after": after, "wait": 20},
        auth=served.handsets,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    for message in answer.json()["messages"]:
        found = re.search(r"code, (\d{8}),", message["text"])
        if found:
            return found.group(1)
    raise AssertionError(f"no gift code in the SMS to {msisdn}: {answer.json()['messages']}")


def test_a_tutor_requests_money_and_the_student_pays_it_from_their_list(
    browser: Browser, served: Served, phones: Phones
) -> None:
    before = {number: balance(served, number) for number in (TUTOR, STUDENT)}
    tutor = phones.enrolled(browser, TUTOR)
    student = phones.enrolled(browser, STUDENT)

    tutor.tab("Request").click()
    screen = tutor.page.locator("#screen-request")
    screen.get_by_label("Who pays (phone number)").fill(local(STUDENT))
    screen.get_by_label("Amount (Ksh)").fill("150")
    screen.get_by_label("Note").fill("Lesson 7")
    screen.get_by_label("PIN").fill(PIN)
    screen.get_by_role("button", name="Send the request").click()
    sent = tutor.page.locator("#request-sent")
    expect(sent).to_contain_text(f"for Ksh150.00 sent to {student.name}.")
    number = re.search(r"Request (\d+) ", sent.inner_text())
    assert number is not None

    # The student's list sits behind the PIN, asked once for the visit.
    student.tab("Request").click()
    student.page.get_by_role("button", name="My requests").click()
    type_pin(student.page)
    asked = student.page.locator(f"#request-to-me li[data-number='{number.group(1)}']")
    expect(asked).to_contain_text(f"{tutor.name} (254712000041): Ksh150.00")
    expect(asked).to_contain_text("Lesson 7 · waiting")
    asked.get_by_role("button", name="Pay Ksh150.00").click()
    type_pin(student.page)
    paid = student.page.locator("#request-sent")
    expect(paid).to_contain_text(f"You paid Ksh150.00 to {tutor.name}. Receipt ")
    receipt = paid.inner_text().removesuffix(".").rsplit(" ", 1)[-1]
    expect(asked).to_have_attribute("data-state", "paid")
    expect(asked.get_by_role("button")).to_have_count(0)

    # The tutor typed the PIN to ask: the list opens without asking it again.
    tutor.page.get_by_role("button", name="My requests").click()
    expect(tutor.page.locator("#pin-dialog")).not_to_be_visible()
    mine = tutor.page.locator(f"#request-from-me li[data-number='{number.group(1)}']")
    expect(mine).to_have_attribute("data-state", "paid")

    assert balance(served, TUTOR) == before[TUTOR] + 15_000
    fees = served.rows("SELECT amount, fee FROM receipts WHERE receipt = ?", (receipt,))
    assert len(fees) == 1 and fees[0][0] == 15_000, fees
    assert balance(served, STUDENT) == before[STUDENT] - 15_000 - int(str(fees[0][1]))
    assert books_unbalanced(served) == []


def test_a_bill_split_between_two_friends_shows_who_has_paid(
    browser: Browser, served: Served, phones: Phones
) -> None:
    organiser = phones.enrolled(browser, ORGANISER)
    friend = phones.enrolled(browser, PAYING_FRIEND)
    page = organiser.page
    organiser.tab("Split a bill").click()
    bill = page.locator("#screen-bill")
    bill.get_by_label("Total (Ksh)").fill("1,000.50")
    for number in (PAYING_FRIEND, LATE_FRIEND):
        bill.get_by_label("Friend's phone number").fill(local(number))
        page.get_by_role("button", name="Add friend").click()
    shares = page.locator("#bill-friends .share")
    # Equal shares, as the server makes them: whole cents, the odd one to the first.
    expect(shares).to_have_text(["Ksh500.25", "Ksh500.25"])

    # Custom shares must add up before anything is sent.
    bill.get_by_label("Custom").check()
    bill.get_by_label(f"Share of {local(PAYING_FRIEND)} (Ksh)").fill("600")
    bill.get_by_label(f"Share of {local(LATE_FRIEND)} (Ksh)").fill("300")
    expect(page.locator("#bill-sum")).to_have_text("The shares add up to Ksh900.00 of Ksh1,000.50.")
    bill.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="Split the bill").click()
    expect(organiser.refusal("bill")).to_have_text("The shares must add up to the total.")
    bill.get_by_label(f"Share of {local(LATE_FRIEND)} (Ksh)").fill("400.50")
    bill.get_by_label("Note").fill("Dinner")
    bill.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="Split the bill").click()
    status = page.locator("#bill-status-text")
    expect(status).to_contain_text("Ksh0.00 of Ksh1,000.50 paid, Ksh1,000.50 outstanding.")

    friend.tab("Request").click()
    friend.page.get_by_role("button", name="My requests").click()
    type_pin(friend.page)
    share = friend.page.locator("#request-to-me li").first
    expect(share).to_contain_text(f"{organiser.name} (254712000043): Ksh600.00")
    share.get_by_role("button", name="Pay Ksh600.00").click()
    type_pin(friend.page)
    expect(share).to_have_attribute("data-state", "paid")

    # The organiser's PIN was typed for the split: this visit asks it no more.
    page.get_by_role("button", name="Who has paid?").click()
    expect(status).to_contain_text("Ksh600.00 of Ksh1,000.50 paid, Ksh400.50 outstanding.")
    rows = page.locator("#bill-status-list li")
    expect(rows.and_(page.locator(f"[data-msisdn='{PAYING_FRIEND}']"))).to_have_attribute(
        "data-state", "paid"
    )
    expect(rows.and_(page.locator(f"[data-msisdn='{LATE_FRIEND}']"))).to_have_attribute(
        "data-state", "open"
    )
    # In Swahili, the status shown is said again in Swahili.
    page.get_by_role("button", name="Change language").click()
    expect(status).to_contain_text("Ksh600.00 kati ya Ksh1,000.50 imelipwa, Ksh400.50 bado.")
    expect(rows.first).to_contain_text("limelipwa")
    assert books_unbalanced(served) == []


def test_a_gift_bought_in_the_app_is_cashed_into_the_recipients_wallet(
    browser: Browser, served: Served, phones: Phones
) -> None:
    giver = phones.enrolled(browser, GIVER)
    lucky = phones.enrolled(browser, LUCKY)
    before = balance(served, LUCKY)
    last_sms = inbox_last(served, LUCKY)

    giver.tab("Gift").click()
    bought = giver.page.locator("#gift-buy")
    bought.get_by_label("For (phone number)").fill(local(LUCKY))
    bought.get_by_label("Amount (Ksh)").fill("200")
    bought.get_by_label("PIN").fill(PIN)
    bought.get_by_role("button", name="Buy the gift").click()
    expect(giver.page.locator("#gift-done")).to_contain_text(
        f"Gift of Ksh200.00 bought for {local(LUCKY)}"
    )
    code = gift_code(served, LUCKY, last_sms)
    assert code not in giver.page.locator("body").inner_text()  # only the recipient has it

    lucky.tab("Gift").click()
    used = lucky.page.locator("#gift-use")
    used.get_by_label("Gift code (from the SMS)").fill(code)
    expect(used.get_by_label("Into my wallet")).to_be_checked()
    used.get_by_label("PIN").fill(PIN)
    used.get_by_role("button", name="Use the gift").click()
    expect(lucky.page.locator("#gift-done")).to_contain_text(
        "Gift of Ksh200.00 is in your wallet. Receipt "
    )
    assert balance(served, LUCKY) == before + 20_000
    # The same code a second time: refused with its reason, no money moves.
    used.get_by_label("Gift code (from the SMS)").fill(code)
    used.get_by_label("PIN").fill(PIN)
    used.get_by_role("button", name="Use the gift").click()
    expect(lucky.refusal("gift")).to_have_attribute("data-code", "voucher_not_found")
    assert balance(served, LUCKY) == before + 20_000
    assert books_unbalanced(served) == []
