"""Money: integer minor units with a currency, parsed and formatted only at the edges.

Amounts inside mkoba are always ``int`` minor units (cents). ``Money`` pairs an
amount with its ``Currency`` so that arithmetic refuses to mix currencies, and
``parse_amount`` / ``format_amount`` are the one way in and out of text.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Currency(NamedTuple):
    """An ISO 4217 currency and the scale of its minor unit (KES has 2: cents)."""

    code: str
    scale: int
    symbol: str

    @property
    def minor_per_major(self) -> int:
        """How many minor units make one major unit (100 for a scale of 2)."""
        return int(10**self.scale)


CURRENCIES: dict[str, Currency] = {
    currency.code: currency
    for currency in (
        Currency("KES", 2, "Ksh"),
        Currency("TZS", 2, "TSh"),
        Currency("UGX", 0, "USh"),
        Currency("RWF", 0, "RF"),
        Currency("USD", 2, "$"),
        Currency("EUR", 2, "€"),
    )
}


def currency(code: str) -> Currency:
    """The registered currency for ``code``; ``ValueError`` for an unknown code."""
    try:
        return CURRENCIES[code]
    except KeyError:
        raise ValueError(f"unknown currency {code!r}") from None


class Money(NamedTuple):
    """An amount in integer minor units of one currency."""

    minor: int
    currency: Currency

    @classmethod
    def of(cls, minor: int, code: str) -> Money:
        """Money from minor units and a currency code, refusing anything but ``int``."""
        if type(minor) is not int:
            raise TypeError(f"money is integer minor units, not {type(minor).__name__}")
        return cls(minor, currency(code))

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        _same_currency(self, other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        _same_currency(self, other)
        return Money(self.minor - other.minor, self.currency)

    def __str__(self) -> str:
        return format_amount(self.minor, self.currency)


def _same_currency(left: Money, right: Money) -> None:
    if left.currency != right.currency:
        raise ValueError(f"currency mismatch: {left.currency.code} and {right.currency.code}")


# Longer text is not an amount (and int() of thousands of digits costs, or raises).
amount_chars_max = 32
_AMOUNT = re.compile(r"^\s*(?:[A-Za-z$€]{1,4}\.?\s*)?(-?)([0-9][0-9,]*)(?:\.([0-9]+))?\s*$")


def parse_amount(text: str, unit: Currency) -> int:
    """Minor units from text such as ``"1,234.50"``, ``"Ksh 50"`` or ``"100"``.

    Raises ``ValueError`` with a clear message for anything that is not an exact
    amount in ``unit`` (too many decimals, letters, empty, thousands separators in
    the wrong places).
    """
    if len(text) > amount_chars_max:
        raise ValueError(f"an amount has at most {amount_chars_max} characters")
    match = _AMOUNT.match(text)
    if match is None:
        raise ValueError(f"not an amount: {text!r}")
    sign, whole, fraction = match.groups()
    if "," in whole and not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*", whole):
        raise ValueError(f"misplaced thousands separator in {text!r}")
    fraction = fraction or ""
    if len(fraction) > unit.scale:
        raise ValueError(f"{unit.code} has {unit.scale} decimal places, {text!r} has more")
    minor = int(whole.replace(",", "")) * unit.minor_per_major
    if fraction:
        minor += int(fraction.ljust(unit.scale, "0"))
    return -minor if sign else minor


def format_amount(minor: int, unit: Currency, *, symbol: bool = True) -> str:
    """Text such as ``"Ksh1,234.50"`` for 123450 minor units of KES."""
    if type(minor) is not int:
        raise TypeError(f"money is integer minor units, not {type(minor).__name__}")
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), unit.minor_per_major)
    text = f"{whole:,}"
    if unit.scale:
        text += f".{fraction:0{unit.scale}d}"
    return f"{sign}{unit.symbol if symbol else ''}{text}"
