"""Phone numbers: any local or international form in, one canonical form out.

The canonical MSISDN is the E.164 number without the plus sign
(``254712345678``); it is how a wallet is named everywhere in mkoba.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneNumberType


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


class _Mobile(NamedTuple):
    """A region's mobile numbers, from phonenumbers' metadata: country code and patterns."""

    country_code: str
    lengths: frozenset[int]
    mobile: re.Pattern[str]
    general: re.Pattern[str]


@functools.cache
def _mobile(region: str) -> _Mobile | None:
    """How to recognise ``region``'s canonical mobile numbers without parsing, if we can.

    Only for a country code that one region has alone: where several share one (+1,
    +44), only the full parse knows which region a number belongs to.
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or metadata.general_desc is None:
        return None
    code = metadata.country_code
    mobile, general = metadata.mobile, metadata.general_desc
    if code is None or len(COUNTRY_CODE_TO_REGION_CODE.get(code, ())) != 1:
        return None
    if not mobile.national_number_pattern:
        return None
    lengths = mobile.possible_length or general.possible_length
    if not lengths or not general.national_number_pattern:
        return None
    return _Mobile(
        str(code),
        frozenset(lengths),
        re.compile(mobile.national_number_pattern),
        re.compile(general.national_number_pattern),
    )


def _canonical(digits: str, region: str) -> bool:
    """Whether ``digits`` are already a valid mobile number of ``region`` in canonical form.

    The same verdict as parsing them (country code, length, the mobile and general
    patterns of phonenumbers' metadata), about fifty times cheaper: most numbers that
    reach TranProc come from channels that have made them canonical already.
    """
    shape = _mobile(region)
    if shape is None or not digits.startswith(shape.country_code):
        return False
    national = digits[len(shape.country_code) :]
    return (
        len(national) in shape.lengths
        and not national.startswith("0")
        and shape.mobile.fullmatch(national) is not None
        and shape.general.fullmatch(national) is not None
    )


@functools.lru_cache(maxsize=numbers_cached_max)
def _normalize(text: str, region: str) -> str:
    cleaned = text.strip()
    if len(cleaned) > 32:
        raise InvalidMsisdn("that is too long to be a phone number")
    if cleaned.isascii() and cleaned.isdigit() and _canonical(cleaned, region):
        return cleaned
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
    shape = _mobile(region)
    if shape is not None and _canonical(msisdn, region):
        # Already known valid: build the number instead of parsing its text again.
        national_number = int(msisdn[len(shape.country_code) :])
        number = phonenumbers.PhoneNumber(
            country_code=int(shape.country_code), national_number=national_number
        )
    else:
        number = phonenumbers.parse("+" + msisdn, region)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national.replace(" ", "")


def mask_msisdn(msisdn: str, region: str = "KE") -> str:
    """A number with its middle hidden, as on an M-Pesa receipt: ``0712***678``."""
    local = local_msisdn(msisdn, region)
    if len(local) < 7:
        return "*" * len(local)
    return f"{local[:4]}***{local[-3:]}"
