"""What mkoba says to people, in English and Swahili, in M-Pesa's style.

Every template exists in both languages with the same placeholders (checked at
import). Texts live in modules by owner: ``templates`` (the core products),
``products`` (the other products), ``requests`` (money requests, split bills,
gift vouchers), ``business`` and ``channels`` (USSD and SMS channel replies), ``risk``
(a step-up confirmed by a code).
Amounts and dates arrive already formatted, times in a neutral 24-hour form that
each language words its own way (``clock``); rendering is
substitution, cheap enough to do inside the commit that moves the money. A text
is wholly in its language: Swahili ones name times in Swahili time, never AM/PM.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from mkoba.messages import business, channels, clock, products, requests, risk, templates

TEMPLATES: dict[str, dict[str, str]] = {}
for _module in (templates, products, channels, business, requests, risk):
    for _name, _texts in _module.TEMPLATES.items():
        assert _name not in TEMPLATES, f"template {_name} is defined twice"
        TEMPLATES[_name] = _texts

LANGUAGES = ("en", "sw")


def render(template: str, language: str, params: Mapping[str, str]) -> str:
    """The text of ``template`` in ``language`` (English when it has none) with ``params``."""
    texts = TEMPLATES[template]
    if language not in texts:
        language = "en"
    return texts[language].format_map(clock.worded(params, language))


def placeholders(text: str) -> frozenset[str]:
    """The names a template text substitutes."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def _check() -> None:
    for name, texts in TEMPLATES.items():
        assert set(texts) == set(LANGUAGES), f"{name}: needs {LANGUAGES}"
        assert placeholders(texts["en"]) == placeholders(texts["sw"]), name


_check()
