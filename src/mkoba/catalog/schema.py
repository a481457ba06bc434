"""The shape of a catalog file, as pydantic models: types, ranges, unknown keys.

Semantic rules that need more than one field (bands that cover the product's
range, tiers that ascend, dates that increase) live in ``checks``. Amounts are
converted here from the file's major units to integer minor units, using the
profile's currency passed in the validation context.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from mkoba.catalog.fields import Amount, BandRow, Count, Moment, Name, Percent, Strict
from mkoba.catalog.risk_schema import RiskSchema

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
    # Fraud and AML rules (``risk_schema.py``); none without the section.
    risk: RiskSchema | None = None
    products: ProductsSchema


class FileSchema(Strict):
    """A profile file: who it is for, then its versions (merged and checked one by one)."""

    name: Name
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    timezone: StrictStr
    ledger: Annotated[StrictInt, Field(ge=1, le=2**32 - 1)]
    country: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
    versions: list[dict[str, Any]] = Field(min_length=1)
