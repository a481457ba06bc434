"""Walking the SIM's menu, one screen at a time, to the request it builds.

The SIM shows a screen, takes what is typed, checks it as the menu's checks
say (a PIN is 4 to 6 digits, a confirmation matches), and moves on until a
request screen: then the applet's request is built from the answers (the
screen's params are templates over them). Texts are shown in the SIM's
language; a text's ``{placeholders}`` are filled from the answers where the
SIM knows them (``{amount_text}`` from ``amount``), and a name only the
server knows (Hakikisha's ``{name}``) is shown as the number typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mkoba.simcard import menus

_CHECKS = {
    "msisdn": re.compile(r"^\+?[0-9]{9,15}\Z"),
    "amount": re.compile(r"^[1-9][0-9]{0,8}\Z"),
    "number": re.compile(r"^[0-9]{1,12}\Z"),
    "account": re.compile(r"^.{1,40}\Z"),
    "receipt": re.compile(r"^[A-Za-z0-9]{6,20}\Z"),
    "name": re.compile(r"^.{1,60}\Z"),
    "pin": re.compile(r"^[0-9]{4,6}\Z"),
    "new_pin": re.compile(r"^[0-9]{4,6}\Z"),
    "confirm_pin": re.compile(r"^[0-9]{4,6}\Z"),
    "email": re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\Z"),
    "code": re.compile(r"^[0-9]{4,8}\Z"),
}
_SECRET_CHECKS = frozenset({"pin", "new_pin", "confirm_pin"})
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class Refused(ValueError):
    """What was typed is not taken: the message says why (it never quotes a PIN)."""


@dataclass(frozen=True, slots=True)
class Built:
    """The request a walk ends in: product, fields, and the PIN the SIM took."""

    product: str
    fields: dict[str, str]
    pin: str | None = field(default=None, repr=False)
    new_pin: str | None = field(default=None, repr=False)


class Walk:
    """One pass through the menu, from its start screen."""

    def __init__(self, menu: menus.SimMenu, language: str = "en") -> None:
        self.menu = menu
        self.language = menu.languages.index(language) if language in menu.languages else 0
        self.values: dict[str, str] = {}
        self.screen = menu.screens[menu.start]
        self.built: Built | None = None
        self.said = ""  # a final text (a ``say`` screen)
        self._settle()

    @property
    def done(self) -> bool:
        """Whether the walk has ended (in a request or a final text)."""
        return self.built is not None or bool(self.said)

    @property
    def secret(self) -> bool:
        """Whether the screen asks for a PIN (typed hidden)."""
        return self.screen.kind == menus.ASK and self.screen.check in _SECRET_CHECKS

    def text(self) -> str:
        """The screen as the SIM shows it."""
        screen = self.screen
        title = self._fill(self._pick(screen.texts))
        if screen.kind != menus.MENU:
            return title
        lines = [title] if title else []
        lines += [f"{option.key}. {self._pick(option.label)}" for option in screen.options]
        return "\n".join(lines)

    def enter(self, typed: str) -> None:
        """Take what was typed on the current screen (``Refused`` if it is not taken)."""
        screen, typed = self.screen, typed.strip()
        if self.done:
            raise Refused("the menu has ended")
        if screen.kind == menus.MENU:
            option = next((o for o in screen.options if o.key == typed), None)
            if option is None:
                raise Refused(f"choose one of {', '.join(o.key for o in screen.options)}")
            self.values.update(option.sets)
            self.screen = self.menu.screens[option.next]
        else:
            check = _CHECKS.get(screen.check)
            if check is not None and not check.match(typed):
                raise Refused(_why(screen.check))
            if screen.same_as and typed != self.values.get(screen.same_as):
                raise Refused("the PINs do not match")
            self.values[screen.field] = typed
            self.screen = self.menu.screens[screen.next]
        self._settle()

    def _settle(self) -> None:
        """Move past screens that ask nothing (a look-up) to one that does, or the end."""
        for _ in range(len(self.menu.screens) + 1):
            screen = self.screen
            if screen.kind == menus.PASS:
                self.screen = self.menu.screens[screen.next]
            elif screen.kind == menus.REQUEST:
                fields = {name: _render(t, self.values) for name, t in screen.params}
                pin = self.values.get(screen.pin) if screen.pin else None
                new_pin = self.values.get(screen.new_pin) if screen.new_pin else None
                self.built = Built(screen.product, fields, pin, new_pin)
                return
            elif screen.kind == menus.SAY:
                self.said = self._fill(self._pick(screen.texts)) or "Done."
                return
            else:
                return
        raise Refused("the menu goes round in circles")

    def _pick(self, texts: tuple[str, ...]) -> str:
        if not texts:
            return ""
        return texts[self.language] if self.language < len(texts) else texts[0]

    def _fill(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if self.values.get(name):
                return self.values[name]
            base = name.removesuffix("_text")
            if base != name and base in self.values:
                return self.values[base]
            if name == "msisdn_text":
                return "your phone"
            # Only the server knows it (a Hakikisha name): show the number typed.
            numbers = [v for k, v in self.values.items() if k not in _SECRET_CHECKS]
            return numbers[0] if name == "name" and numbers else "..."

        return _PLACEHOLDER.sub(value, text)


def _render(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def _why(check: str) -> str:
    if check in _SECRET_CHECKS:
        return "a PIN is 4 to 6 digits"
    if check == "amount":
        return "enter a whole amount, without cents"
    if check == "msisdn":
        return "enter a phone number"
    return f"that is not a valid {check.replace('_', ' ')}"
