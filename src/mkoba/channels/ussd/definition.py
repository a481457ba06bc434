"""Menu definitions: data files, one per role and version, checked before they serve.

A definition is a set of screens keyed by id. Each screen is exactly one of:

- ``menu``: a title and numbered ``options`` (each goes ``next``, may ``set`` values);
- ``ask``: a prompt whose answer is checked (``check``) and kept as ``field``;
- ``lookup``: the Hakikisha name look-up (``name_lookup``) of what was typed, so the
  name shows on the next screen (the PIN prompt);
- ``request``: a request to TranProc (``product`` with ``params``, the PIN from a
  ``pin`` field), whose outcome is the final screen;
- ``say``: a final screen.

Texts are given in every language of the definition and may use ``{field}``
placeholders. Everything a handset could be shown is checked here (links,
languages, GSM-7, screen length of static texts, PIN flows), so a bad file
is refused with the reason rather than breaking a session.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mkoba.commands import COMMANDS, shape
from mkoba.messages import gsm7

ROLES = ("customer", "agent", "agent_assistant", "merchant")
LANGUAGES = ("en", "sw")
# A USSD string is at most 182 GSM-7 characters; operators cut earlier, so we design for 160.
screen_chars_max = 160
screens_max = 200
options_max = 9
# Checks an ``ask`` screen can apply to what the user typed.
CHECKS = (
    "msisdn",
    "amount",
    "number",
    "account",
    "receipt",
    "name",
    "pin",
    "new_pin",
    "confirm_pin",
    "email",
    "code",
)
PIN_CHECKS = ("pin", "new_pin", "confirm_pin")
# Keys the engine keeps for itself: back, home, next page.
RESERVED_KEYS = ("0", "00", "98")
# Placeholders every screen may use, besides fields, options' values and outcomes.
BUILTINS = frozenset({"msisdn_text"})
# What a look-up and a request add for the screens after them.
LOOKUP_VARS = frozenset({"name", "masked"})
OUTCOME_VARS = frozenset({"message", "receipt", "statement"})

Texts = dict[str, str]


class MenuError(ValueError):
    """A definition that cannot serve, with every problem found."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One numbered choice of a menu."""

    key: str | None = Field(None, pattern=r"^[1-9][0-9]?$")
    label: Texts
    next: str
    set: dict[str, str] = Field(default_factory=dict)


class Lookup(_Strict):
    """A Hakikisha look-up: whose name to show before the PIN."""

    kind: Literal["msisdn", "till", "paybill", "agent"]
    number: str
    store: str | None = None


class RequestSpec(_Strict):
    """A request to TranProc and how to show its outcome."""

    product: str = Field(pattern=r"^[a-z_]{1,40}$")
    params: dict[str, str] = Field(default_factory=dict)
    # The fields holding the PIN and (for change_pin) the new PIN.
    pin: str | None = None
    new_pin: str | None = None
    # The final screen on success (default: TranProc's message).
    done: Texts | None = None
    # A special rendering of the outcome's data.
    show: Literal["statement"] | None = None


class ScreenDef(_Strict):
    """One screen; exactly one of menu, ask, lookup, request, say."""

    menu: Texts | None = None
    options: list[Option] = Field(default_factory=list)
    ask: Texts | None = None
    field: str | None = Field(None, pattern=r"^[a-z_]{1,30}$")
    check: (
        Literal[
            "msisdn",
            "amount",
            "number",
            "account",
            "receipt",
            "name",
            "pin",
            "new_pin",
            "confirm_pin",
            "email",
            "code",
        ]
        | None
    ) = None
    # For confirm_pin: the field to match.
    same_as: str | None = None
    lookup: Lookup | None = None
    request: RequestSpec | None = None
    say: Texts | None = None
    next: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScreenDef:
        kinds = [
            name
            for name in ("menu", "ask", "lookup", "request", "say")
            if getattr(self, name) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(f"a screen is one of menu, ask, lookup, request, say (got {kinds})")
        kind = kinds[0]
        if kind == "menu" and not 1 <= len(self.options) <= options_max:
            raise ValueError(f"a menu has 1 to {options_max} options")
        if kind != "menu" and self.options:
            raise ValueError("only a menu has options")
        if kind == "ask" and (self.field is None or self.check is None or self.next is None):
            raise ValueError("an ask screen needs field, check and next")
        if kind == "lookup" and self.next is None:
            raise ValueError("a lookup needs next")
        if kind in ("request", "say", "menu") and self.next is not None:
            raise ValueError(f"a {kind} screen has no next")
        if (self.check == "confirm_pin") != (self.same_as is not None):
            raise ValueError("confirm_pin needs same_as (and only it)")
        return self

    @property
    def kind(self) -> str:
        """menu, ask, lookup, request or say."""
        for name in ("menu", "ask", "lookup", "request", "say"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("checked at load")


class Definition(_Strict):
    """A whole menu for one role, one version."""

    role: Literal["customer", "agent", "agent_assistant", "merchant"]
    version: int = Field(ge=1, le=1_000_000)
    note: str = ""
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES))
    start: str
    screens: dict[str, ScreenDef] = Field(max_length=screens_max)


class Menu:
    """A checked definition, ready to serve and to download."""

    def __init__(self, definition: Definition, source: str) -> None:
        self.definition = definition
        self.source = source
        self.role = definition.role
        self.version = definition.version
        self.start = definition.start
        self.screens = definition.screens
        self.languages = tuple(definition.languages)
        body = definition.model_dump(mode="json", exclude_defaults=True)
        self.document = json.dumps(body, sort_keys=True, ensure_ascii=False, indent=1)
        self.etag = '"' + hashlib.sha256(self.document.encode()).hexdigest()[:32] + '"'

    def __repr__(self) -> str:
        return f"Menu({self.role} v{self.version})"

    def screen(self, screen_id: str) -> ScreenDef:
        """The screen ``screen_id`` (links are checked at load)."""
        return self.screens[screen_id]

    def option_key(self, screen: ScreenDef, index: int) -> str:
        """What the user types to choose option ``index`` of ``screen``."""
        option = screen.options[index]
        return option.key if option.key is not None else str(index + 1)


def placeholders(text: str) -> set[str]:
    """The names a text substitutes."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def load(path: Path, products: Iterable[str] | None = None) -> Menu:
    """A definition file, checked; ``MenuError`` with every problem found."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise MenuError(f"{path.name}: cannot read: {error}") from None
    return parse(raw, path.name, products)


def parse(raw: Any, source: str, products: Iterable[str] | None = None) -> Menu:
    """A definition from its parsed data, checked."""
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as error:
        lines = [
            f"{source}: {'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise MenuError("\n".join(lines)) from None
    problems = check(definition, None if products is None else frozenset(products))
    if problems:
        raise MenuError("\n".join(f"{source}: {problem}" for problem in problems))
    return Menu(definition, source)


def check(definition: Definition, products: frozenset[str] | None) -> list[str]:
    """Every problem of a definition that the schema alone cannot see."""
    problems: list[str] = []
    screens = definition.screens
    languages = tuple(definition.languages)
    if not languages or any(language not in LANGUAGES for language in languages):
        problems.append(f"languages must be among {LANGUAGES}")
    if definition.start not in screens:
        problems.append(f"start: no screen {definition.start!r}")
    known = _variables(definition)
    pins = _pin_fields(definition)
    for screen_id, screen in screens.items():
        where = f"screens.{screen_id}"
        for target in _links(screen):
            if target not in screens:
                problems.append(f"{where}: goes to {target!r}, which is not a screen")
        for name, texts in _texts(screen):
            problems.extend(_text_problems(f"{where}.{name}", texts, languages, known))
        problems.extend(_screen_problems(where, screen, screens, products, known, pins))
    problems.extend(_reachability(definition))
    return problems


def _links(screen: ScreenDef) -> list[str]:
    targets = [option.next for option in screen.options]
    if screen.next is not None:
        targets.append(screen.next)
    return targets


def _texts(screen: ScreenDef) -> list[tuple[str, Texts]]:
    texts: list[tuple[str, Texts]] = []
    for name in ("menu", "ask", "say"):
        value = getattr(screen, name)
        if value is not None:
            texts.append((name, value))
    for index, option in enumerate(screen.options):
        texts.append((f"options.{index}.label", option.label))
    if screen.request is not None and screen.request.done is not None:
        texts.append(("request.done", screen.request.done))
    return texts


def _text_problems(
    where: str, texts: Texts, languages: tuple[str, ...], known: frozenset[str]
) -> list[str]:
    problems = []
    if set(texts) != set(languages):
        problems.append(f"{where}: needs exactly the languages {list(languages)}")
    names = [placeholders(text) for text in texts.values()]
    if names and any(group != names[0] for group in names):
        problems.append(f"{where}: the languages use different placeholders")
    for language, text in texts.items():
        if not text.strip():
            problems.append(f"{where}.{language}: is empty")
        if not gsm7.is_gsm7(text):
            problems.append(f"{where}.{language}: has characters outside GSM-7")
        unknown = placeholders(text) - known
        if unknown:
            problems.append(f"{where}.{language}: unknown placeholders {sorted(unknown)}")
        static = string.Formatter().vformat(text, (), _Blank())
        if gsm7.septets(static) > screen_chars_max:
            problems.append(f"{where}.{language}: longer than {screen_chars_max} characters")
    return problems


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _screen_problems(
    where: str,
    screen: ScreenDef,
    screens: Mapping[str, ScreenDef],
    products: frozenset[str] | None,
    known: frozenset[str],
    pins: frozenset[str],
) -> list[str]:
    problems = []
    if screen.same_as is not None and screen.same_as not in pins:
        problems.append(f"{where}: same_as {screen.same_as!r} is not a PIN field")
    keys = [option.key or str(index + 1) for index, option in enumerate(screen.options)]
    if len(set(keys)) != len(keys):
        problems.append(f"{where}: two options share a key")
    if any(key in RESERVED_KEYS for key in keys):
        problems.append(f"{where}: options may not use the keys {RESERVED_KEYS}")
    if screen.check in PIN_CHECKS and screen.next is not None and screen.next in screens:
        following = screens[screen.next]
        if following.check not in PIN_CHECKS and following.request is None:
            problems.append(f"{where}: a PIN is asked right before its request, nothing else")
    request = screen.request
    if request is not None:
        if products is not None and request.product not in products:
            problems.append(f"{where}: no product {request.product!r}")
        for field_name in (request.pin, request.new_pin):
            if field_name is not None and field_name not in pins:
                problems.append(f"{where}: {field_name!r} is not a PIN field")
        for name, value in request.params.items():
            unknown = placeholders(value) - known
            if unknown:
                problems.append(f"{where}: params.{name}: unknown placeholders {sorted(unknown)}")
        problems.extend(f"{where}: {problem}" for problem in _fields_problems(request))
    if screen.lookup is not None:
        values = [screen.lookup.number, screen.lookup.store or ""]
        unknown = set().union(*(placeholders(value) for value in values)) - known
        if unknown:
            problems.append(f"{where}: lookup: unknown placeholders {sorted(unknown)}")
    return problems


def _pin_fields(definition: Definition) -> frozenset[str]:
    """Fields that hold a PIN: never a placeholder, only a request's ``pin``/``new_pin``."""
    return frozenset(
        screen.field
        for screen in definition.screens.values()
        if screen.field is not None and screen.check in PIN_CHECKS
    )


def _variables(definition: Definition) -> frozenset[str]:
    """Every placeholder some path through the menu can fill (PIN fields never)."""
    names: set[str] = set(BUILTINS | LOOKUP_VARS | OUTCOME_VARS)
    for screen in definition.screens.values():
        if screen.field is not None and screen.check not in PIN_CHECKS:
            names.update({screen.field, f"{screen.field}_text"})
        for option in screen.options:
            names.update(option.set)
    return frozenset((names | _DATA_VARS) - _pin_fields(definition))


# What requests' outcomes may carry in ``data`` (money also as ``<key>_text``).
MONEY_KEYS = frozenset(
    {"amount", "fee", "balance", "reserved", "incoming", "commission", "total", "earned"}
)
_DATA_VARS = frozenset(
    {
        *MONEY_KEYS,
        *(f"{key}_text" for key in MONEY_KEYS),
        "account",
        "recipient",
        "agent",
        "ticket",
        "answer_by",
        "email",
        "start",
        "end",
        "minutes",
    }
)


def _reachability(definition: Definition) -> list[str]:
    seen: set[str] = set()
    todo = [definition.start]
    while todo:
        screen_id = todo.pop()
        if screen_id in seen or screen_id not in definition.screens:
            continue
        seen.add(screen_id)
        todo.extend(_links(definition.screens[screen_id]))
    unreachable = sorted(set(definition.screens) - seen)
    if not unreachable:
        return []
    return [f"screens {unreachable} cannot be reached from {definition.start!r}"]


def _fields_problems(request: RequestSpec) -> list[str]:
    """What in a request's params its product's command would not take, or would miss."""
    kind = COMMANDS.get(request.product)
    if kind is None:
        return []
    fields = shape(kind)
    names = {field.name for field in fields}
    problems = [
        f"params.{name}: {request.product} has no field {name!r}"
        for name in request.params
        if name not in names and name.removesuffix("_minor") not in names
    ]
    given = {name.removesuffix("_minor") for name in request.params}
    problems.extend(
        f"params: {request.product} needs {field.name!r}"
        for field in fields
        if field.required and field.name not in given
    )
    return problems
