"""Canonical numbers skip the parse: the shortcut must give exactly the parse's answer."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from mkoba.parties import msisdn
from mkoba.parties.msisdn import InvalidMsisdn

# The shipped profiles' countries, neighbours, and regions that share a country code.
REGIONS = ("KE", "UG", "TZ", "RW", "GH", "NG", "ZA", "GB", "US", "CA")


def normalized(text: str, region: str) -> str | None:
    """What ``normalize_msisdn`` makes of ``text`` (None: refused), never from its cache."""
    msisdn._normalize.cache_clear()
    try:
        return msisdn.normalize_msisdn(text, region)
    except InvalidMsisdn:
        return None


def parsed(text: str, region: str) -> str | None:
    """What the full parse alone makes of ``text`` (None: refused)."""
    shape = msisdn._mobile
    try:
        msisdn._mobile = lambda _region: None  # type: ignore[assignment]
        return normalized(text, region)
    finally:
        msisdn._mobile = shape  # type: ignore[assignment]
        msisdn._normalize.cache_clear()


def near_mobile(region: str, draw: st.DrawFn) -> str:
    """A number close to the region's example mobile: some digits changed, some lengths."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    national = list(str(example.national_number))
    for _ in range(draw(st.integers(0, 4))):
        national[draw(st.integers(0, len(national) - 1))] = str(draw(st.integers(0, 9)))
    cut = draw(st.integers(-1, 1))
    digits = "".join(national)
    digits = digits[:cut] if cut < 0 else digits + "7" * cut
    return str(example.country_code) + digits


@st.composite
def candidates(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(REGIONS))
    return region, near_mobile(region, draw)


@settings(max_examples=1000)
@given(candidates())
def test_the_shortcut_agrees_with_the_parse(candidate: tuple[str, str]) -> None:
    region, digits = candidate
    if msisdn._canonical(digits, region):
        assert parsed(digits, region) == digits
        # The local form, built without a parse, is the parsed number's.
        msisdn.local_msisdn.cache_clear()
        full = phonenumbers.parse("+" + digits, region)
        national = phonenumbers.format_number(full, phonenumbers.PhoneNumberFormat.NATIONAL)
        assert msisdn.local_msisdn(digits, region) == national.replace(" ", "")
    assert normalized(digits, region) == parsed(digits, region)


def test_the_shortcut_takes_canonical_kenyan_numbers_and_not_shared_codes() -> None:
    assert msisdn._canonical("254712345678", "KE")
    assert msisdn._canonical("254110123456", "KE")
    assert not msisdn._canonical("0712345678", "KE")
    assert not msisdn._canonical("25471234567", "KE")
    assert not msisdn._canonical("256712345678", "KE")
    # +1 is shared by many regions: only the parse can tell which a number is.
    assert not msisdn._canonical("12015550123", "US")
