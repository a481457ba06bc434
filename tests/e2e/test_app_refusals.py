"""The web app's refusals in a real browser: each shown with its reason, and no money moved.

Method: as ``test_app.py`` (a real ``mkoba serve``, phones as Chromium contexts,
enrolled through the page); here the payer pastes the code's text, the app's
fallback when there is no camera. Balances are asked over the native API before and
after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.channels.app.payloads import with_crc
from tests.channels.serving import Served, serve
from tests.e2e.phones import Phones, balance, books_unbalanced, inbox_last, local, sms_code

SELLER, BUYER = "254712000021", "254712000022"
LATE_SELLER, LATE_BUYER = "254712000025", "254712000026"
# A dynamic code's life on the short-lived server (it has no setting; 300 s otherwise).
code_life_s = 4
OWNER, FORGETFUL, LEAVER = "254712000023", "254712000024", "254712000027"
HONEST, CHEAT, TWO_TABS = "254712000028", "254712000029", "254712000030"
SWAHILI = "254712000031"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("app-refusals")) as server:
        yield server


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose dynamic codes live seconds, not minutes (the same code otherwise)."""
    folder = tmp_path_factory.mktemp("app-short")
    with serve(folder, app_code_life_s=str(code_life_s)) as server:
        yield server


@pytest.fixture
def phones(served: Served) -> Iterator[Phones]:
    held = Phones(served)
    yield held
    held.close()


def test_a_wrong_pin_pays_nothing_and_a_code_pays_only_once(
    browser: Browser, served: Served, phones: Phones
) -> None:
    seller = phones.enrolled(browser, SELLER)
    buyer = phones.enrolled(browser, BUYER)
    before = {number: balance(served, number) for number in (SELLER, BUYER)}
    payload = seller.receive("42.50", "CHAI")

    buyer.read_pasted(payload)
    expect(buyer.page.locator("#pay-amount-fixed")).to_have_text("Ksh42.50")
    buyer.confirm("9999")
    refusal = buyer.refusal("pay")
    expect(refusal).to_have_text("Wrong PIN.")
    expect(refusal).to_have_attribute("data-code", "wrong_pin")
    assert {number: balance(served, number) for number in (SELLER, BUYER)} == before

    # The same code, the right PIN: paid once.
    buyer.confirm("1357")
    expect(buyer.page.locator("#pay-receipt")).to_be_visible()
    expect(seller.page.locator("#receive-paid")).to_contain_text("Ksh42.50")
    after = {number: balance(served, number) for number in (SELLER, BUYER)}
    assert after[SELLER] == before[SELLER] + 4_250

    # Again, in Swahili: refused with its reason in Swahili, and nothing moves.
    buyer.page.get_by_role("button", name="Pay someone else").click()
    buyer.page.get_by_role("button", name="Change language").click()
    expect(buyer.tab("Lipa")).to_be_visible()
    buyer.page.get_by_label("Au bandika maandishi ya msimbo").fill(payload)
    buyer.page.get_by_role("button", name="Soma").click()
    expect(buyer.refusal("pay")).to_have_attribute("data-code", "qr_paid")
    expect(buyer.refusal("pay")).to_have_text("Msimbo huu umeshalipwa.")
    # Refused on reading: the PIN is never asked for a code that cannot be paid.
    expect(buyer.page.locator("#pay-confirm")).to_be_hidden()
    assert {number: balance(served, number) for number in (SELLER, BUYER)} == after
    assert books_unbalanced(served) == []


def test_a_phone_set_up_again_elsewhere_ends_the_old_binding(
    browser: Browser, served: Served, phones: Phones
) -> None:
    old = phones.enrolled(browser, OWNER)
    new = phones.enrolled(browser, OWNER)
    # The old phone hears it by itself (its notices stream ends) and asks to be set up again.
    expect(old.page.locator("#screen-enrol")).to_be_visible(timeout=15_000)
    expect(old.refusal("enrol")).to_have_attribute("data-code", "binding_ended")
    expect(old.refusal("enrol")).to_contain_text("Set it up again")
    # The new one works.
    new.tab("Receive").click()
    expect(new.page.get_by_role("button", name="Show my code")).to_be_visible()


def test_a_typed_amount_becomes_cents_or_is_refused(
    browser: Browser, served: Served, phones: Phones
) -> None:
    typed = {
        "150": 15_000,
        "1,500.5": 150_050,
        "Ksh 99.99": 9_999,
        "0.01": 1,
        "0": None,
        "1.234": None,
        "-5": None,
        "1e3": None,
        "12,34": None,
        "": None,
    }
    page = phones.open(browser, OWNER).page
    parsed = page.evaluate(
        """async texts => { const money = await import('./js/money.js');
                            return Object.fromEntries(texts.map(t => [t, money.parse(t)])); }""",
        list(typed),
    )
    assert parsed == typed


def test_five_wrong_sms_codes_end_the_enrolment(
    browser: Browser, served: Served, phones: Phones
) -> None:
    phone = phones.open(browser, FORGETFUL)
    page = phone.page
    before = inbox_last(served, FORGETFUL)
    page.get_by_label("Your phone number").fill(local(FORGETFUL))
    page.get_by_role("button", name="Send me a code").click()
    right = sms_code(served, FORGETFUL, before)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        page.get_by_label("Code from the SMS").fill(wrong)
        page.locator("#enrol-pin").fill("1357")
        page.get_by_role("button", name="Confirm").click()
        expect(phone.refusal("enrol")).to_have_text(f"Wrong code. Tries left: {tries_left}.")
    page.get_by_label("Code from the SMS").fill(wrong)
    page.locator("#enrol-pin").fill("1357")
    page.get_by_role("button", name="Confirm").click()
    expect(phone.refusal("enrol")).to_have_attribute("data-code", "otp_attempts")
    # The enrolment is dead: the phone is back at its number, not bound.
    expect(page.get_by_label("Your phone number")).to_be_visible()
    expect(page.locator("#tabs")).to_be_hidden()


def test_an_expired_code_is_refused_and_pays_nothing(browser: Browser, short_lived: Served) -> None:
    held = Phones(short_lived)
    try:
        seller = held.enrolled(browser, LATE_SELLER)
        buyer = held.enrolled(browser, LATE_BUYER)
        before = {n: balance(short_lived, n) for n in (LATE_SELLER, LATE_BUYER)}
        payload = seller.receive("20", "LATE")
        # The payee's phone counts down, then stops showing the code.
        countdown = seller.page.locator("#receive-countdown")
        expect(countdown).to_have_text("This code has expired.", timeout=(code_life_s + 3) * 1000)
        expect(seller.page.locator("#receive-qr")).to_be_hidden()
        buyer.read_pasted(payload)
        expect(buyer.refusal("pay")).to_have_attribute("data-code", "qr_expired")
        expect(buyer.refusal("pay")).to_have_text(
            "This code has expired. Ask the payee for a new one."
        )
        expect(buyer.page.locator("#pay-confirm")).to_be_hidden()
        assert {n: balance(short_lived, n) for n in (LATE_SELLER, LATE_BUYER)} == before
    finally:
        held.close()


def test_forgetting_the_phone_ends_its_binding_on_the_server(
    browser: Browser, served: Served, phones: Phones
) -> None:
    phone = phones.enrolled(browser, LEAVER)
    page = phone.page
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_text("This phone", exact=True).click()
    page.get_by_role("button", name="Forget this phone").click()
    expect(page.locator("#screen-enrol")).to_be_visible()
    expect(page.locator("#tabs")).to_be_hidden()
    rows = served.rows("SELECT state, reason FROM app_devices WHERE msisdn = ?", (LEAVER,))
    assert rows == [("ended", "unbind")]
    # Nothing of the binding is left in the browser: opening the app again asks to enrol.
    page.reload()
    expect(page.locator("#screen-enrol")).to_be_visible()
    kept = page.evaluate(
        """() => new Promise(done => {
             const open = indexedDB.open("mkoba");
             open.onsuccess = () => {
               const store = open.result.transaction("device").objectStore("device");
               const keys = store.getAllKeys();
               keys.onsuccess = () => done(keys.result);
             };
           })"""
    )
    assert kept == []


def test_an_altered_code_is_refused_before_the_pin(
    browser: Browser, served: Served, phones: Phones
) -> None:
    honest = phones.enrolled(browser, HONEST)
    cheat = phones.enrolled(browser, CHEAT)
    before = {n: balance(served, n) for n in (HONEST, CHEAT)}
    payload = honest.receive("500", "TV")
    # The amount lowered and the CRC recomputed, as someone altering a shown code would.
    cheaper = with_crc(payload.replace("5406500.00", "540510.00"))
    assert "540510.00" in cheaper
    cheat.read_pasted(cheaper)
    expect(cheat.refusal("pay")).to_have_attribute("data-code", "qr_tampered")
    expect(cheat.refusal("pay")).to_have_text(
        "This code was altered (amount, payee or reference). Do not pay it."
    )
    expect(cheat.page.locator("#pay-confirm")).to_be_hidden()
    # A misread character (the CRC not recomputed) says to scan again.
    cheat.page.get_by_label("Or paste the code's text").fill(payload.replace("NAIROBI", "NAIROBX"))
    cheat.page.get_by_role("button", name="Read").click()
    expect(cheat.refusal("pay")).to_have_attribute("data-code", "qr_checksum")
    expect(cheat.refusal("pay")).to_have_text("The code was misread or altered. Scan it again.")
    assert {n: balance(served, n) for n in (HONEST, CHEAT)} == before


def test_two_tabs_of_one_phone_never_refuse_each_others_counters(
    browser: Browser, served: Served, phones: Phones
) -> None:
    first = phones.enrolled(browser, TWO_TABS)
    second = first.page.context.new_page()  # the same phone: one IndexedDB, one device key
    # 150 requests from each tab at once: without the app's Web Lock some counters arrive
    # out of order here (counter_replayed); with it, none.
    second.goto(f"{served.url}/app/")
    expect(second.locator("#screen-home")).to_be_visible()
    start = """() => { window.asked = (async () => {
                 const api = await import('./js/api.js');
                 const answers = await Promise.allSettled(
                   Array.from({length: 150}, () => api.signed('GET', '/me')));
                 return answers.map(a => a.status === 'fulfilled' ? 'ok' : a.reason.code);
               })(); }"""
    for page in (first.page, second):
        page.evaluate(start)
    answers = [page.evaluate("() => window.asked") for page in (first.page, second)]
    assert answers == [["ok"] * 150, ["ok"] * 150]


def test_a_swahili_phone_opens_the_app_in_swahili(
    browser: Browser, served: Served, phones: Phones
) -> None:
    phone = phones.open(browser, SWAHILI, locale="sw-KE")
    page = phone.page
    expect(page.get_by_role("heading", name="Sajili simu hii")).to_be_visible()
    before = inbox_last(served, SWAHILI)
    page.get_by_label("Nambari yako ya simu").fill(local(SWAHILI))
    page.get_by_role("button", name="Nitumie msimbo").click()
    code = sms_code(served, SWAHILI, before)
    page.get_by_label("Msimbo kutoka kwenye SMS").fill(code)
    page.locator("#enrol-pin").fill("0000")
    page.get_by_role("button", name="Thibitisha").click()
    expect(phone.refusal("enrol")).to_have_attribute("data-code", "wrong_pin")
    expect(phone.refusal("enrol")).to_have_text("PIN si sahihi.")
    # The code stays good for a moment after a wrong PIN: the right PIN binds the phone.
    page.locator("#enrol-pin").fill("1357")
    page.get_by_role("button", name="Thibitisha").click()
    expect(phone.tab("Mwanzo")).to_be_visible()
    expect(page.get_by_role("button", name="Salio na taarifa fupi")).to_be_visible()
