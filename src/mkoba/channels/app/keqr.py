"""mkoba's payment codes: EMVCo MPM with a KE-QR-style merchant account template.

What a code carries (docs/app.md has the field table):

- template 26, our merchant account: ``00`` = ``ke.mkoba`` (the identifier that
  says the code is ours), ``01`` = the till, paybill or phone number paid,
  ``02`` = the kind, as Daraja's TrxCode: ``BG`` buy goods, ``PB`` paybill,
  ``SM`` send money;
- 52 category, 53 = 404 (KES), 58 = KE, 59 name, 60 city;
- 54 the amount (dynamic codes only) and 62/05 the reference;
- template 80, ours too (``00`` = ``ke.mkoba``), in dynamic codes only: ``01`` the
  expiry (UTC, ``YYYYMMDDhhmmss``), ``02`` a one-time token, and ``03`` reserved
  for the payee device's signature over the payload (a later step: the validation
  server will check it; here it is carried and returned, never verified).

A static code (01 = ``11``) is reusable and has no amount, expiry or token: the
payer types the amount; only tills and paybills have one. A dynamic code (01 =
``12``) is for one payment. The CRC protects against misreading, not tampering:
anyone can recompute it, so the token (used once) and, later, the signature are
what the validation server relies on.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mkoba.channels.app import emvco, tlv
from mkoba.channels.app.emvco import Initiation, MerchantPayload
from mkoba.channels.app.refusal import QrRefused, Refusal
from mkoba.channels.app.tlv import DataObject

GUID = "ke.mkoba"
ACCOUNT_TEMPLATE_ID = "26"
PRIVATE_TEMPLATE_ID = "80"
KES = "404"
KENYA = "KE"
# Sub-fields of template 26.
NUMBER_ID = "01"
KIND_ID = "02"
# Sub-fields of template 80.
EXPIRY_ID = "01"
TOKEN_ID = "02"  # noqa: S105 (an ID, not a token)
SIGNATURE_ID = "03"  # Reserved: the payee device's signature (the validation server's step).
REFERENCE_ID = "05"  # In template 62: the reference label.

# E.164 numbers have at most 15 digits; tills and paybills are shorter.
number_digits_max = 15
token_chars_min = 16
token_chars_max = 32
signature_chars_max = 96
reference_chars_max = 25
_EXPIRY_FORMAT = "%Y%m%d%H%M%S"
_TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")
_SIGNATURE_CHARACTERS = _TOKEN_CHARACTERS | frozenset("+/=")


@enum.unique
class PayeeKind(enum.Enum):
    """What the number is: a till, a paybill or a person's phone (Daraja's TrxCode)."""

    BUY_GOODS = "BG"
    PAYBILL = "PB"
    SEND_MONEY = "SM"


@dataclass(frozen=True, slots=True)
class Payee:
    """Who is paid: the number and kind, and the name the payer's app shows."""

    kind: PayeeKind
    number: str
    name: str
    city: str
    # ISO 18245 merchant category code, e.g. 5411 (grocery stores).
    category_code: str


@dataclass(frozen=True, slots=True)
class PaymentCode:
    """A payment code read back: everything the payer's app shows and the server checks.

    ``amount_minor``, ``expires_at`` and ``token`` are set for a dynamic code and
    ``None`` for a static one. ``signature`` is carried, not verified (a later step).
    """

    payee: Payee
    amount_minor: int | None
    reference: str | None
    expires_at: datetime | None
    token: str | None = field(repr=False)
    signature: str | None = field(default=None, repr=False)

    @property
    def dynamic(self) -> bool:
        """A code for one payment, with its amount fixed."""
        return self.amount_minor is not None


def _check_payee(payee: Payee) -> None:
    number = payee.number
    if not (0 < len(number) <= number_digits_max and number.isascii() and number.isdigit()):
        raise QrRefused(Refusal.INVALID, f"the number paid is 1 to {number_digits_max} digits")


def _check_token(token: str) -> None:
    # The value itself is never repeated in a message: it is a secret until used.
    if not (token_chars_min <= len(token) <= token_chars_max and set(token) <= _TOKEN_CHARACTERS):
        raise QrRefused(
            Refusal.INVALID,
            f"the one-time token is {token_chars_min} to {token_chars_max} letters, digits, "
            "'-' or '_'",
        )


def _check_signature(signature: str) -> None:
    if not (0 < len(signature) <= signature_chars_max and set(signature) <= _SIGNATURE_CHARACTERS):
        raise QrRefused(
            Refusal.INVALID,
            f"the signature is 1 to {signature_chars_max} characters of base64 or base64url",
        )


def _reference(reference: str | None) -> tuple[DataObject, ...]:
    if reference is None:
        return ()
    if len(reference) > reference_chars_max:
        raise QrRefused(
            Refusal.INVALID, f"the reference has at most {reference_chars_max} characters"
        )
    return (DataObject(REFERENCE_ID, reference),)


def _payload(
    payee: Payee,
    initiation: Initiation,
    amount_minor: int | None,
    reference: str | None,
    private: tuple[DataObject, ...],
) -> MerchantPayload:
    _check_payee(payee)
    account = (
        DataObject("00", GUID),
        DataObject(NUMBER_ID, payee.number),
        DataObject(KIND_ID, payee.kind.value),
    )
    return MerchantPayload(
        merchant_accounts=(DataObject(ACCOUNT_TEMPLATE_ID, account),),
        merchant_category_code=payee.category_code,
        currency=KES,
        country=KENYA,
        merchant_name=payee.name,
        merchant_city=payee.city,
        initiation=initiation,
        amount_minor=amount_minor,
        additional_data=_reference(reference),
        unreserved=(DataObject(PRIVATE_TEMPLATE_ID, private),) if private else (),
    )


def dynamic_code(
    payee: Payee,
    amount_minor: int,
    reference: str,
    expires_at: datetime,
    token: str,
    signature: str | None = None,
) -> str:
    """The payload of a code for one payment of ``amount_minor`` KES cents.

    ``expires_at`` is an aware datetime, kept to the second (rounded down).
    ``token`` is the one-time token (16-32 of ``A-Z a-z 0-9 - _``) the validation
    server will accept once. Raises ``QrRefused`` for a value the code cannot carry.
    """
    assert type(amount_minor) is int, "money is integer minor units"
    assert expires_at.tzinfo is not None, "an expiry is an aware datetime"
    _check_token(token)
    expiry = expires_at.astimezone(UTC).strftime(_EXPIRY_FORMAT)
    private = [DataObject("00", GUID), DataObject(EXPIRY_ID, expiry), DataObject(TOKEN_ID, token)]
    if signature is not None:
        _check_signature(signature)
        private.append(DataObject(SIGNATURE_ID, signature))
    payload = _payload(payee, Initiation.DYNAMIC, amount_minor, reference, tuple(private))
    return emvco.encode(payload)


def static_code(payee: Payee, reference: str | None = None) -> str:
    """The payload of a reusable code for a till or paybill: the payer types the amount."""
    if payee.kind is PayeeKind.SEND_MONEY:
        raise QrRefused(Refusal.INVALID, "only tills and paybills have static codes")
    return emvco.encode(_payload(payee, Initiation.STATIC, None, reference, ()))


# Reading -----------------------------------------------------------------------------


def _sub(template: DataObject, sub_id: str, name: str) -> str:
    found = tlv.find(template.objects(), sub_id)
    if found is None:
        raise QrRefused(Refusal.MISSING, f"the code has no {name} ({template.id}/{sub_id})")
    return found.text()


def _read_payee(payload: MerchantPayload) -> Payee:
    if payload.currency != KES or payload.country != KENYA:
        raise QrRefused(Refusal.UNSUPPORTED, "the code is not for a payment in Kenya shillings")
    account = payload.account(GUID)
    if account is None:
        raise QrRefused(Refusal.UNSUPPORTED, "this is not an mkoba payment code")
    kind_text = _sub(account, KIND_ID, "kind of payee")
    try:
        kind = PayeeKind(kind_text)
    except ValueError:
        raise QrRefused(Refusal.INVALID, f"unknown kind of payee {kind_text!r}") from None
    payee = Payee(
        kind=kind,
        number=_sub(account, NUMBER_ID, "number paid"),
        name=payload.merchant_name,
        city=payload.merchant_city,
        category_code=payload.merchant_category_code,
    )
    _check_payee(payee)
    return payee


def _expiry(text: str) -> datetime:
    if not (len(text) == 14 and text.isascii() and text.isdigit()):
        raise QrRefused(Refusal.INVALID, "the expiry is a date and time, YYYYMMDDhhmmss")
    try:
        return datetime.strptime(text, _EXPIRY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise QrRefused(Refusal.INVALID, "the expiry is not a real date and time") from None


# What a reader says of a dynamic code past its expiry.
EXPIRED_TEXT = "the code has expired: ask the payee for a new one"


def read_code(text: str, now: datetime) -> PaymentCode:
    """The payment code in ``text``, checked against the clock ``now`` (aware).

    Raises ``QrRefused``: a damaged or malformed payload, a code that is not ours, a
    dynamic code without its expiry or token, and an expired one (``EXPIRED``).
    """
    assert now.tzinfo is not None, "the clock is an aware datetime"
    payload = emvco.parse(text)
    payee = _read_payee(payload)
    if payload.initiation is None:
        raise QrRefused(Refusal.MISSING, "the code does not say if it is static or dynamic (01)")
    private = tlv.find(payload.unreserved, PRIVATE_TEMPLATE_ID)
    if private is not None and _sub(private, "00", "identifier") != GUID:
        private = None
    reference = payload.additional(REFERENCE_ID)
    if payload.initiation is Initiation.STATIC:
        if payee.kind is PayeeKind.SEND_MONEY:
            raise QrRefused(Refusal.INVALID, "only tills and paybills have static codes")
        if private is not None:
            raise QrRefused(Refusal.INVALID, "a static code carries no expiry or token")
        return PaymentCode(payee, None, reference, None, None)
    if private is None:
        raise QrRefused(Refusal.MISSING, "the dynamic code has no expiry or token (80)")
    if reference is None:
        raise QrRefused(Refusal.MISSING, "the dynamic code has no reference (62/05)")
    expires_at = _expiry(_sub(private, EXPIRY_ID, "expiry"))
    token = _sub(private, TOKEN_ID, "one-time token")
    _check_token(token)
    signature_object = tlv.find(private.objects(), SIGNATURE_ID)
    signature = None if signature_object is None else signature_object.text()
    if signature is not None:
        _check_signature(signature)
    if now >= expires_at:
        raise QrRefused(Refusal.EXPIRED, EXPIRED_TEXT)
    return PaymentCode(payee, payload.amount_minor, reference, expires_at, token, signature)
