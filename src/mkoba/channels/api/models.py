"""Request bodies of the native API, one per product.

One unit convention: ``amount`` is in the currency's major units (shillings), as a
number (``1000``, ``10.5``) or a string (``"1,000.50"``); ``amount_minor`` gives the
same in minor units (cents) as an integer, for clients that keep money that way.
Give one of the two. Answers name their units the same way: ``data.amount`` is a
string in shillings (``"1000.00"``) and ``data.amount_minor`` the integer in cents.

Every field has a type and a length, checked here, before anything is stored:
text must be text the platform can store (``mkoba.text``); ``true`` is not a
number; unknown fields are refused so a typo is an error, not a silent default.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from mkoba.parties.secrets import Pin
from mkoba.text import check_text

# Longest text field (names, references, account numbers); the processor's own cap is 512.
text_length_max = 200
# An amount as text: "150,000.00" is 10 characters; more than this is not an amount.
amount_chars_max = 24
# Minor units: no wallet holds 10^15 cents.
amount_minor_max = 10**15


def _number_text(value: object) -> object:
    """Identifiers (numbers, tills, paybills) may come as JSON integers; keep their text."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return value


def _amount_text(value: object) -> str:
    """An amount, as the exact text a product parses (never through a float's rounding)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError('an amount is a number or a string such as "1,000.50"')
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("an amount is a finite number")
        text = repr(value)
        text = text[:-2] if text.endswith(".0") else text
    else:
        text = str(value) if isinstance(value, int) else value.strip()
    if len(text) > amount_chars_max:
        raise ValueError(f"an amount has at most {amount_chars_max} characters")
    return check_text(text)


Text = Annotated[StrictStr, Field(max_length=text_length_max), AfterValidator(check_text)]
Number = Annotated[
    StrictStr,
    BeforeValidator(_number_text),
    Field(max_length=40),
    AfterValidator(check_text),
]
Amount = Annotated[
    str,
    BeforeValidator(_amount_text),
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": amount_chars_max}]}
    ),
    Field(description='in shillings: 1000, 10.5 or "1,000.50"'),
]
AmountMinor = Annotated[
    StrictInt,
    Field(ge=1, le=amount_minor_max, description="the same amount in cents (minor units)"),
]


def _pin_text(value: str) -> str:
    """A PIN's digits (checked as ``Pin`` checks them); sealed by the route, never kept."""
    Pin(value)
    return value


PinText = Annotated[
    StrictStr,
    AfterValidator(_pin_text),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{4,6}$", "examples": ["1357"]}),
]


OtpText = Annotated[
    StrictStr,
    Field(pattern=r"^[0-9]{6}$"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{6}$", "examples": ["493817"]}),
]


class Body(BaseModel):
    """What every request carries: who asks, and their PIN where the product needs one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    msisdn: Number = Field(
        description="the requester's phone number, any common form", examples=["0712000001"]
    )
    pin: PinText | None = Field(None, description="the requester's PIN (4 to 6 digits)")

    def params(self) -> dict[str, str]:
        """The product's parameters as text."""
        fields = self.model_dump(exclude={"msisdn", "pin", "new_pin", "otp"}, exclude_none=True)
        return {name: str(value) for name, value in fields.items()}


class _Money(Body):
    """A body with an amount: in shillings (``amount``) or in cents (``amount_minor``)."""

    amount: Amount | None = Field(None, examples=[1000])
    amount_minor: AmountMinor | None = None
    otp: OtpText | None = Field(
        None,
        description="a step-up's one-time code (sent to the payer's app device, when the"
        " answer was confirm_required with data.confirm = code): the same payment again,"
        " with the PIN and this code",
    )

    @model_validator(mode="after")
    def _one_amount(self) -> _Money:
        if (self.amount is None) == (self.amount_minor is None):
            raise ValueError("amount: give amount (in shillings) or amount_minor (in cents)")
        return self


class RegisterBody(Body):
    """Open a wallet: the PIN given is the customer's first PIN."""

    name: Text = Field(examples=["Wanjiku Kamau"])
    id_number: Number = Field(examples=["12345678"])
    language: Text | None = Field(None, examples=["en"])
    tier: Text | None = None


class AgentRegisterBody(Body):
    """An agent store (or its assistant) registers a customer (msisdn and PIN: the agent's).

    The customer's wallet opens with no PIN: they set it from their own phone.
    """

    customer: Number = Field(examples=["0712000009"])
    name: Text = Field(examples=["Wanjiku Kamau"])
    id_number: Number = Field(examples=["12345678"])
    language: Text | None = Field(None, examples=["sw"])
    tier: Text | None = None


class SendMoneyBody(_Money):
    """Send money to a registered number."""

    to: Number = Field(examples=["0712000002"])


class DepositBody(_Money):
    """An agent store (or its assistant) deposits a customer's cash (msisdn: the agent's)."""

    to: Number = Field(examples=["0712000001"])


class WithdrawBody(_Money):
    """Withdraw cash at an agent: agent number and store number."""

    agent: Number = Field(examples=["123456"])
    store: Number | None = Field(None, examples=["1"])


class PinOnlyBody(Body):
    """Balance, mini statement: who asks, with the PIN."""


class ChangePinBody(Body):
    """Change PIN: the current PIN in ``pin``, the new one in ``new_pin``."""

    new_pin: PinText = Field(examples=["8024"])


class NameLookupBody(Body):
    """Who is behind a number, till, paybill or agent store, before paying (masked)."""

    kind: Text = Field("msisdn", examples=["msisdn", "till", "paybill", "agent"])
    number: Number = Field(examples=["0712000002"])
    store: Number | None = None


class PayBillBody(_Money):
    """Pay a business's paybill number, with the account number at that business."""

    paybill: Number = Field(examples=["888880"])
    account: Text = Field(examples=["ACC-1001"])


class BuyGoodsBody(_Money):
    """Pay a merchant's till number."""

    till: Number = Field(examples=["300100"])


class BuyAirtimeBody(_Money):
    """Buy airtime for your own number, or for ``to``."""

    to: Number | None = Field(None, examples=["0712000002"])


class SendUnregisteredBody(_Money):
    """Send money to a number that is not registered: they collect it at an agent."""

    to: Number = Field(examples=["0722123456"])


class RedeemVoucherBody(Body):
    """An agent store (or assistant) pays out a voucher: the recipient's number and code."""

    recipient: Number = Field(examples=["0722123456"])
    code: Number = Field(examples=["04718263"])


class ReceiptBody(Body):
    """A transaction, by its receipt: asking for its reversal, or deciding one (staff)."""

    receipt: Number = Field(examples=["UKN3QX7T2B"])


class FloatTransferBody(_Money):
    """Move agent e-float to a store (``agent/store``) or a super-agent (its number)."""

    to: Number = Field(examples=["123456/2"])
    source: Text | None = Field(
        None, description="a head office names the store the float leaves", examples=["1"]
    )


class UnlockSelfBody(Body):
    """Unlock your own PIN with your ID number, choosing a new PIN (no PIN needed)."""

    id_number: Number = Field(examples=["12345678"])
    new_pin: PinText = Field(examples=["8024"])


class LanguageBody(Body):
    """Choose the language of menus and messages: en or sw."""

    language: Text = Field(examples=["sw"])


class TicketBody(Body):
    """Ask customer care for help: transaction, pin_account, fraud or other, and what happened."""

    category: Text = Field(examples=["transaction"])
    text: Text | None = Field(None, examples=["The agent did not give me the cash."])


class Envelope(BaseModel):
    """Every answer of the native API, success or not."""

    ok: bool
    code: str
    message: str
    receipt: str | None = None
    request_id: str
    data: dict[str, Any] = Field(default_factory=dict)
