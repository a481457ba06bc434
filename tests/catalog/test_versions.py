"""Versions: the right one is in force at each moment, and history keeps its tariff.

Method: pick versions around real effective dates; then add a made-up later
version to a copy of kenya.yaml, to show a tariff change is a data change only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from mkoba.catalog import Catalog, CatalogError, Fee, Profile, load_catalog
from tests.catalog.conftest import ksh, nairobi


def test_versions_ascend_and_have_stable_ids(kenya: Catalog) -> None:
    assert [profile.version for profile in kenya.versions] == [
        "kenya@2021-01-01",
        "kenya@2023-08-15",
        "kenya@2024-02-05",
    ]
    starts = [profile.effective_from for profile in kenya.versions]
    assert starts == sorted(starts)
    # A date in the file means midnight in Nairobi, stored in UTC.
    assert kenya.versions[1].effective_from == datetime(2023, 8, 14, 21, 0, tzinfo=UTC)


def test_the_version_changes_at_midnight_nairobi_time(kenya: Catalog) -> None:
    last_second = nairobi(2023, 8, 14, 23, 59, 59)
    first_second = nairobi(2023, 8, 15, 0, 0, 0)
    assert kenya.at(last_second).version == "kenya@2021-01-01"
    assert kenya.at(first_second).version == "kenya@2023-08-15"
    # The same instants given in UTC pick the same versions.
    assert kenya.at(first_second.astimezone(UTC)).version == "kenya@2023-08-15"
    assert kenya.at(first_second.astimezone(UTC) - timedelta(microseconds=1)).version == (
        "kenya@2021-01-01"
    )


def test_history_keeps_the_tariff_it_was_charged_under(
    kenya_2021: Profile, kenya_now: Profile
) -> None:
    assert kenya_2021.version == "kenya@2021-01-01"
    assert kenya_2021.fee("send_money", ksh(101)) == Fee(ksh(6), 0)
    assert kenya_now.fee("send_money", ksh(101)) == Fee(ksh(7), 0)
    assert kenya_2021.fee("send_money", ksh(2_000)).customer == ksh(32)
    assert kenya_now.fee("send_money", ksh(2_000)).customer == ksh(33)
    assert kenya_2021.limits("full") == (ksh(150_000), ksh(300_000), ksh(300_000))
    assert kenya_2021.maximum("send_money") == ksh(150_000)
    assert kenya_2021.excise_rate * 100 == 12
    assert kenya_now.excise_rate * 100 == 15


def test_a_receipts_version_id_finds_the_tariff_it_was_charged_under(kenya: Catalog) -> None:
    charged_under = kenya.at(nairobi(2022, 3, 1, 12, 0))
    receipt_version = charged_under.version
    assert kenya.by_id(receipt_version) is charged_under
    assert kenya.by_id(receipt_version).fee("send_money", ksh(101)).customer == ksh(6)
    with pytest.raises(KeyError, match="kenya@1999-01-01"):
        kenya.by_id("kenya@1999-01-01")


def test_vouchers_ended_in_february_2024(kenya: Catalog) -> None:
    before = kenya.at(nairobi(2024, 2, 4, 23, 0))
    after = kenya.at(nairobi(2024, 2, 5, 0, 0))
    assert before.voucher.enabled
    assert before.voucher.validity == timedelta(days=7)
    assert before.fee("send_unregistered", ksh(500)).customer == ksh(45)
    assert not after.voucher.enabled
    assert "send_unregistered" not in after.products
    # Everything else was inherited unchanged.
    assert after.fee("send_money", ksh(101)) == before.fee("send_money", ksh(101))
    assert after.limits("full") == before.limits("full")


def test_a_naive_datetime_is_refused(kenya: Catalog) -> None:
    with pytest.raises(ValueError, match="time zone"):
        kenya.at(datetime(2022, 1, 1))  # naive on purpose


def test_before_the_first_version_there_is_no_tariff(kenya: Catalog) -> None:
    with pytest.raises(CatalogError, match="no kenya version is in force"):
        kenya.at(nairobi(2020, 12, 31, 23, 59))


def test_current_is_the_version_in_force_now(kenya: Catalog) -> None:
    assert kenya.current() is kenya.at(datetime.now(UTC))


LATER_VERSION = """
  - effective_from: 2030-07-01
    note: "made up: sends of 101-500 cost 8, excise 20%"
    excise_rate: "20%"
    products:
      send_money:
        customer:
          bands:
            - [1, 100, 0]
            - [101, 500, 8]
            - [501, 250_000, 13]
"""


@pytest.fixture
def with_later_version(tmp_path: Path) -> Catalog:
    shipped = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text()
    path = tmp_path / "kenya.yaml"
    path.write_text(shipped + LATER_VERSION, encoding="utf-8")
    return load_catalog(path)


def test_a_tariff_change_is_only_data(with_later_version: Catalog) -> None:
    before = with_later_version.at(nairobi(2030, 6, 30, 23, 59))
    after = with_later_version.at(nairobi(2030, 7, 1, 0, 0))
    assert before.version == "kenya@2024-02-05"
    assert after.version == "kenya@2030-07-01"
    assert before.fee("send_money", ksh(101)).customer == ksh(7)
    assert after.fee("send_money", ksh(101)).customer == ksh(8)
    assert after.fee("send_money", ksh(10_000)).customer == ksh(13)
    assert after.excise(ksh(12)) == 200  # 12 * 20/120 = 2.00
    # What the new version did not mention is inherited from the one before.
    assert after.fee("withdraw", ksh(2_501)) == before.fee("withdraw", ksh(2_501))
    assert after.limits("full") == before.limits("full")
    assert after.products == before.products
    # Receipts written under the old versions still resolve to them.
    assert with_later_version.at(nairobi(2022, 1, 1)).fee("send_money", ksh(101)).customer == (
        ksh(6)
    )


def test_a_version_may_have_a_time_of_day(tmp_path: Path) -> None:
    shipped = resources.files("mkoba.catalog").joinpath("profiles", "campus.yaml").read_text()
    path = tmp_path / "campus.yaml"
    path.write_text(
        shipped + "  - effective_from: 2026-01-05 06:30:00\n    pin_attempts_max: 4\n",
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert catalog.versions[-1].version == "campus@2026-01-05T06:30"
    assert catalog.at(nairobi(2026, 1, 5, 6, 29)).pin_attempts_max == 3
    assert catalog.at(nairobi(2026, 1, 5, 6, 30)).pin_attempts_max == 4
