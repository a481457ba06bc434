"""Phones holding the web app at ``/app``: a browser context each, driven as a person would.

A phone enrols with its number, the code the SMS brought (read from the simulated
handset's inbox, as the phone's owner reads it) and the wallet PIN; then it shows
codes, reads them (camera or pasted text) and pays. Nothing here calls the app's API
itself: everything goes through the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.channels.serving import Served

PIN = "1357"  # every demo customer's PIN (mkoba/demo/seed.py)
PHONE_SIZE = {"width": 390, "height": 844}
_SMS_WAIT_S = 20.0


def local(msisdn: str) -> str:
    """The number as a Kenyan types it: 07..."""
    return "0" + msisdn.removeprefix("254")


def inbox_last(served: Served, msisdn: str) -> int:
    """The id of the last SMS the number's handset holds (0 when none)."""
    answer = httpx.get(f"{served.url}/api/v1/sms/{msisdn}", auth=served.handsets, timeout=10)
    assert answer.status_code == 200, answer.text
    messages = answer.json()["messages"]
    return int(messages[-1]["id"]) if messages else 0


def sms_code(served: Served, msisdn: str, after: int) -> str:
    """The one-time code of the first SMS after message ``after``."""
    answer = httpx.get(
        f"{served.url}/api/v1/sms/{msisdn}",
        params={"after": after, "wait": _SMS_WAIT_S},
        auth=served.handsets,
        timeout=_SMS_WAIT_S + 10,
    )
    assert answer.status_code == 200, answer.text
    for message in answer.json()["messages"]:
        found = re.search(r"\b(\d{6})\b", message["text"])
        if found:
            return found.group(1)
    raise AssertionError(f"no code in the SMS to {msisdn}: {answer.json()['messages']}")


@dataclass
class Phone:
    """One phone: a browser context on the app, and whose number it is."""

    served: Served
    msisdn: str
    page: Page

    @classmethod
    def open(cls, browser: Browser, served: Served, msisdn: str, **options: object) -> Phone:
        """A new phone (browser context) with the app open on its first screen."""
        context: BrowserContext = browser.new_context(viewport=PHONE_SIZE, **options)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"{served.url}/app/")
        expect(page.locator("body[data-ready='1']")).to_have_count(1)
        return cls(served, msisdn, page)

    def enrol(self, pin: str = PIN) -> None:
        """Set the phone up: number, the SMS code, the PIN; it lands on its home screen."""
        page = self.page
        before = inbox_last(self.served, self.msisdn)
        page.get_by_label("Your phone number").fill(local(self.msisdn))
        page.get_by_role("button", name="Send me a code").click()
        code = sms_code(self.served, self.msisdn, before)
        page.get_by_label("Code from the SMS").fill(code)
        page.locator("#enrol-pin").fill(pin)
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator("#screen-home")).to_be_visible()
        expect(page.locator("#home-name")).not_to_be_empty()

    @property
    def name(self) -> str:
        """The name the server gave this phone's owner at enrolment."""
        return self.page.locator("#home-name").inner_text()

    def receive(self, amount: str, reference: str) -> str:
        """Ask for a dynamic code and show it; answers its payload (the text in the QR)."""
        page = self.page
        self.tab("Receive").click()
        screen = page.locator("#screen-receive")
        screen.get_by_label("Amount (Ksh)").fill(amount)
        screen.get_by_label("Reference").fill(reference)
        screen.get_by_role("button", name="Show my code").click()
        expect(page.locator("#receive-qr")).to_be_visible()
        payload = page.locator("#receive-payload").text_content()
        assert payload, "the code shows no payload"
        return payload

    def read_pasted(self, payload: str) -> None:
        """On the pay screen, paste a code's text and read it."""
        page = self.page
        self.tab("Pay").click()
        page.get_by_label("Or paste the code's text").fill(payload)
        page.get_by_role("button", name="Read").click()

    def confirm(self, pin: str) -> None:
        """Type the PIN on the payment screen and pay."""
        self.page.locator("#pay-pin").fill(pin)
        self.page.locator("#pay-confirm").get_by_role("button", name="Pay").click()

    def close(self) -> None:
        """Put the phone away (its notices stream ends with its context)."""
        self.page.context.close()

    def tab(self, name: str) -> Locator:
        """The tab ``name`` of the bar under the title (Home, Receive, Pay, Notices)."""
        return self.page.locator("#tabs").get_by_role("button", name=name, exact=True)

    def refusal(self, screen: str) -> Locator:
        """The refusal box of ``screen`` (enrol, home, receive, pay)."""
        return self.page.locator(f"#screen-{screen} .refusal")


def balance(served: Served, msisdn: str, pin: str = PIN) -> int:
    """The wallet's balance in cents, asked over the native API as any channel may."""
    answer = httpx.post(
        f"{served.url}/api/v1/balance", json={"msisdn": msisdn, "pin": pin}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["data"]["balance_minor"])


def books_unbalanced(served: Served) -> list[tuple[object, ...]]:
    """The ledgers (and currencies) whose debits and credits differ, posted or pending."""
    return served.rows(
        "SELECT ledger, currency, SUM(debits_posted) - SUM(credits_posted),"
        " SUM(debits_pending) - SUM(credits_pending) FROM ledger_accounts"
        " GROUP BY ledger, currency HAVING SUM(debits_posted) <> SUM(credits_posted)"
        " OR SUM(debits_pending) <> SUM(credits_pending)"
    )


class Phones:
    """The phones a test holds on one server; ``close`` puts them all away."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.held: list[Phone] = []

    def open(self, browser: Browser, msisdn: str, **options: object) -> Phone:
        """A new phone with the app open."""
        phone = Phone.open(browser, self.served, msisdn, **options)
        self.held.append(phone)
        return phone

    def enrolled(self, browser: Browser, msisdn: str, **options: object) -> Phone:
        """A new phone, set up."""
        phone = self.open(browser, msisdn, **options)
        phone.enrol()
        return phone

    def close(self) -> None:
        """Close every phone's context: no notices stream is left open on the server."""
        for phone in self.held:
            phone.close()
        self.held.clear()
