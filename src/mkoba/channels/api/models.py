"""Request bodies of the native API, one per product.

Amounts may be numbers or strings ("1,000.50"); they reach the products as text
and are parsed there, exactly, in minor units. Unknown fields are refused so a
typo is an error, not a silent default.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Amount = int | float | str


class Body(BaseModel):
    """What every request carries: who asks, and their PIN where the product needs one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    msisdn: str = Field(
        description="the requester's phone number, any common form", examples=["0712000001"]
    )
    pin: str | None = Field(
        None, description="the requester's PIN (4 to 6 digits)", examples=["1357"]
    )

    def params(self) -> dict[str, str]:
        """The product's parameters as text."""
        fields = self.model_dump(exclude={"msisdn", "pin", "new_pin"}, exclude_none=True)
        return {name: _text(value) for name, value in fields.items()}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class RegisterBody(Body):
    """Open a wallet: the PIN given is the customer's first PIN."""

    name: str = Field(examples=["Wanjiku Kamau"])
    id_number: str = Field(examples=["12345678"])
    language: str | None = Field(None, examples=["en"])
    tier: str | None = None


class SendMoneyBody(Body):
    """Send money to a registered number."""

    to: str = Field(examples=["0712000002"])
    amount: Amount = Field(examples=[1000])


class DepositBody(Body):
    """An agent store (or its assistant) deposits a customer's cash (msisdn: the agent's)."""

    to: str = Field(examples=["0712000001"])
    amount: Amount = Field(examples=[2000])


class WithdrawBody(Body):
    """Withdraw cash at an agent: agent number and store number."""

    agent: str = Field(examples=["123456"])
    store: str | None = Field(None, examples=["1"])
    amount: Amount = Field(examples=[500])


class PinOnlyBody(Body):
    """Balance, mini statement: who asks, with the PIN."""


class ChangePinBody(Body):
    """Change PIN: the current PIN in ``pin``, the new one in ``new_pin``."""

    new_pin: str = Field(examples=["8024"])


class NameLookupBody(Body):
    """Who is behind a number, till, paybill or agent store, before paying (masked)."""

    kind: str = Field("msisdn", examples=["msisdn", "till", "paybill", "agent"])
    number: str = Field(examples=["0712000002"])
    store: str | None = None


class PayBillBody(Body):
    """Pay a business's paybill number, with the account number at that business."""

    paybill: str = Field(examples=["888880"])
    account: str = Field(examples=["ACC-1001"])
    amount: Amount = Field(examples=[1500])


class BuyGoodsBody(Body):
    """Pay a merchant's till number."""

    till: str = Field(examples=["300100"])
    amount: Amount = Field(examples=[250])


class BuyAirtimeBody(Body):
    """Buy airtime for your own number, or for ``to``."""

    amount: Amount = Field(examples=[100])
    to: str | None = Field(None, examples=["0712000002"])


class SendUnregisteredBody(Body):
    """Send money to a number that is not registered: they collect it at an agent."""

    to: str = Field(examples=["0722123456"])
    amount: Amount = Field(examples=[500])


class RedeemVoucherBody(Body):
    """An agent store (or assistant) pays out a voucher: the recipient's number and code."""

    recipient: str = Field(examples=["0722123456"])
    code: str = Field(examples=["04718263"])


class ReceiptBody(Body):
    """A transaction, by its receipt: asking for its reversal, or deciding one (staff)."""

    receipt: str = Field(examples=["UKN3QX7T2B"])


class FloatTransferBody(Body):
    """Move agent e-float to a store (``agent/store``) or a super-agent (its number)."""

    to: str = Field(examples=["123456/2"])
    amount: Amount = Field(examples=[50000])
    source: str | None = Field(
        None, description="a head office names the store the float leaves", examples=["1"]
    )


class CustomerBody(Body):
    """Staff act on a customer's PIN (unlock, reset): the customer's number."""

    customer: str = Field(examples=["0712000001"])


class UnlockSelfBody(Body):
    """Unlock your own PIN with your ID number, choosing a new PIN (no PIN needed)."""

    id_number: str = Field(examples=["12345678"])
    new_pin: str = Field(examples=["8024"])


class LanguageBody(Body):
    """Choose the language of menus and messages: en or sw."""

    language: str = Field(examples=["sw"])


class EmoneyBody(Body):
    """Operations staff issue or redeem e-money against the trust bank account."""

    kind: str = Field(examples=["super_agent", "agent_store", "organisation", "operator"])
    to: str | None = Field(None, examples=["SA100"])
    account: str | None = Field(None, examples=["float"])
    amount: Amount = Field(examples=[1_000_000])
    reference: str = Field(examples=["FT24112300123"])


class Envelope(BaseModel):
    """Every answer of the native API, success or not."""

    ok: bool
    code: str
    message: str
    receipt: str | None = None
    request_id: str
    data: dict[str, Any] = Field(default_factory=dict)
