"""The one definition of storable text: what every edge refuses, and what it lets through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.text import check_text, storable, text_problem


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("A\ud800", "unpaired surrogate (U+D800) at position 1"),
        ("\udfff", "unpaired surrogate (U+DFFF) at position 0"),
        ("ab\x00", "control character (U+0000) at position 2"),
        ("\x1b[31m", "control character (U+001B) at position 0"),
        ("x\x85", "control character (U+0085) at position 1"),
    ],
)
def test_unstorable_text_is_named(value: str, why: str) -> None:
    assert text_problem(value) == f"contains an {why}" or text_problem(value) == f"contains a {why}"
    assert not storable(value)
    with pytest.raises(ValueError, match="position"):
        check_text(value)


@pytest.mark.parametrize("value", ["", "Wanjiku Kamau", "Ksh1,000.00", "Habari\nyako\t!", "₹ 🙂 ü"])
def test_ordinary_text_passes(value: str) -> None:
    assert text_problem(value) is None
    assert check_text(value) == value


@given(st.text())
def test_storable_text_encodes_and_holds_no_nul(value: str) -> None:
    if storable(value):
        value.encode("utf-8")
        assert "\x00" not in value
    else:
        assert text_problem(value) is not None
