"""Every text is wholly in its party's language, and says the time as that language does.

A Swahili SMS said "tarehe 05/12/26 at 12:28 AM". Every template and every USSD
screen is rendered here in every language, at times across the whole day, with
values formatted as the processor formats them; a Swahili text must keep no
English connector word and no AM/PM, and name the time in Swahili time.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import pytest
import yaml

from mkoba.messages import LANGUAGES, TEMPLATES, placeholders, render
from mkoba.messages.clock import date_time_in, time_in

# English words that have no place in a Swahili sentence (the connectors a half-
# translated text keeps), and the 12-hour clock's marks.
ENGLISH = re.compile(
    r"\b(at|on|to|from|for|by|of|and|the|is|in|with|your|you|has|was|will|new|no|not|or"
    r"|are|AM|PM)\b|[ap]\.m\.",
    re.IGNORECASE,
)
# Values as the processor gives them: times neutral (24-hour), the rest formatted.
VALUES = {
    "ticket": "14503",
    "due": "06/12/26 10:15",
    "tier": "basic",
    "account": "ACC-2231",
    "agent": "MAMA MBOGA 1",
    "agent_number": "123456",
    "amount": "Ksh1,250.00",
    "balance": "Ksh12,480.50",
    "business": "KPLC",
    "code": "482913",
    "date": "05/12/26",
    "expires": "12/12/26",
    "fee": "Ksh13.00",
    "msisdn": "0712345678",
    "name": "WANJIKU KAMAU",
    "number": "888880",
    "original": "UKN3QX7T2B",
    "pin": "8024",
    "reference": "FT26327ABCD",
    "receipt": "UKO1CZ2IBW",
    "reversal": "456",
    "voucher": "VC7Q2M",
    "email": "w***@example.com",
    "start": "2026-11-06",
    "end": "2026-12-05",
    "minutes": "10",
    "tries": "3",
    "left": "2",
    "password": "K7MXQ2PA",
    "party_id": "1042",
    "total": "Ksh3,000.00",
    "gift": "UKO1CZ2IBW",
    "note": '"Chakula cha mchana" ',
}
# A refusal's reason arrives in the party's language (channels/sms/inbound.py).
REASONS = {"en": "There is no such transaction.", "sw": "Muamala huo haupo."}
# What staff write to a customer, in the customer's language.
RESOLUTIONS = {"en": "The money was sent back to you.", "sw": "Pesa zimerudishwa kwako."}
# (24-hour, English, Swahili): every part of the Swahili day, and both ends of it.
TIMES = [
    ("00:28", "12:28 AM", "6:28 usiku"),
    ("03:59", "3:59 AM", "9:59 usiku"),
    ("04:45", "4:45 AM", "10:45 alfajiri"),
    ("06:00", "6:00 AM", "12:00 asubuhi"),
    ("08:15", "8:15 AM", "2:15 asubuhi"),
    ("12:00", "12:00 PM", "6:00 mchana"),
    ("16:05", "4:05 PM", "10:05 jioni"),
    ("18:59", "6:59 PM", "12:59 jioni"),
    ("19:00", "7:00 PM", "1:00 usiku"),
    ("23:59", "11:59 PM", "5:59 usiku"),
]
CASES = [(name, language) for name in sorted(TEMPLATES) for language in LANGUAGES]


def _values(language: str, neutral: str) -> dict[str, str]:
    return {
        **VALUES,
        "reason": REASONS[language],
        "resolution": RESOLUTIONS[language],
        "time": neutral,
        "sent": f"04/12/26 {neutral}",
    }


@pytest.mark.parametrize(("template", "language"), CASES)
def test_every_template_says_the_time_in_its_language(template: str, language: str) -> None:
    names = placeholders(TEMPLATES[template][language])
    for neutral, english, swahili in TIMES:
        values = _values(language, neutral)
        text = render(template, language, {name: values[name] for name in names})
        clock = {"en": f"at {english}", "sw": f"saa {swahili}"}[language]
        if "time" in names:
            assert clock in text, text
        if "sent" in names:
            assert f"04/12/26 {clock}" in text, text
        if language == "sw":
            assert ENGLISH.search(text) is None, text


def _menu_texts() -> list[tuple[str, str, str]]:
    """(menu, language, text) of every text of every shipped USSD menu."""
    found = []

    def walk(node: object, menu: str) -> None:
        if isinstance(node, dict):
            if set(LANGUAGES) <= set(node) and all(isinstance(node[k], str) for k in LANGUAGES):
                found.extend((menu, language, node[language]) for language in LANGUAGES)
            for value in node.values():
                walk(value, menu)
        elif isinstance(node, list):
            for value in node:
                walk(value, menu)

    folder = resources.files("mkoba.channels.ussd").joinpath("menus")
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            walk(yaml.safe_load(entry.read_text("utf-8")), entry.name)
    return found


MENU_TEXTS = _menu_texts()


def test_the_menus_were_read() -> None:
    menus = {menu for menu, _, _ in MENU_TEXTS}
    assert {"customer.v1.yaml", "agent.v1.yaml", "merchant.v1.yaml"} <= menus
    assert len(MENU_TEXTS) > 100


def test_every_swahili_ussd_screen_is_in_swahili() -> None:
    # Option labels that name a language are the one place where English stays.
    english = [
        (menu, text)
        for menu, language, text in MENU_TEXTS
        if language == "sw" and text != "English" and ENGLISH.search(text)
    ]
    assert english == []


def test_the_agent_commission_screen_has_a_swahili_text() -> None:
    """A request with no text of its own shows the product's words, which are English."""
    definition = yaml.safe_load(
        resources.files("mkoba.channels.ussd").joinpath("menus", "agent.v1.yaml").read_text("utf-8")
    )
    requests = [
        screen["request"]
        for screen in definition["screens"].values()
        if "request" in screen and screen["request"]["product"] == "commission_statement"
    ]
    assert requests
    for request in requests:
        assert "kamisheni" in request["done"]["sw"]


@pytest.mark.parametrize("minute", range(0, 24 * 60, 7))
def test_each_minute_of_the_day_in_both_clocks(minute: int) -> None:
    moment = dt.datetime(2026, 12, 5, minute // 60, minute % 60)
    neutral = f"{moment:%H:%M}"

    # English is M-Pesa's, as it was before times were neutral.
    assert time_in("en", neutral) == moment.strftime("%I:%M %p").lstrip("0")
    swahili = time_in("sw", neutral)
    hour, rest = swahili.split(":")
    assert 1 <= int(hour) <= 12
    assert rest[:2] == neutral[3:]
    assert rest[3:] in {"usiku", "alfajiri", "asubuhi", "mchana", "jioni"}
    # Swahili hours count from 06:00 (saa 12 at sunrise, saa 1 an hour later).
    assert (int(hour) + 6) % 12 == moment.hour % 12
    assert date_time_in("sw", f"05/12/26 {neutral}") == f"05/12/26 saa {swahili}"


def test_a_value_not_in_the_neutral_form_is_left_alone() -> None:
    assert time_in("sw", "soon") == "soon"
    assert date_time_in("sw", "05/12/26") == "05/12/26"
