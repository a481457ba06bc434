"""Menu definitions are checked before they serve: every shipped one passes, bad ones say why."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mkoba.channels.ussd import definition, screens
from mkoba.channels.ussd.definition import MenuError, load, parse, screen_chars_max
from mkoba.channels.ussd.library import SHIPPED, Library
from mkoba.messages import gsm7
from mkoba.products import all_products

MENUS = sorted(SHIPPED.glob("*.yaml"))
# Values as long as real ones get: a long masked name, the largest amounts.
LONG_VALUES = {
    "name": "WANJIKUMWANGI N****** W******* K******",
    "masked": "0712***678",
    "amount_text": "Ksh250,000.00",
    "to_text": "0712345678",
    "msisdn_text": "0712345678",
    "agent": "123456",
    "store": "12",
    "account": "ABCDEFGHIJ0123456789",
    "paybill": "888880",
    "till": "300100",
    "balance_text": "Ksh499,999.99",
    "message": "x" * 300,
}


def _raw(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_shipped_menu_loads_for_each_role() -> None:
    library = Library([])
    for role in definition.ROLES:
        menu = library.current(role)
        assert menu.role == role
        assert set(menu.languages) == {"en", "sw"}
    # Each role's current version and the versions before it, which live sessions keep.
    assert len(MENUS) == 9
    assert {role: library.current(role).version for role in definition.ROLES} == {
        "customer": 4,
        "agent": 2,
        "agent_assistant": 2,
        "merchant": 1,
    }


def test_menus_only_offer_products_that_exist() -> None:
    offered = set(all_products())
    assert "name_lookup" in offered  # Hakikisha
    for path in MENUS:
        load(path, products=offered)  # refuses a menu naming an unknown product


@pytest.mark.parametrize("path", MENUS, ids=lambda p: p.name)
def test_every_screen_fits_a_handset_in_both_languages(path: Path) -> None:
    menu = load(path)
    for screen_id, screen in menu.screens.items():
        for language in menu.languages:
            texts = []
            if screen.ask is not None:
                texts.append(screens.fill(screen.ask[language], LONG_VALUES) + "\n0 Back 00 Home")
            if screen.menu is not None:
                options = [
                    (menu.option_key(screen, i), o.label[language])
                    for i, o in enumerate(screen.options)
                ]
                texts.extend(screens.pages(screen.menu[language], options, "0 Back 00 Home", "98"))
            if screen.request is not None and screen.request.done is not None:
                texts.append(screens.cut(screens.fill(screen.request.done[language], LONG_VALUES)))
            for text in texts:
                fitted = screens.fit(text)
                assert gsm7.is_gsm7(fitted), (screen_id, language)
                assert gsm7.septets(fitted) <= screen_chars_max, (screen_id, language, fitted)


def test_a_screen_too_long_is_cut_where_it_keeps_the_question() -> None:
    text = screens.fill(
        "Send {amount_text} to {name} {to_text}?" * 5 + "\nEnter M-PESA PIN", LONG_VALUES
    )
    fitted = screens.fit(text)
    assert gsm7.septets(text) > screen_chars_max
    assert gsm7.septets(fitted) == screen_chars_max
    assert fitted.endswith("...\nEnter M-PESA PIN")


def _customer() -> dict[str, Any]:
    return copy.deepcopy(_raw(SHIPPED / "customer.v1.yaml"))


def _problems(raw: dict[str, Any]) -> str:
    with pytest.raises(MenuError) as refused:
        parse(raw, "test.yaml")
    return str(refused.value)


def test_a_screen_in_one_language_only_is_refused() -> None:
    raw = _customer()
    raw["screens"]["send.to"]["ask"] = {"en": "Enter phone no."}
    assert "screens.send.to.ask: needs exactly the languages ['en', 'sw']" in _problems(raw)


def test_a_link_to_nowhere_and_an_unreachable_screen_are_refused() -> None:
    raw = _customer()
    raw["screens"]["send.to"]["next"] = "send.nowhere"
    problems = _problems(raw)
    assert "send.to: goes to 'send.nowhere', which is not a screen" in problems
    assert "cannot be reached" in problems


def test_a_pin_can_never_be_shown_on_a_screen() -> None:
    raw = _customer()
    raw["screens"]["send.do"]["request"]["done"]["en"] = "Sent with PIN {pin}"
    raw["screens"]["send.do"]["request"]["done"]["sw"] = "Imetumwa PIN {pin}"
    assert "unknown placeholders ['pin']" in _problems(raw)


def test_a_pin_is_asked_only_right_before_its_request() -> None:
    raw = _customer()
    raw["screens"]["send.pin"]["next"] = "send.amount"
    assert "a PIN is asked right before its request" in _problems(raw)


def test_texts_must_be_gsm7_and_fit_a_screen() -> None:
    raw = _customer()
    raw["screens"]["send.to"]["ask"] = {"en": "Weka nambari 📱", "sw": "x" * 161}
    problems = _problems(raw)
    assert "send.to.ask.en: has characters outside GSM-7" in problems
    assert "send.to.ask.sw: longer than 160 characters" in problems


def test_options_may_not_take_the_navigation_keys() -> None:
    raw = _customer()
    raw["screens"]["main"]["options"][0]["key"] = "98"
    assert "may not use the keys" in _problems(raw)


def test_a_screen_is_exactly_one_kind() -> None:
    raw = _customer()
    raw["screens"]["send.to"]["say"] = {"en": "x", "sw": "y"}
    assert "a screen is one of menu, ask, lookup, request, say" in _problems(raw)


def test_unknown_products_are_refused_when_the_registry_is_given() -> None:
    raw = _customer()
    with pytest.raises(MenuError, match="no product 'pay_bill'"):
        parse(raw, "test.yaml", products={"send_money", "name_lookup"})


def test_the_library_serves_the_highest_version_and_refuses_bad_files(tmp_path: Path) -> None:
    text = (SHIPPED / "agent.v1.yaml").read_text(encoding="utf-8")
    (tmp_path / "agent.v7.yaml").write_text(text.replace("version: 1", "version: 7"))
    (tmp_path / "agent.v8.yaml").write_text(text.replace("version: 1", "version: 9"))
    (tmp_path / "agent.v9.yaml").write_text("role: agent\nversion: 9\nscreens: {}\n")
    (tmp_path / "notes.txt").write_text("not a menu")
    library = Library([tmp_path])
    assert library.versions("agent") == [1, 2, 7]
    assert library.current("agent").version == 7
    assert any("agent.v8.yaml: says agent v9 inside" in p for p in library.problems)
    assert any("agent.v9.yaml" in p for p in library.problems)
    assert library.refresh() is False  # nothing changed since
    (tmp_path / "agent.v7.yaml").unlink()
    assert library.refresh() is True
    # A version once loaded keeps serving (sessions may hold it) until restart.
    assert library.current("agent").version == 7


def test_a_request_sends_exactly_its_products_command_fields() -> None:
    # A menu cannot build a request its product's command would refuse at the edge.
    raw = _customer()
    raw["screens"]["send.do"]["request"]["params"] = {"recipient": "{to}", "amount": "{amount}"}
    problems = _problems(raw)
    assert "send.do: params.recipient: send_money has no field 'recipient'" in problems
    assert "send.do: params: send_money needs 'to'" in problems
    raw["screens"]["send.do"]["request"]["params"] = {"to": "{to}", "amount_minor": "{amount}"}
    assert parse(raw, "test.yaml").screen("send.do").request is not None
