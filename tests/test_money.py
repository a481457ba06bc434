"""Amounts parsed at the edge: exact minor units, or a clear ValueError (never a crash)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.money import currency, format_amount, parse_amount

KES = currency("KES")


@pytest.mark.parametrize(
    ("text", "minor"), [("1,000.50", 100_050), ("Ksh 50", 5_000), ("100", 10_000), ("0.5", 50)]
)
def test_amounts_parse_exactly(text: str, minor: int) -> None:
    assert parse_amount(text, KES) == minor


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("9" * 5000, "at most 32 characters"),
        ("1e3", "not an amount"),
        ("10.001", "2 decimal places"),
        ("1,00,0", "misplaced thousands separator"),
        ("٣٠٠", "not an amount"),
    ],
)
def test_what_is_not_an_amount_says_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_amount(text, KES)


@given(st.text(st.characters(codec=None, categories=None), max_size=60))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        minor = parse_amount(text, KES)
    except ValueError:
        return
    assert type(minor) is int
    assert parse_amount(format_amount(abs(minor), KES, symbol=False), KES) == abs(minor)
