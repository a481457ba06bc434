"""The token index: which listed tokens a screened word finds, and which it must not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from mkoba.risk.screening.index import TokenIndex, edits_allowed

VOCABULARY = ["kamau", "kamua", "kimani", "abdirahman", "ali", "aly", "wanjiku", "karanja"]


def test_one_edit_is_found_at_any_letter_the_first_too() -> None:
    index = TokenIndex(VOCABULARY)
    assert index.similar("kamau") == {"kamau", "kamua"}
    assert index.similar("xanjiku") == {"wanjiku"}
    assert index.similar("wanjik") == {"wanjiku"}


def test_two_edits_only_in_long_tokens_and_with_the_first_letter_right() -> None:
    index = TokenIndex(VOCABULARY)
    assert index.similar("abdurahmaan") == {"abdirahman"}
    assert index.similar("ebdurahman") == set()
    assert index.similar("karanga") == {"karanja"}
    assert index.similar("kerenja") == set()  # two edits in a seven-letter token


def test_short_tokens_are_found_only_exactly() -> None:
    index = TokenIndex(VOCABULARY)
    assert index.similar("ali") == {"ali"}
    assert index.similar("aly") == {"aly"}
    assert index.similar("al") == set()


words = st.text(alphabet="abdehikmnorstuw", min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=30), words)
def test_every_token_found_is_within_the_allowed_edits_and_none_is_missed_at_one(
    vocabulary: list[str], word: str
) -> None:
    found = TokenIndex(vocabulary).similar(word)
    for token in set(vocabulary):
        allowed = edits_allowed(min(len(word), len(token)))
        distance = OSA.distance(word, token)
        if token in found:
            assert distance <= allowed
        elif distance <= min(allowed, 1) or (distance <= allowed and word[0] == token[0]):
            raise AssertionError(f"{token!r} is {distance} edit(s) from {word!r}, not found")
