"""Every shipped profile loads through one code path; the campus wallet differs from Kenya.

Method: load each shipped profile by name and by path; then check that the
campus profile's figures are its own, which proves none of Kenya's is hard-coded.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pytest

from mkoba.catalog import PRODUCTS, Catalog, Fee, Profile, list_profiles, load_catalog
from tests.catalog.conftest import ksh


def test_the_shipped_profiles() -> None:
    assert list_profiles() == ["campus", "kenya"]


@pytest.mark.parametrize("name", list_profiles())
def test_every_shipped_profile_loads_by_name_and_by_path(name: str) -> None:
    by_name = load_catalog(name)
    folder = resources.files("mkoba.catalog").joinpath("profiles")
    with resources.as_file(folder.joinpath(f"{name}.yaml")) as path:
        by_path = load_catalog(path)
    assert by_name.name == name
    assert [p.version for p in by_name.versions] == [p.version for p in by_path.versions]
    for profile in by_name.versions:
        assert profile.name == name
        assert profile.version.startswith(f"{name}@")
        assert profile.products <= set(PRODUCTS)
        assert profile.effective_from.utcoffset() == timedelta(0)


@pytest.mark.parametrize("name", list_profiles())
def test_every_fee_band_edge_of_every_version_has_a_fee_within_the_amount(name: str) -> None:
    # The loader's promise, checked from the outside: each product prices its whole range.
    for profile in load_catalog(name).versions:
        for product in profile.products:
            tariff = profile.tariff(product)
            for variant in tariff.variants or [None]:
                for amount in (tariff.minimum, tariff.minimum + 1, tariff.maximum):
                    fee = profile.fee(product, amount, variant)
                    assert 0 <= fee.customer <= amount
                    assert 0 <= fee.business <= amount
                    assert 0 <= profile.commission(product, amount) <= amount


@pytest.fixture(scope="module")
def campus_now(campus: Catalog) -> Profile:
    return campus.current()


def test_campus_has_its_own_ledger_tiers_and_limits(campus_now: Profile) -> None:
    assert campus_now.version == "campus@2025-09-01"
    assert campus_now.ledger == 2
    assert campus_now.currency.code == "KES"
    assert campus_now.tiers == ("student", "staff")
    assert campus_now.limits("staff").transaction_max == ksh(20_000)
    assert campus_now.limits("staff").balance_max == ksh(50_000)
    assert campus_now.limits("student").daily_max == ksh(10_000)
    with pytest.raises(KeyError):
        campus_now.limits("full")


def test_campus_fees_free_up_to_500_then_a_flat_5(campus_now: Profile) -> None:
    assert campus_now.fee("send_money", ksh(500)) == Fee(0, 0)
    assert campus_now.fee("send_money", ksh(501)) == Fee(ksh(5), 0)
    assert campus_now.fee("send_money", ksh(20_000)) == Fee(ksh(5), 0)
    with pytest.raises(ValueError, match="outside"):
        campus_now.fee("send_money", ksh(20_001))


def test_campus_offers_fewer_products_and_one_paybill_variant(campus_now: Profile) -> None:
    assert "buy_airtime" not in campus_now.products
    assert "b2c" not in campus_now.products
    assert campus_now.variants("pay_bill") == ("business_bears",)
    # The one variant is the default, so a caller need not name it.
    assert campus_now.fee("pay_bill", ksh(1_000)) == Fee(0, 500)  # 0.5% of 1,000
    assert campus_now.fee("pay_bill", ksh(20_000)) == Fee(0, ksh(100))  # capped
    assert campus_now.fee("buy_goods", ksh(300)) == Fee(0, ksh(3))  # 1%


def test_campus_rules_differ_from_kenya(campus_now: Profile, kenya_now: Profile) -> None:
    assert campus_now.pin_attempts_max == 3 != kenya_now.pin_attempts_max
    assert campus_now.voucher.enabled and not kenya_now.voucher.enabled
    assert campus_now.voucher.validity == timedelta(days=7)
    assert campus_now.voucher.transaction_max == ksh(2_000)
    assert campus_now.fee("send_unregistered", ksh(100)) == Fee(ksh(10), 0)
    assert campus_now.deadline_s("ussd") == 10 != kenya_now.deadline_s("ussd")
    assert campus_now.reversal_window == timedelta(hours=72)
    assert campus_now.commission("withdraw", ksh(1_000)) == 0  # no agent commission
    assert campus_now.excise(ksh(5)) == 0  # no excise on a closed-loop wallet
