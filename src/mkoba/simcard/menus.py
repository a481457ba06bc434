"""A role's menu as the SIM stores it: the USSD definition, compact, binary, strictly read.

The SIM runs the same menu data the USSD channel serves (one definition per
role and version, ``GET /ussd/menus/{role}``'s JSON document); what it stores
is that definition cut to what a SIM needs to show the screens and build the
applet's request, in a few kilobytes:

- the role, the **version** (the definition's own ``version``: it is what the
  applet's request reports, so it must fit the request's two bytes), the
  languages, and the start screen;
- each screen (ids become indexes, in the ids' sorted order), one of:
  ``menu`` (its title and options: key, label, next screen, values it sets),
  ``ask`` (the prompt, the field the answer fills, its check, ``same_as``
  for a PIN confirmation, the next screen), ``request`` (the product, the
  fields it takes as templates over the answers, which fields hold the PIN and
  the new PIN) and ``say`` (a final text). A Hakikisha ``lookup`` becomes a
  ``pass`` to its next screen: a SIM cannot ask the server mid-menu, and the
  name comes back in TranProc's answer. A request's ``done`` text and
  ``show`` are dropped for the same reason: the SIM shows TranProc's message.

Format (all lengths one byte, texts UTF-8, numbers big-endian)::

    01 | role | version(2) | languages(1) lang* | start(1) | screens(1) | screen*

    menu     01 texts | options(1) (key texts next(1) sets(1) (name value)*)*
    ask      02 texts | field | check(1) | same_as | next(1)
    pass     03 next(1)
    request  04 product | params(1) (name template)* | pin | new_pin
    say      05 texts

where a string is a length byte and its bytes, ``texts`` one string per
language, and an empty string means "none". Encoding is deterministic (the
same definition gives the same bytes); decoding is strict: a byte short or
left over, an index past the screens, an unknown kind, check or language, a
name that is not one, or text that is not UTF-8 is ``MenuRefused``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT = 0x01
MENU, ASK, PASS, REQUEST, SAY = 1, 2, 3, 4, 5
_KINDS = frozenset({MENU, ASK, PASS, REQUEST, SAY})
ROLES = frozenset({"customer", "agent", "agent_assistant", "merchant"})
LANGUAGES = ("en", "sw")
# The USSD definition's checks (docs/ussd.md); the SIM applies them to what is typed.
CHECKS = (
    "msisdn", "amount", "number", "account", "receipt", "name",
    "pin", "new_pin", "confirm_pin", "email", "code",
)  # fmt: skip
version_max = 2**16 - 1  # the applet's request carries the version in two bytes
screens_max = 200  # the USSD definition's own bound, well inside one index byte
options_max = 9
string_max = 255
_FIELD = re.compile(r"^[a-z_]{1,30}\Z")
_PRODUCT = re.compile(r"^[a-z_]{1,40}\Z")
_KEY = re.compile(r"^[1-9][0-9]?\Z")
# A USSD definition's document leaves out what equals its defaults.
_default_languages = list(LANGUAGES)


class MenuRefused(ValueError):
    """A menu that cannot be carried or read; the message is a fixed sentence."""


@dataclass(frozen=True, slots=True)
class Option:
    """One numbered choice: what is typed, its label, where it goes, what it sets."""

    key: str
    label: tuple[str, ...]
    next: int
    sets: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Screen:
    """One screen; which fields mean something depends on ``kind``."""

    kind: int
    texts: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    field: str = ""
    check: str = ""
    same_as: str = ""
    next: int = 0
    product: str = ""
    params: tuple[tuple[str, str], ...] = ()
    pin: str = ""
    new_pin: str = ""


@dataclass(frozen=True, slots=True)
class SimMenu:
    """A role's menu as the SIM holds it."""

    role: str
    version: int
    languages: tuple[str, ...]
    start: int
    screens: tuple[Screen, ...] = field(repr=False)


def from_document(document: str | Mapping[str, Any]) -> SimMenu:
    """The SIM's menu of a USSD definition (its JSON document, or that parsed).

    ``MenuRefused`` for what the SIM's format cannot carry (a version past two
    bytes, a text past 255 bytes, an unknown check).
    """
    raw: Mapping[str, Any] = json.loads(document) if isinstance(document, str) else document
    try:
        screens: Mapping[str, Any] = raw["screens"]
        ids = sorted(screens)
        index = {screen_id: at for at, screen_id in enumerate(ids)}
        languages = tuple(raw.get("languages", _default_languages))
        menu = SimMenu(
            str(raw["role"]),
            int(raw["version"]),
            languages,
            index[raw["start"]],
            tuple(_screen(screens[screen_id], index, languages) for screen_id in ids),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        if isinstance(error, MenuRefused):
            raise
        raise MenuRefused("the definition is not a USSD menu the SIM can carry") from None
    decode(encode(menu))  # every check of the reader, on what is about to be sent
    return menu


def _screen(raw: Mapping[str, Any], index: Mapping[str, int], languages: tuple[str, ...]) -> Screen:
    def texts(value: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(value[language] for language in languages)

    if "menu" in raw:
        options = tuple(
            Option(
                option.get("key") or str(at + 1),
                texts(option["label"]),
                index[option["next"]],
                tuple(sorted(option.get("set", {}).items())),
            )
            for at, option in enumerate(raw["options"])
        )
        return Screen(MENU, texts(raw["menu"]), options)
    if "ask" in raw:
        return Screen(
            ASK,
            texts(raw["ask"]),
            field=raw["field"],
            check=raw["check"],
            same_as=raw.get("same_as") or "",
            next=index[raw["next"]],
        )
    if "lookup" in raw:
        return Screen(PASS, next=index[raw["next"]])
    if "request" in raw:
        request = raw["request"]
        return Screen(
            REQUEST,
            product=request["product"],
            params=tuple(sorted(request.get("params", {}).items())),
            pin=request.get("pin") or "",
            new_pin=request.get("new_pin") or "",
        )
    return Screen(SAY, texts(raw["say"]))


def encode(menu: SimMenu) -> bytes:
    """The bytes the SIM stores (``MenuRefused`` for what they cannot carry)."""
    if not 1 <= menu.version <= version_max:
        raise MenuRefused("a SIM menu's version is 1 to 65535")
    if not 1 <= len(menu.screens) <= screens_max:
        raise MenuRefused(f"a SIM menu has 1 to {screens_max} screens")
    out = bytearray((FORMAT,))
    _string(out, menu.role)
    out += menu.version.to_bytes(2, "big") + bytes((len(menu.languages),))
    for language in menu.languages:
        _string(out, language)
    out += bytes((menu.start, len(menu.screens)))
    for screen in menu.screens:
        out.append(screen.kind)
        if screen.kind in (MENU, ASK, SAY):
            _texts(out, screen.texts, menu.languages)
        if screen.kind == MENU:
            out.append(len(screen.options))
            for option in screen.options:
                _string(out, option.key)
                _texts(out, option.label, menu.languages)
                out += bytes((option.next, len(option.sets)))
                _pairs(out, option.sets)
        elif screen.kind == ASK:
            _string(out, screen.field)
            if screen.check not in CHECKS:
                raise MenuRefused("a screen has a check the SIM does not know")
            out.append(CHECKS.index(screen.check))
            _string(out, screen.same_as)
            out.append(screen.next)
        elif screen.kind == PASS:
            out.append(screen.next)
        elif screen.kind == REQUEST:
            _string(out, screen.product)
            out.append(len(screen.params))
            _pairs(out, screen.params)
            _string(out, screen.pin)
            _string(out, screen.new_pin)
    return bytes(out)


def _string(out: bytearray, text: str) -> None:
    raw = text.encode("utf-8")
    if len(raw) > string_max:
        raise MenuRefused("a text of the menu is longer than 255 bytes")
    out += bytes((len(raw),)) + raw


def _texts(out: bytearray, texts: tuple[str, ...], languages: tuple[str, ...]) -> None:
    if len(texts) != len(languages):
        raise MenuRefused("a screen lacks a language")
    for text in texts:
        _string(out, text)


def _pairs(out: bytearray, pairs: tuple[tuple[str, str], ...]) -> None:
    for name, value in pairs:
        _string(out, name)
        _string(out, value)


class _Reader:
    """Reads the format front to back; any shortfall is ``MenuRefused``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise MenuRefused("the menu is cut short")
        self.at += 1
        return self.data[self.at - 1]

    def string(self) -> str:
        length = self.byte()
        raw = self.data[self.at : self.at + length]
        if len(raw) != length:
            raise MenuRefused("the menu is cut short")
        self.at += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MenuRefused("a text of the menu is not UTF-8") from None

    def name(self, pattern: re.Pattern[str], *, empty: bool = False) -> str:
        text = self.string()
        if not (pattern.match(text) or (empty and not text)):
            raise MenuRefused("a name in the menu is malformed")
        return text

    def text(self) -> str:
        text = self.string()
        if not text.strip():
            raise MenuRefused("a text of the menu is empty")
        return text

    def texts(self, languages: int) -> tuple[str, ...]:
        return tuple(self.text() for _ in range(languages))

    def index(self, screens: int) -> int:
        value = self.byte()
        if value >= screens:
            raise MenuRefused("the menu goes to a screen it does not have")
        return value

    def pairs(self) -> tuple[tuple[str, str], ...]:
        count = self.byte()
        found = tuple((self.name(_FIELD), self.string()) for _ in range(count))
        if len({name for name, _ in found}) != count:
            raise MenuRefused("a name appears twice in the menu")
        return found


def decode(data: bytes) -> SimMenu:
    """The menu in ``data``, or ``MenuRefused`` saying why not."""
    reader = _Reader(data)
    if reader.byte() != FORMAT:
        raise MenuRefused("the menu's format is unknown")
    role = reader.string()
    if role not in ROLES:
        raise MenuRefused("the menu's role is unknown")
    version = reader.byte() << 8 | reader.byte()
    if version == 0:
        raise MenuRefused("the menu's version is 0")
    languages = tuple(reader.string() for _ in range(reader.byte()))
    if not languages or len(set(languages)) != len(languages) or set(languages) - set(LANGUAGES):
        raise MenuRefused("the menu's languages are unknown")
    start, count = reader.byte(), reader.byte()
    if not 1 <= count <= screens_max or start >= count:
        raise MenuRefused("the menu's screens are malformed")
    screens = tuple(_read_screen(reader, len(languages), count) for _ in range(count))
    if reader.at != len(data):
        raise MenuRefused("bytes follow the menu")
    return SimMenu(role, version, languages, start, screens)


def _read_screen(reader: _Reader, languages: int, screens: int) -> Screen:
    kind = reader.byte()
    if kind not in _KINDS:
        raise MenuRefused("a screen of the menu is of an unknown kind")
    if kind == PASS:
        return Screen(PASS, next=reader.index(screens))
    if kind == REQUEST:
        product = reader.name(_PRODUCT)
        params = reader.pairs()
        pin, new_pin = reader.name(_FIELD, empty=True), reader.name(_FIELD, empty=True)
        return Screen(REQUEST, product=product, params=params, pin=pin, new_pin=new_pin)
    texts = reader.texts(languages)
    if kind == SAY:
        return Screen(SAY, texts)
    if kind == ASK:
        name = reader.name(_FIELD)
        check = reader.byte()
        if check >= len(CHECKS):
            raise MenuRefused("a screen has a check the SIM does not know")
        same_as = reader.name(_FIELD, empty=True)
        return Screen(ASK, texts, field=name, check=CHECKS[check], same_as=same_as,
                      next=reader.index(screens))  # fmt: skip
    options = tuple(_read_option(reader, languages, screens) for _ in range(reader.byte()))
    if not 1 <= len(options) <= options_max:
        raise MenuRefused(f"a menu screen has 1 to {options_max} options")
    if len({option.key for option in options}) != len(options):
        raise MenuRefused("two options share a key")
    return Screen(MENU, texts, options)


def _read_option(reader: _Reader, languages: int, screens: int) -> Option:
    key = reader.name(_KEY)
    label = reader.texts(languages)
    return Option(key, label, reader.index(screens), reader.pairs())
