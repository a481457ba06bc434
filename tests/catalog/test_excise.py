"""Excise duty is the part of an excise-inclusive fee that is tax: fee × r / (1 + r), half-up.

Method: hand-computed cases at 15 % (Kenya now) and 12 % (Kenya 2021), including
an exact half, and the invariants a ledger relies on.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.catalog import Profile
from tests.catalog.conftest import ksh


@pytest.mark.parametrize(
    ("fee", "excise"),
    [
        (0, 0),
        (ksh(7), 91),  # 700 × 15/115 = 91.30
        (ksh(13), 170),  # 1300 × 15/115 = 169.57
        (ksh(108), 1409),  # 10800 × 15/115 = 1408.70
        (ksh(309), 4030),  # 30900 × 15/115 = 4030.43
        (ksh(23), 300),  # 2300 × 15/115 = 300 exactly
    ],
)
def test_excise_at_15_percent(kenya_now: Profile, fee: int, excise: int) -> None:
    assert kenya_now.excise(fee) == excise


def test_an_exact_half_rounds_up(kenya_2021: Profile) -> None:
    # At 12 %, 14 cents hold 14 × 12/112 = 1.5 cents of excise: half-up gives 2.
    assert kenya_2021.excise(14) == 2
    assert kenya_2021.excise(13) == 1  # 1.39
    assert kenya_2021.excise(ksh(6)) == 64  # 600 × 12/112 = 64.29


def test_excise_refuses_what_is_not_a_fee(kenya_now: Profile) -> None:
    with pytest.raises(ValueError, match="negative"):
        kenya_now.excise(-1)
    with pytest.raises(TypeError):
        kenya_now.excise(7.0)  # type: ignore[arg-type]


@given(fee=st.integers(min_value=0, max_value=10**9))
def test_excise_is_within_the_fee_and_at_most_half_a_cent_off(kenya_now: Profile, fee: int) -> None:
    excise = kenya_now.excise(fee)
    assert 0 <= excise <= fee
    # |excise - fee × 15/115| <= 1/2, multiplied out to integers.
    assert abs(2 * excise * 115 - 2 * fee * 15) <= 115
