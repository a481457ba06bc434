"""The building blocks of a catalog file's models: amounts, rates, moments, strict mappings.

Amounts are converted from the file's major units to integer minor units, using
the profile's currency passed in the validation context.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    model_validator,
)

from mkoba.money import Currency, parse_amount

_INTEGER = re.compile(r"^[0-9]+$")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_PERCENT = re.compile(r"^([0-9]+(\.[0-9]+)?)%$")


def _amount(value: object, info: ValidationInfo) -> int:
    """Minor units from a major-unit amount: ``250000``, ``250_000`` or ``"12.50"``."""
    assert info.context is not None, "amounts are validated with the profile's currency"
    unit: Currency = info.context["currency"]
    if isinstance(value, bool | float):
        raise ValueError(
            f"write amounts as integers (250_000) or quoted decimals ('12.50'), not {value!r}"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"amounts are never negative, got {value}")
        return value * unit.minor_per_major
    if isinstance(value, str):
        if "," in value:
            raise ValueError(f"write {value!r} with underscores (250_000), not commas")
        if not _DECIMAL.match(value):
            raise ValueError(f"not an amount: {value!r}")
        return parse_amount(value, unit)
    raise ValueError(f"not an amount: {value!r}")


def _percent(value: object) -> Fraction:
    """An exact fraction from ``"15%"`` or ``"0.5%"``; 0 % to 100 % only."""
    if not isinstance(value, str):
        raise ValueError(f"write a rate as a quoted percentage such as '15%', not {value!r}")
    match = _PERCENT.match(value.strip())
    if match is None:
        raise ValueError(f"write a rate as a percentage such as '15%' or '0.5%', not {value!r}")
    rate = Fraction(Decimal(match.group(1))) / 100
    if rate > 1:
        raise ValueError(f"a rate is between 0% and 100%, not {value}")
    return rate


def _band(value: object) -> object:
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(f"a band is [from, to, charge], got {value!r}")
    return tuple(value)


def _moment(value: object) -> date | datetime:
    if isinstance(value, date):  # a datetime is a date too
        return value
    if isinstance(value, str):
        try:
            if len(value) == len("2023-08-15"):
                return date.fromisoformat(value)
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"write a date (2023-08-15) or a date and time, not {value!r}")


Amount = Annotated[int, BeforeValidator(_amount)]
Percent = Annotated[Fraction, BeforeValidator(_percent)]
BandRow = Annotated[tuple[Amount, Amount, Amount], BeforeValidator(_band)]
Moment = Annotated[date | datetime, BeforeValidator(_moment)]
Count = Annotated[StrictInt, Field(ge=0)]
Name = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Strict(BaseModel):
    """A mapping in the file: unknown keys are errors that list the known ones."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                known = ", ".join(cls.model_fields)
                raise ValueError(f"unknown key {unknown[0]!r} (expected one of: {known})")
        return data
