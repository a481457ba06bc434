"""Normalisation: one canonical form per name, whatever the accents, case, titles or punctuation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mkoba.risk.screening.names import normalise, tokens


def test_accents_case_and_full_width_letters_fold_to_plain_ascii() -> None:
    assert normalise("Jérôme KAKWAVU") == "jerome kakwavu"
    assert normalise("Ｋａｍａｕ") == "kamau"
    assert normalise("Søren Łukasz Straße") == "soren lukasz strasse"


def test_titles_are_dropped_but_a_name_made_only_of_titles_is_kept() -> None:
    assert normalise("Hon. Dr. Wanjiku Kamau") == "wanjiku kamau"
    assert normalise("Mrs Achieng (MP), Hon.") == "achieng mp"
    assert normalise("Dr.") == "dr"


def test_apostrophes_join_and_other_punctuation_separates() -> None:
    assert normalise("Ochieng' O'Brien") == "ochieng obrien"
    assert normalise("MAKENGA, Sultani al-Zawahiri") == "makenga sultani al zawahiri"
    assert tokens("  Kamau \t  Njoroge\n") == ("kamau", "njoroge")


def test_nothing_but_punctuation_normalises_to_nothing() -> None:
    assert normalise(" .,-- ") == ""
    assert tokens("!!!") == ()


@given(st.text())
def test_normalising_twice_changes_nothing(name: str) -> None:
    once = normalise(name)
    assert normalise(once) == once


@given(st.text())
def test_the_form_is_single_spaced_and_casefolded(name: str) -> None:
    result = normalise(name)
    assert "  " not in result
    assert result == result.strip()
    assert result.casefold() == result
