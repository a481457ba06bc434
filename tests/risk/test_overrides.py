"""Rule overrides laid over profile versions: from their moment on, the latest one winning.

Method: the shipped Kenya profile and overrides as the console's desk records them,
read through ``RuleBook`` as TranProc reads them (no store: the table's part is driven
through the console in ``tests/channels/console/test_rule_changes.py``).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from mkoba.catalog import Profile, load_catalog
from mkoba.risk import overrides
from mkoba.risk.overrides import Override, RuleBook
from tests.catalog.conftest import ksh

HOUR_NS = 3_600 * 1_000_000_000


@pytest.fixture
def kenya() -> Profile:
    return load_catalog("kenya").current()


def change(number: int, rule: str, parameter: str, value: object, at: int) -> Override:
    return Override(number, rule, parameter, value, at, number, "ops.1", "comp.1", "why", at)


def test_an_override_counts_from_its_moment_and_the_latest_of_a_parameter_wins(
    kenya: Profile,
) -> None:
    book = RuleBook()
    book.replace(
        [
            change(2, "R1", "per_hour", 3, 2 * HOUR_NS),
            change(1, "R1", "per_hour", 5, 1 * HOUR_NS),
            change(3, "R6", "new_payee_over", "2500.50", 3 * HOUR_NS),
        ]
    )
    assert book.effective(kenya, 0) is kenya  # nothing in force yet: the version itself
    at = [book.effective(kenya, hour * HOUR_NS) for hour in (1, 2, 3)]
    risk = [profile.risk for profile in at]
    assert all(found is not None for found in risk)
    assert [found.R1.per_hour for found in risk if found] == [5, 3, 3]
    assert [found.R1.per_day for found in risk if found] == [30, 30, 30]  # the rest kept
    last = risk[-1]
    assert last is not None and last.R6.new_payee_over == ksh(2_500) + 50
    assert all(profile.version == kenya.version for profile in at)
    assert book.effective(kenya, 3 * HOUR_NS) is at[-1]  # cached for the hot path
    assert kenya.risk is not None and kenya.risk.R1.per_hour == 10  # the version unchanged


def test_values_are_read_as_the_profile_file_writes_them(kenya: Profile) -> None:
    assert overrides.check(kenya, "r7", "enabled", "off") is False
    assert overrides.check(kenya, "R2", "limit_share", "70%") == "70%"
    assert overrides.check(kenya, "R6", "new_payee_over", "7_500") == 7_500
    book = RuleBook()
    book.replace(
        [
            change(1, "R7", "enabled", False, 0),
            change(2, "R2", "limit_share", "70%", 0),
            change(3, "R1", "action", "refuse", 0),
        ]
    )
    risk = book.effective(kenya, 1).risk
    assert risk is not None
    assert not risk.R7.enabled and risk.R2.limit_share == Fraction(7, 10)
    assert risk.R1.action == "refuse"
    shown = book.effective(kenya, 1)
    assert overrides.shown(shown, "R7", "enabled") == "off"
    assert overrides.shown(shown, "R2", "limit_share") == "70%"
    assert overrides.shown(kenya, "R6", "new_payee_over") == "Ksh5,000.00"


def test_an_override_a_version_refuses_is_skipped_not_applied(kenya: Profile) -> None:
    book = RuleBook()
    book.replace([change(1, "R1", "per_hour", 0, 0), change(2, "R1", "per_day", 12, 0)])
    risk = book.effective(kenya, 1).risk
    assert risk is not None and (risk.R1.per_hour, risk.R1.per_day) == (10, 12)


def test_a_moment_is_read_in_the_profile_s_local_time(kenya: Profile) -> None:
    assert overrides.moment("", kenya.timezone) is None
    nairobi = overrides.moment("2026-12-24T08:00", kenya.timezone)
    utc = overrides.moment("2026-12-24T05:00+00:00", kenya.timezone)
    assert nairobi == utc == overrides.moment("2026-12-24T05:00Z", kenya.timezone)
    with pytest.raises(overrides.Invalid, match="effective: a date"):
        overrides.moment("Christmas", kenya.timezone)
