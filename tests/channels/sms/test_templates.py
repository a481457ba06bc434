"""Every message text, rendered in English and Swahili with realistic values, in M-Pesa's style.

Texts come from their owners (messages/templates.py, products.py, requests.py, ...);
this checks them all: both languages render with the same values, stay in
GSM-7 (so an SMS holds 160 characters, not 70), fit a few SMS (a USSD text one
screen), and confirmations read like M-Pesa's: the transaction code first,
"Confirmed.", the amount, the date and time, the new balance and the cost.
"""

from __future__ import annotations

import pytest

from mkoba.channels.sms import encoding
from mkoba.messages import LANGUAGES, TEMPLATES, gsm7, placeholders, render

# Realistic values, formatted as the processor formats them (times in the neutral 24-hour
# form that each language words: messages/clock.py).
VALUES = {
    "ticket": "14503",
    "due": "06/12/26 10:15",
    "resolution": "The money was sent back to you.",
    "tier": "basic",
    "tries": "3",
    "left": "2",
    "account": "ACC-2231",
    "agent": "MAMA SHOP 1",
    "agent_number": "123456",
    "amount": "Ksh1,250.00",
    "balance": "Ksh12,480.50",
    "business": "KENYA POWER",
    "code": "482913",
    "date": "24/11/26",
    "expires": "01/12/26",
    "fee": "Ksh13.00",
    "msisdn": "0712345678",
    "name": "WANJIKU KAMAU",
    "number": "888880",
    "original": "UKN3QX7T2B",
    "pin": "8024",
    "reason": "There is no such transaction.",
    "reference": "FT26327ABCD",
    "receipt": "UKO1CZ2IBW",
    "reversal": "456",
    "sent": "23/11/26 18:05",
    "time": "09:15",
    "voucher": "VC7Q2M",
    "minutes": "10",
    "email": "wanjiku.kamau@example.co.ke",
    "party_id": "1042",
    "start": "01/11/26",
    "end": "30/11/26",
    "password": "K7mQ2xPa",
    "total": "Ksh3,000.00",
    "gift": "UKO1CZ2IBW",
    "note": '"Lunch at the cafeteria" ',
}
# SMS texts may take up to this many parts; a USSD text is one screen.
sms_parts_max = 3
CONFIRMED = {"en": "Confirmed.", "sw": "Imethibitishwa."}
COST = {"en": "cost", "sw": "Gharama"}
BALANCE = {"en": "balance", "sw": "alio"}  # Salio / salio


def _value(name: str) -> str:
    assert name in VALUES, f"add a realistic value for {{{name}}} to this test"
    return VALUES[name]


CASES = [(name, language) for name in sorted(TEMPLATES) for language in LANGUAGES]


@pytest.mark.parametrize(("template", "language"), CASES)
def test_every_text_renders_in_gsm7_and_fits(template: str, language: str) -> None:
    text = TEMPLATES[template][language]
    values = {name: _value(name) for name in placeholders(text)}
    rendered = render(template, language, values)
    assert "{" not in rendered and "}" not in rendered
    assert rendered == rendered.strip() and "  " not in rendered
    assert gsm7.is_gsm7(rendered), f"{template}/{language} would go out as UCS-2"
    if template.startswith("ussd."):
        assert gsm7.septets(rendered) <= 160
    else:
        assert len(encoding.parts(rendered)) <= sms_parts_max


CONFIRMATIONS = [
    (name, language)
    for name, language in CASES
    if TEMPLATES[name]["en"].startswith("{receipt} ")
    and "date" in placeholders(TEMPLATES[name]["en"])
]


def test_there_are_confirmations_for_the_core_products() -> None:
    names = {name for name, _ in CONFIRMATIONS}
    assert {
        "send_money.payer",
        "send_money.payee",
        "withdraw.customer",
        "deposit.customer",
    } <= names


@pytest.mark.parametrize(("template", "language"), CONFIRMATIONS)
def test_confirmations_read_like_m_pesas(template: str, language: str) -> None:
    text = TEMPLATES[template][language]
    names = placeholders(text)
    rendered = render(template, language, {name: _value(name) for name in names})
    assert rendered.startswith(f"{VALUES['receipt']} {CONFIRMED[language]}")
    assert {"date", "time"} <= names
    if "amount" in names:
        assert VALUES["amount"] in rendered
    if "balance" in names:
        assert BALANCE[language] in rendered
    if "fee" in names:
        assert COST[language] in rendered and VALUES["fee"] in rendered


def test_both_languages_say_different_things() -> None:
    same = [
        name
        for name, texts in TEMPLATES.items()
        if texts["en"] == texts["sw"] and len(texts["en"]) > 20
    ]
    assert same == []
