"""The app's request bodies: typed, bounded, unknown fields refused, text that can be stored.

Parsed here, at the edge, before anything reaches the validation server or TranProc.
Amounts are integer minor units (cents): the app formats them, never a float.
"""

from __future__ import annotations

import json
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic import ValidationError as _ValidationError

from mkoba.parties.secrets import Pin
from mkoba.text import check_text

# A payment code is at most 512 characters (``keqr``); a public key (SPKI, P-256) is 91
# bytes, 122 in base64url: anything much longer is not one.
payload_chars_max = 512
public_key_chars_max = 200
# No wallet holds 10^15 cents.
amount_minor_max = 10**15
# A reference fits EMVCo's field 62/05.
reference_chars_max = 25

BodyT = TypeVar("BodyT", bound="AppBody")


def _pin_text(value: str) -> str:
    Pin(value)  # four to six digits, or ValueError (which never repeats the value)
    return value


Text = Annotated[StrictStr, AfterValidator(check_text)]
PinText = Annotated[StrictStr, AfterValidator(_pin_text)]
OtpText = Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$")]
Minor = Annotated[StrictInt, Field(ge=1, le=amount_minor_max)]


class AppBody(BaseModel):
    """Every body: strict, and a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EnrolBody(AppBody):
    """Start binding this device: the phone number to send the code to."""

    msisdn: Annotated[Text, Field(min_length=1, max_length=40)]


class ConfirmBody(AppBody):
    """Finish binding: the code from the SMS, the wallet PIN and the device's public key."""

    enrolment: Annotated[Text, Field(min_length=1, max_length=64)]
    code: Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$")]
    pin: PinText
    public_key: Annotated[
        StrictStr, Field(min_length=1, max_length=public_key_chars_max, pattern=r"^[A-Za-z0-9_-]+$")
    ]
    device_name: Annotated[Text, Field(max_length=60)] = ""


class PinBody(AppBody):
    """A route that needs the PIN only (balance, statement)."""

    pin: PinText


class IssueBody(AppBody):
    """A dynamic payment code for the caller to show: the amount and a reference."""

    amount: Minor
    reference: Annotated[Text, Field(max_length=reference_chars_max)] = ""


class ReadBody(AppBody):
    """A payment code the camera read, to be shown before paying."""

    payload: Annotated[StrictStr, Field(min_length=1, max_length=payload_chars_max)]


class PayBody(ReadBody):
    """Pay a payment code: the amount only for a static code, and the PIN; ``otp``: the
    code a step-up sent to this device (``event: confirm_code``), when paying again."""

    amount: Minor | None = None
    pin: PinText
    otp: OtpText | None = None


class EmptyBody(AppBody):
    """A route that takes nothing (the notices stream, unbinding)."""


class BadBody(ValueError):
    """A body that could not be read, with a sentence saying why (never its secrets)."""


def read(body_type: type[BodyT], raw: bytes) -> BodyT:
    """The typed body, or ``BadBody``."""
    try:
        value = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadBody("the body is not JSON") from None
    if not isinstance(value, dict):
        raise BadBody("the body is a JSON object")
    try:
        return body_type.model_validate(value)
    except _ValidationError as problem:
        raise BadBody(_describe(problem)) from None


def _describe(problem: _ValidationError) -> str:
    """The first problem, naming the field, without the value (it may be a PIN)."""
    first = problem.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    message = str(first["msg"])
    if where in {"pin", "code", "otp"}:
        message = "four to six digits" if where == "pin" else "six digits"
    return f"{where}: {message}"


Phone = Annotated[Text, Field(min_length=1, max_length=40)]
Number = Annotated[Text, Field(min_length=1, max_length=40)]
Note = Annotated[Text, Field(max_length=60)]
# A voucher code as its SMS prints it.
VoucherCode = Annotated[StrictStr, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
# Friends one bill may be split among (TranProc's cap per profile is lower).
bill_friends_max = 30


class RequestBody(AppBody):
    """Ask a phone for an amount, with a note."""

    payer: Phone
    amount: Minor
    note: Note = ""
    pin: PinText


class RequestNumberBody(AppBody):
    """Pay or decline a request by its number."""

    number: Number
    pin: PinText


class BillBody(AppBody):
    """Split a total among friends: equally, or in the shares given (one per friend)."""

    friends: Annotated[list[Phone], Field(min_length=1, max_length=bill_friends_max)]
    total: Minor
    shares: Annotated[list[Minor], Field(max_length=bill_friends_max)] = []
    note: Note = ""
    pin: PinText


class BillNumberBody(AppBody):
    """Who has paid a bill."""

    bill: Number
    pin: PinText


class GiftBody(AppBody):
    """Buy a gift voucher for any phone."""

    to: Phone
    amount: Minor
    pin: PinText


class GiftCodeBody(AppBody):
    """Put a gift into one's wallet (no till), or pay a till with it."""

    code: VoucherCode
    till: Annotated[Text, Field(max_length=20)] = ""
    pin: PinText
