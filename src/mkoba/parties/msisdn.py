"""Phone numbers: any local or international form in, one canonical form out.

The canonical MSISDN is the E.164 number without the plus sign
(``254712345678``); it is how a wallet is named everywhere in mkoba.
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidMsisdn(ValueError):
    """Text that is not a mobile number we can serve, with the reason as its message."""


_MOBILE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# Parsing and formatting a number costs about 25 us, twice or three times a request: the
# answers for the numbers in use are kept (invalid ones raise, and are never kept).
numbers_cached_max = 65_536


def normalize_msisdn(text: str, region: str = "KE") -> str:
    """``254712345678`` from ``0712 345 678``, ``+254712345678``, ``254-712-345678``...

    Raises ``InvalidMsisdn`` with a message fit for the person who typed it.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidMsisdn("enter a phone number")
    return _normalize(text, region)


@functools.lru_cache(maxsize=numbers_cached_max)
def _normalize(text: str, region: str) -> str:
    cleaned = text.strip()
    if len(cleaned) > 32:
        raise InvalidMsisdn("that is too long to be a phone number")
    if cleaned.isdigit() and len(cleaned) > 9 and not cleaned.startswith("0"):
        # 254712345678 without the plus sign: international digits.
        cleaned = "+" + cleaned
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException:
        raise InvalidMsisdn(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidMsisdn(f"{text!r} is not a valid phone number")
    if phonenumbers.number_type(number) not in _MOBILE:
        raise InvalidMsisdn(f"{text!r} is not a mobile number")
    if phonenumbers.region_code_for_number(number) != region:
        raise InvalidMsisdn(f"{text!r} is not a {region} mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


@functools.lru_cache(maxsize=numbers_cached_max)
def local_msisdn(msisdn: str, region: str = "KE") -> str:
    """The number as people at home write it: ``0712345678``."""
    number = phonenumbers.parse("+" + msisdn, region)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national.replace(" ", "")


def mask_msisdn(msisdn: str, region: str = "KE") -> str:
    """A number with its middle hidden, as on an M-Pesa receipt: ``0712***678``."""
    local = local_msisdn(msisdn, region)
    if len(local) < 7:
        return "*" * len(local)
    return f"{local[:4]}***{local[-3:]}"
