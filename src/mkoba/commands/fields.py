"""The kinds of field a command has, and how each is read from a channel's text.

A field is text (stripped), an amount (minor units, from ``name`` in major units or
``name_minor`` in minor units, more than zero) or a phone number (canonical
MSISDN). A field without a default is required. Each reader raises ``BadCommand``
with the message the person who typed it should read.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from mkoba.codes import Code
from mkoba.money import Currency, parse_amount
from mkoba.parties.msisdn import InvalidMsisdn, normalize_msisdn
from mkoba.text import text_problem

# No amount has more digits than this (10^18 minor units is beyond any wallet).
amount_digits_max = 18
# A field's text is at most this long: longer is no name, number or reference.
text_length_max = 512


class BadCommand(Exception):
    """Input that is not a command: the result code and a message fit for the user."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Kind(enum.Enum):
    """What a field holds."""

    TEXT = "text"
    AMOUNT = "amount"
    MSISDN = "msisdn"


def invalid(message: str) -> BadCommand:
    """A refusal of input that does not parse."""
    return BadCommand(Code.INVALID_INPUT, message)


def read_text(fields: Mapping[str, str], name: str, *, required: bool) -> str:
    """A text field, stripped; refused when required and missing, or not storable."""
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise invalid(f"{name} is text")
    if len(value) > text_length_max:
        raise invalid(f"{name} is too long")
    problem = text_problem(value)
    if problem is not None:
        raise invalid(f"{name} {problem}")
    value = value.strip()
    if required and not value:
        raise invalid(f"{name} is required")
    return value


def read_amount(fields: Mapping[str, str], name: str, currency: Currency) -> int:
    """An amount in minor units: ``name`` in major units, or ``<name>_minor`` in minor."""
    minor = read_text(fields, f"{name}_minor", required=False)
    if minor:
        if not (minor.isascii() and minor.isdigit()) or len(minor) > amount_digits_max:
            raise invalid(f"{name}_minor: a whole number of cents")
        value = int(minor)
    else:
        text = read_text(fields, name, required=True)
        if len(text) > amount_digits_max + 8:
            raise invalid(f"{name}: not an amount")
        try:
            value = parse_amount(text, currency)
        except ValueError as error:
            raise invalid(f"{name}: {error}") from None
    if value <= 0:
        raise invalid(f"{name} must be more than zero")
    return value


def read_msisdn(fields: Mapping[str, str], name: str, country: str, *, required: bool) -> str:
    """A phone number in canonical form ("" when optional and not given)."""
    text = read_text(fields, name, required=required)
    if not text:
        return ""
    return msisdn(name, text, country)


def msisdn(name: str, text: str, country: str) -> str:
    """``text`` as a canonical phone number, or ``BadCommand`` naming the field."""
    try:
        return normalize_msisdn(text, country)
    except InvalidMsisdn as error:
        raise invalid(f"{name}: {error}") from None
