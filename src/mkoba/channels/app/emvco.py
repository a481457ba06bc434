"""EMVCo merchant-presented QR (MPM): the payload's fields, strictly checked both ways.

``MerchantPayload`` is a checked value: building one with a field the format does not
allow raises ``QrRefused``, so every instance encodes. ``encode`` writes it (fields in
ID order, CRC last); ``parse`` reads any conforming payload back (EMVCo fixes only
that ``00`` is first and ``63`` last), so ``parse(encode(p)) == p``.

Mandatory: 00 (``01``), at least one merchant account (02-51), 52, 53, 58, 59, 60 and
the CRC 63. Point of initiation 01 is optional; when it says dynamic (``12``) the
amount 54 is required, when static (``11``) it is refused. Amounts are integer minor
units here and text with a ``.`` decimal mark in the payload, never with more decimals
than the currency has.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TypeVar

from mkoba.channels.app import tlv
from mkoba.channels.app.refusal import QrRefused, Refusal
from mkoba.channels.app.tlv import DataObject

# ISO 4217 numeric codes we read, with the digits of their minor unit.
CURRENCY_SCALES: dict[str, int] = {
    "404": 2,  # KES
    "834": 2,  # TZS
    "800": 0,  # UGX
    "646": 0,  # RWF
    "840": 2,  # USD
    "978": 2,  # EUR
    "156": 2,  # CNY (the specification's example)
    "392": 0,  # JPY
}
amount_chars_max = 13
merchant_name_chars_max = 25
merchant_city_chars_max = 15
postal_code_chars_max = 10
guid_chars_max = 32
additional_data_chars_max = 25

_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]*))?")
_PERCENT = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?|100(?:\.00?)?")
_ADDITIONAL_DATA_IDS = frozenset(
    [f"{number:02d}" for number in range(1, 10)] + [f"{number:02d}" for number in range(50, 100)]
)


_Choice = TypeVar("_Choice", bound=enum.Enum)


@enum.unique
class Initiation(enum.Enum):
    """Field 01: a static code is reused; a dynamic one is for one payment."""

    STATIC = "11"
    DYNAMIC = "12"


@enum.unique
class TipOrFee(enum.Enum):
    """Field 55: the payer is asked for a tip, or pays a fixed (56) or percentage (57) fee."""

    PROMPT = "01"
    FIXED = "02"
    PERCENTAGE = "03"


def _digits(text: str, count: int) -> bool:
    return len(text) == count and text.isascii() and text.isdigit()


def _invalid(message: str) -> QrRefused:
    return QrRefused(Refusal.INVALID, message)


def _unit(scale: int) -> int:
    return int(10**scale)


def amount_to_text(amount_minor: int, scale: int) -> str:
    """``"150.00"`` for 15000 minor units at scale 2; ``"150"`` at scale 0."""
    assert type(amount_minor) is int, "money is integer minor units"
    assert 0 <= scale <= 3
    if amount_minor <= 0:
        raise _invalid("an amount must be more than zero")
    whole, fraction = divmod(amount_minor, _unit(scale))
    text = f"{whole}.{fraction:0{scale}d}" if scale else str(whole)
    if len(text) > amount_chars_max:
        raise _invalid(f"the amount is too large (at most {amount_chars_max} characters)")
    return text


def amount_from_text(text: str, scale: int, field: str = "54") -> int:
    """15000 from ``"150.00"`` or ``"150"`` at scale 2; refuses more decimals than ``scale``."""
    assert 0 <= scale <= 3
    match = _AMOUNT.fullmatch(text) if text.isascii() else None
    if match is None or len(text) > amount_chars_max:
        raise _invalid(
            f"field {field} is not an amount (digits, a '.' and at most "
            f"{amount_chars_max} characters)"
        )
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > scale:
        raise _invalid(f"field {field}: the currency has {scale} decimal places, not more")
    amount_minor = int(whole) * _unit(scale) + int(fraction.ljust(scale, "0") or "0")
    if amount_minor <= 0:
        raise _invalid("an amount must be more than zero")
    return amount_minor


@dataclass(frozen=True, slots=True)
class MerchantPayload:
    """The fields of one MPM payload (the CRC is computed, never stored).

    Attributes:
        merchant_accounts: IDs 02-51: primitive values (02-25) or templates (26-51)
            whose ``00`` is a globally unique identifier; at least one.
        merchant_category_code: 52, four digits (ISO 18245).
        currency: 53, ISO 4217 numeric (``404`` is KES).
        country: 58, ISO 3166-1 alpha-2 (``KE``).
        merchant_name: 59, at most 25 characters.
        merchant_city: 60, at most 15 characters.
        initiation: 01, static or dynamic, or absent.
        amount_minor: 54, in minor units of ``currency``.
        tip_or_fee: 55, with ``fee_fixed_minor`` (56) or ``fee_percentage`` (57).
        postal_code: 61.
        additional_data: template 62 (05 is the reference label).
        language: template 64 (00 language, 01 name, 02 city), any script.
        unreserved: templates 80-99, each with its ``00`` identifier.
    """

    merchant_accounts: tuple[DataObject, ...]
    merchant_category_code: str
    currency: str
    country: str
    merchant_name: str
    merchant_city: str
    initiation: Initiation | None = None
    amount_minor: int | None = None
    tip_or_fee: TipOrFee | None = None
    fee_fixed_minor: int | None = None
    fee_percentage: str | None = None
    postal_code: str | None = None
    additional_data: tuple[DataObject, ...] = ()
    language: tuple[DataObject, ...] = ()
    unreserved: tuple[DataObject, ...] = ()

    def __post_init__(self) -> None:
        _check_accounts(self.merchant_accounts)
        _check_merchant(self)
        _check_amounts(self)
        _check_additional_data(self.additional_data)
        _check_language(self.language)
        _check_unreserved(self.unreserved)
        # Lengths, characters and IDs are the envelope's rules: an instance always encodes.
        tlv.encode_objects(_objects(self))

    @property
    def scale(self) -> int:
        """The digits of the currency's minor unit."""
        return CURRENCY_SCALES[self.currency]

    def account(self, guid: str) -> DataObject | None:
        """The first merchant account template (26-51) whose identifier is ``guid``."""
        for account in self.merchant_accounts:
            if isinstance(account.value, tuple):
                identifier = tlv.find(account.value, "00")
                if identifier is not None and identifier.value == guid:
                    return account
        return None

    def additional(self, sub_id: str) -> str | None:
        """A value of template 62 (``"05"``: the reference label), or ``None``."""
        found = tlv.find(self.additional_data, sub_id)
        return None if found is None else found.text()


def _check_guid_template(template: DataObject) -> None:
    where = f"template {template.id}"
    if not isinstance(template.value, tuple):
        raise _invalid(f"field {template.id} must be a template")
    guid = tlv.find(template.value, "00")
    if guid is None:
        raise QrRefused(Refusal.MISSING, f"{where} has no identifier (00)")
    if not isinstance(guid.value, str) or len(guid.value) > guid_chars_max:
        raise _invalid(f"{where}: the identifier has at most {guid_chars_max} characters")


def _check_accounts(accounts: tuple[DataObject, ...]) -> None:
    if not accounts:
        raise QrRefused(Refusal.MISSING, "the code names no merchant account (02-51)")
    for account in accounts:
        if not 2 <= int(account.id) <= 51:
            raise _invalid(f"field {account.id} is not a merchant account (02-51)")
        if int(account.id) >= 26:
            _check_guid_template(account)
        elif not isinstance(account.value, str):
            raise _invalid(f"field {account.id} is a plain value, not a template")


def _check_currency(currency: str) -> None:
    if not _digits(currency, 3):
        raise _invalid("the currency (53) is three digits (ISO 4217)")
    if currency not in CURRENCY_SCALES:
        raise QrRefused(Refusal.UNSUPPORTED, f"currency {currency} is not one we pay in")


def _check_merchant(payload: MerchantPayload) -> None:
    if not _digits(payload.merchant_category_code, 4):
        raise _invalid("the merchant category code (52) is four digits")
    _check_currency(payload.currency)
    country = payload.country
    if not (len(country) == 2 and country.isascii() and country.isalpha() and country.isupper()):
        raise _invalid("the country (58) is two capital letters (ISO 3166)")
    for field, value, chars_max in (
        ("59", payload.merchant_name, merchant_name_chars_max),
        ("60", payload.merchant_city, merchant_city_chars_max),
        ("61", payload.postal_code, postal_code_chars_max),
    ):
        if value is not None and len(value) > chars_max:
            raise _invalid(f"field {field} has {len(value)} characters; at most {chars_max}")


def _check_amounts(payload: MerchantPayload) -> None:
    amount = payload.amount_minor
    if amount is not None:
        amount_to_text(amount, payload.scale)
    if payload.initiation is Initiation.DYNAMIC and amount is None:
        raise QrRefused(Refusal.MISSING, "a dynamic code (01 = 12) must carry its amount (54)")
    if payload.initiation is Initiation.STATIC and amount is not None:
        raise _invalid("a static code (01 = 11) carries no amount (54): the payer types it")
    fixed = payload.tip_or_fee is TipOrFee.FIXED
    percentage = payload.tip_or_fee is TipOrFee.PERCENTAGE
    if fixed != (payload.fee_fixed_minor is not None):
        raise _invalid("a fixed fee (56) goes with field 55 = 02, and only with it")
    if percentage != (payload.fee_percentage is not None):
        raise _invalid("a percentage fee (57) goes with field 55 = 03, and only with it")
    if payload.fee_fixed_minor is not None:
        amount_to_text(payload.fee_fixed_minor, payload.scale)
    if payload.fee_percentage is not None and not _PERCENT.fullmatch(payload.fee_percentage):
        raise _invalid("the percentage fee (57) is a number from 0 to 100")


def _check_additional_data(objects: tuple[DataObject, ...]) -> None:
    for data_object in objects:
        if data_object.id not in _ADDITIONAL_DATA_IDS:
            raise _invalid(f"template 62 has no field {data_object.id}")
        if int(data_object.id) <= 9 and len(data_object.text()) > additional_data_chars_max:
            raise _invalid(
                f"field 62/{data_object.id} has at most {additional_data_chars_max} characters"
            )
    request = tlv.find(objects, "09")
    if request is not None and not set(request.text()) <= set("AME"):
        raise _invalid("field 62/09 asks only for A (address), M (mobile) or E (email)")


def _check_language(objects: tuple[DataObject, ...]) -> None:
    if not objects:
        return
    preference = tlv.find(objects, "00")
    name = tlv.find(objects, "01")
    if preference is None or name is None:
        raise QrRefused(Refusal.MISSING, "template 64 needs its language (00) and name (01)")
    code = preference.text()
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise _invalid("the language (64/00) is two letters (ISO 639)")
    for data_object in objects:
        if data_object.id not in ("00", "01", "02"):
            raise _invalid(f"template 64 has no field {data_object.id}")
    if len(name.text()) > merchant_name_chars_max:
        raise _invalid(f"the name in 64/01 has at most {merchant_name_chars_max} characters")
    city = tlv.find(objects, "02")
    if city is not None and len(city.text()) > merchant_city_chars_max:
        raise _invalid(f"the city in 64/02 has at most {merchant_city_chars_max} characters")


def _check_unreserved(templates: tuple[DataObject, ...]) -> None:
    for template in templates:
        if not 80 <= int(template.id) <= 99:
            raise _invalid(f"field {template.id} is not an unreserved template (80-99)")
        _check_guid_template(template)


# Text <-> payload --------------------------------------------------------------------


def _objects(payload: MerchantPayload) -> list[DataObject]:
    scale = payload.scale
    objects = [DataObject("00", "01")]
    if payload.initiation is not None:
        objects.append(DataObject("01", payload.initiation.value))
    objects.extend(payload.merchant_accounts)
    objects += [
        DataObject("52", payload.merchant_category_code),
        DataObject("53", payload.currency),
    ]
    if payload.amount_minor is not None:
        objects.append(DataObject("54", amount_to_text(payload.amount_minor, scale)))
    if payload.tip_or_fee is not None:
        objects.append(DataObject("55", payload.tip_or_fee.value))
    if payload.fee_fixed_minor is not None:
        objects.append(DataObject("56", amount_to_text(payload.fee_fixed_minor, scale)))
    if payload.fee_percentage is not None:
        objects.append(DataObject("57", payload.fee_percentage))
    objects += [
        DataObject("58", payload.country),
        DataObject("59", payload.merchant_name),
        DataObject("60", payload.merchant_city),
    ]
    if payload.postal_code is not None:
        objects.append(DataObject("61", payload.postal_code))
    if payload.additional_data:
        objects.append(DataObject("62", payload.additional_data))
    if payload.language:
        objects.append(DataObject("64", payload.language))
    objects.extend(payload.unreserved)
    return objects


def encode(payload: MerchantPayload) -> str:
    """The payload text, CRC included, ready to render as a QR code."""
    text = tlv.encode_objects(_objects(payload))
    assert text.startswith("000201")
    assert text[-8:-4] == "6304"
    return text


def _required(fields: dict[str, DataObject], object_id: str, name: str) -> str:
    found = fields.get(object_id)
    if found is None:
        raise QrRefused(Refusal.MISSING, f"the code has no {name} ({object_id})")
    return found.text()


def _optional(fields: dict[str, DataObject], object_id: str) -> str | None:
    found = fields.get(object_id)
    return None if found is None else found.text()


def _choice(kind: type[_Choice], text: str | None, field: str) -> _Choice | None:
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise _invalid(f"field {field} cannot be {text!r}") from None


def parse(text: str) -> MerchantPayload:
    """The payload in ``text``; ``QrRefused`` with the reason when it is not a valid one."""
    objects = tlv.parse_objects(text)
    if objects[0].value != "01":
        raise QrRefused(Refusal.UNSUPPORTED, "the code's format version (00) is not 01")
    fields = {data_object.id: data_object for data_object in objects}
    currency = _required(fields, "53", "currency")
    _check_currency(currency)
    scale = CURRENCY_SCALES[currency]
    amount_text, fee_text = _optional(fields, "54"), _optional(fields, "56")
    language, additional = fields.get("64"), fields.get("62")
    return MerchantPayload(
        merchant_accounts=tuple(o for o in objects if 2 <= int(o.id) <= 51),
        merchant_category_code=_required(fields, "52", "merchant category code"),
        currency=currency,
        country=_required(fields, "58", "country"),
        merchant_name=_required(fields, "59", "merchant name"),
        merchant_city=_required(fields, "60", "merchant city"),
        initiation=_choice(Initiation, _optional(fields, "01"), "01"),
        amount_minor=None if amount_text is None else amount_from_text(amount_text, scale),
        tip_or_fee=_choice(TipOrFee, _optional(fields, "55"), "55"),
        fee_fixed_minor=None if fee_text is None else amount_from_text(fee_text, scale, "56"),
        fee_percentage=_optional(fields, "57"),
        postal_code=_optional(fields, "61"),
        additional_data=() if additional is None else additional.objects(),
        language=() if language is None else language.objects(),
        unreserved=tuple(o for o in objects if int(o.id) >= 80),
    )
