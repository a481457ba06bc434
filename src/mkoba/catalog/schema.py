"""The shape of a catalog file, as pydantic models: types, ranges, unknown keys.

Semantic rules that need more than one field (bands that cover the product's
range, tiers that ascend, dates that increase) live in ``checks``. Amounts are
converted here from the file's major units to integer minor units, using the
profile's currency passed in the validation context.
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
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    model_validator,
)

from mkoba.money import Currency, parse_amount

PRODUCTS = (
    "send_money",
    "send_unregistered",
    "withdraw",
    "deposit",
    "buy_airtime",
    "buy_goods",
    "pay_bill",
    "b2c",
    "b2b",
    "float_transfer",
    "reversal",
    "buy_gift",
)
"""Every product a profile may offer; a profile offers those it lists."""

CHANNELS = ("ussd", "sms", "api", "daraja", "app", "stk", "sim")
"""Every channel a profile gives a response-delivery deadline for."""

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


class ChargeSchema(Strict):
    """``free``, ``{bands: [[from, to, charge], ...]}`` or ``{rate: '0.5%', cap, free_up_to}``."""

    free: StrictBool = False
    bands: list[BandRow] | None = None
    rate: Percent | None = None
    cap: Amount | None = None
    free_up_to: Amount | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data == "free":
            return {"free": True}
        if not isinstance(data, dict):
            raise ValueError(f"a charge is 'free', {{bands: ...}} or {{rate: ...}}, not {data!r}")
        return data


class VariantSchema(Strict):
    """One variant of a product's tariff (a paybill biller's choice)."""

    customer: ChargeSchema | None = None
    business: ChargeSchema | None = None


class ProductSchema(Strict):
    """A product's range, who pays what, and the agent's commission."""

    minimum: Amount
    maximum: Amount
    customer: ChargeSchema | None = None
    business: ChargeSchema | None = None
    commission: ChargeSchema | None = None
    variants: dict[Name, VariantSchema] | None = None
    default_variant: StrictStr | None = None


class ProductsSchema(Strict):
    """The products a version offers, by their fixed names."""

    send_money: ProductSchema | None = None
    send_unregistered: ProductSchema | None = None
    withdraw: ProductSchema | None = None
    deposit: ProductSchema | None = None
    buy_airtime: ProductSchema | None = None
    buy_goods: ProductSchema | None = None
    pay_bill: ProductSchema | None = None
    b2c: ProductSchema | None = None
    b2b: ProductSchema | None = None
    float_transfer: ProductSchema | None = None
    reversal: ProductSchema | None = None
    buy_gift: ProductSchema | None = None

    def offered(self) -> dict[str, ProductSchema]:
        """The products listed, in the fixed order of ``PRODUCTS``."""
        products = {name: getattr(self, name) for name in PRODUCTS}
        return {name: product for name, product in products.items() if product is not None}


assert tuple(ProductsSchema.model_fields) == PRODUCTS


class TierSchema(Strict):
    """A KYC tier's limits."""

    transaction_max: Amount
    daily_max: Amount
    balance_max: Amount


class VoucherSchema(Strict):
    """Money sent to an unregistered number: a voucher cashed at an agent."""

    enabled: StrictBool
    validity_days: Count
    transaction_max: Amount


class RequestsSchema(Strict):
    """Money requests and split bills (the app): on or off, lifetime, spam cap, reminders."""

    enabled: StrictBool = False
    validity_days: Count = 7
    open_max: Count = 20
    friends_max: Count = 10
    reminder_interval_hours: Count = 24
    reminders_max: Count = 3


class GiftsSchema(Strict):
    """Gift vouchers (the app): how long one lives before it goes back to its buyer."""

    validity_days: Count = 30


class DeadlinesSchema(Strict):
    """Seconds to deliver a response per channel before the request is rolled back."""

    ussd: Count
    sms: Count
    api: Count
    daraja: Count
    app: Count
    stk: Count
    # The SIM channel came later: a profile that names no deadline for it keeps none.
    sim: Count = 0


assert tuple(DeadlinesSchema.model_fields) == CHANNELS


class VersionSchema(Strict):
    """One version of a profile, after merging it over the version before."""

    effective_from: Moment
    note: StrictStr = ""
    excise_rate: Percent
    tiers: dict[Name, TierSchema] = Field(min_length=1)
    pin_attempts_max: Annotated[StrictInt, Field(ge=1)]
    name_lookups_per_day: Count
    voucher: VoucherSchema
    deadlines_s: DeadlinesSchema
    reversal_window_hours: Count
    requests: RequestsSchema = RequestsSchema()
    gifts: GiftsSchema = GiftsSchema()
    products: ProductsSchema


class FileSchema(Strict):
    """A profile file: who it is for, then its versions (merged and checked one by one)."""

    name: Name
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    timezone: StrictStr
    ledger: Annotated[StrictInt, Field(ge=1, le=2**32 - 1)]
    country: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
    versions: list[dict[str, Any]] = Field(min_length=1)
