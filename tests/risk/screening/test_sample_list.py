"""The shipped sample list: it loads, it catches its own people, and no demo party is on it."""

from __future__ import annotations

import pytest

from mkoba.demo import seed
from mkoba.risk.screening import SAMPLE_LIST
from mkoba.risk.screening.lists import load_list
from mkoba.risk.screening.matcher import Screener

SAMPLE = SAMPLE_LIST


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.from_list(load_list(SAMPLE))


def test_the_sample_list_loads_with_its_version() -> None:
    loaded = load_list(SAMPLE)
    assert loaded.version == "sample-2026-12-06"
    assert len(loaded.entries) == 12


def test_no_demo_customer_or_business_matches_the_sample_list(screener: Screener) -> None:
    people = seed.customers(1, seed.CUSTOMERS, "full", 0) + seed.businesses(
        iter(range(2, 10**6)), 0
    )
    matched = {person.party.name: screener.screen(person.party.name) for person in people}
    assert {name: hits for name, hits in matched.items() if hits} == {}


@pytest.mark.parametrize(
    ("screened", "entry_id"),
    [
        ("Jerome Ssemanda", "MK-S-005"),  # an alias, without the accents
        ("Abdurahman Farah Dualeh", "MK-S-002"),  # a transliteration variant, one edit off
        ("Saidi Omar Bakari", "MK-P-004"),  # title dropped, a Swahili spelling
        ("Naliaka Wasike Khisa", "MK-P-002"),
        ("Jabali Traders", "MK-S-007"),  # an entity, by its alias
    ],
)
def test_the_sample_list_catches_its_own_names(
    screener: Screener, screened: str, entry_id: str
) -> None:
    assert [match.entry_id for match in screener.screen(screened)] == [entry_id]
