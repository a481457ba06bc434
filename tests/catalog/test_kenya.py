"""The Kenya profile charges what the tariff sheets in mpesa.md say, at every band edge.

Method: a table of (amount in shillings, expected fee in shillings) read off the
sheets, checked against ``profile.fee`` in cents; then the rules around fees
(limits, minimums, variants, rates, commissions).
"""

from __future__ import annotations

import pytest

from mkoba.catalog import Fee, Profile
from mkoba.catalog.tariff import BandCharge
from tests.catalog.conftest import ksh

# Send Money, 2024-25 sheet (mpesa.md §4): band edges on both sides.
SEND_NOW = [
    (1, 0), (49, 0), (50, 0), (100, 0), (101, 7), (500, 7), (501, 13), (1_000, 13),
    (1_001, 23), (1_500, 23), (1_501, 33), (2_500, 33), (2_501, 53), (3_500, 53),
    (3_501, 57), (5_000, 57), (5_001, 78), (7_500, 78), (7_501, 90), (10_000, 90),
    (10_001, 100), (15_000, 100), (15_001, 105), (20_000, 105), (20_001, 108),
    (35_000, 108), (35_001, 108), (50_000, 108), (50_001, 108), (250_000, 108),
]  # fmt: skip

# Withdraw at an agent, 2024-25 sheet (mpesa.md §4).
WITHDRAW_NOW = [
    (50, 11), (100, 11), (101, 29), (500, 29), (1_000, 29), (1_500, 29), (2_500, 29),
    (2_501, 52), (3_500, 52), (3_501, 69), (5_000, 69), (5_001, 87), (7_500, 87),
    (7_501, 115), (10_000, 115), (10_001, 167), (15_000, 167), (15_001, 185),
    (20_000, 185), (20_001, 197), (35_000, 197), (35_001, 278), (50_000, 278),
    (50_001, 309), (250_000, 309),
]  # fmt: skip


@pytest.mark.parametrize(("shillings", "fee"), SEND_NOW)
def test_send_money_matches_the_2024_sheet(kenya_now: Profile, shillings: int, fee: int) -> None:
    assert kenya_now.fee("send_money", ksh(shillings)) == Fee(customer=ksh(fee), business=0)


@pytest.mark.parametrize(("shillings", "fee"), WITHDRAW_NOW)
def test_withdraw_matches_the_2024_sheet(kenya_now: Profile, shillings: int, fee: int) -> None:
    assert kenya_now.fee("withdraw", ksh(shillings)) == Fee(customer=ksh(fee), business=0)


def test_an_amount_with_cents_between_two_bands_is_in_the_upper_one(kenya_now: Profile) -> None:
    # The sheet's 50-100 and 101-500 bands are whole shillings; 100.50 is above 100.
    assert kenya_now.fee("send_money", ksh("100.50")).customer == ksh(7)
    assert kenya_now.fee("send_money", ksh("100.00")).customer == 0


def test_limits_of_the_full_tier_and_a_lower_tier(kenya_now: Profile) -> None:
    assert kenya_now.tiers == ("basic", "full")
    full = kenya_now.limits("full")
    assert full.transaction_max == ksh(250_000)
    assert full.daily_max == ksh(500_000)
    assert full.balance_max == ksh(500_000)
    basic = kenya_now.limits("basic")
    assert basic.transaction_max < full.transaction_max
    with pytest.raises(KeyError, match="gold"):
        kenya_now.limits("gold")


def test_product_minimums_and_maximums(kenya_now: Profile) -> None:
    assert kenya_now.minimum("withdraw") == ksh(50)
    assert kenya_now.maximum("withdraw") == ksh(250_000)
    assert kenya_now.minimum("send_money") == ksh(1)
    assert kenya_now.maximum("send_money") == ksh(250_000)


@pytest.mark.parametrize("shillings", [49, 250_001])
def test_a_withdrawal_outside_the_range_has_no_fee(kenya_now: Profile, shillings: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        kenya_now.fee("withdraw", ksh(shillings))


def test_money_is_integer_cents_only(kenya_now: Profile) -> None:
    with pytest.raises(TypeError):
        kenya_now.fee("send_money", 100.0)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="teleport"):
        kenya_now.fee("teleport", ksh(100))


@pytest.mark.parametrize("product", ["deposit", "buy_airtime", "float_transfer", "reversal"])
def test_free_products_cost_nobody_anything(kenya_now: Profile, product: str) -> None:
    amount = kenya_now.minimum(product) + ksh(1)
    assert kenya_now.fee(product, amount) == Fee(0, 0)


@pytest.mark.parametrize(
    ("shillings", "merchant_cents"),
    [
        (1, 0),
        (200, 0),  # 200 or less is free
        (201, 101),  # 0.5% of 201 is 1.005: 100.5 cents, half-up to 101
        (1_000, 500),
        (40_000, 20_000),  # the cap is reached at 40,000
        (250_000, 20_000),  # and holds above
    ],
)
def test_buy_goods_is_free_to_the_customer_and_the_merchant_pays_half_a_percent(
    kenya_now: Profile, shillings: int, merchant_cents: int
) -> None:
    assert kenya_now.fee("buy_goods", ksh(shillings)) == Fee(0, merchant_cents)


@pytest.mark.parametrize(
    ("shillings", "customer_bears", "business_bears", "shared"),
    [
        (100, 0, 0, (0, 0)),
        (101, 5, 5, (5, 0)),
        (1_000, 10, 10, (10, 0)),
        (1_001, 15, 15, (10, 5)),
        (5_000, 34, 34, (16, 18)),
        (50_000, 108, 108, (24, 84)),
        (250_000, 108, 108, (24, 84)),
    ],
)
def test_each_paybill_variant_2024(
    kenya_now: Profile,
    shillings: int,
    customer_bears: int,
    business_bears: int,
    shared: tuple[int, int],
) -> None:
    amount = ksh(shillings)
    assert kenya_now.fee("pay_bill", amount, "customer_bears") == Fee(ksh(customer_bears), 0)
    assert kenya_now.fee("pay_bill", amount, "business_bears") == Fee(0, ksh(business_bears))
    assert kenya_now.fee("pay_bill", amount, "shared") == Fee(ksh(shared[0]), ksh(shared[1]))


def test_the_2021_mgao_split_charges_1000_to_1499_as_23_and_12(kenya_2021: Profile) -> None:
    assert kenya_2021.fee("pay_bill", ksh(1_000), "shared") == Fee(ksh(23), ksh(12))
    assert kenya_2021.fee("pay_bill", ksh(1_499), "shared") == Fee(ksh(23), ksh(12))
    assert kenya_2021.fee("pay_bill", ksh(999), "shared") == Fee(ksh(23), 0)


@pytest.mark.parametrize("when", ["kenya_2021", "kenya_now"])
def test_the_shared_paybill_splits_the_same_total_as_the_others(
    when: str, request: pytest.FixtureRequest
) -> None:
    profile: Profile = request.getfixturevalue(when)
    tariff = profile.tariff("pay_bill")
    for variant in ("customer_bears", "shared"):
        charge = tariff.variants[variant].customer
        assert isinstance(charge, BandCharge)
        for band in charge.bands:
            for amount in (band.lowest, band.highest):
                total = profile.fee("pay_bill", amount, "customer_bears").total
                assert profile.fee("pay_bill", amount, "shared").total == total
                assert profile.fee("pay_bill", amount, "business_bears").total == total


def test_a_paybill_fee_needs_the_billers_variant(kenya_now: Profile) -> None:
    assert kenya_now.variants("pay_bill") == ("customer_bears", "business_bears", "shared")
    with pytest.raises(KeyError, match="needs a variant"):
        kenya_now.fee("pay_bill", ksh(1_000))
    with pytest.raises(KeyError, match="no variant 'mgao'"):
        kenya_now.fee("pay_bill", ksh(1_000), "mgao")
    with pytest.raises(KeyError, match="no variants"):
        kenya_now.fee("send_money", ksh(1_000), "shared")


@pytest.mark.parametrize(("shillings", "business"), [(100, 0), (101, 5), (1_501, 9), (15_000, 11)])
def test_b2c_the_business_pays_and_the_recipient_nothing(
    kenya_now: Profile, shillings: int, business: int
) -> None:
    assert kenya_now.fee("b2c", ksh(shillings)) == Fee(0, ksh(business))


@pytest.mark.parametrize(
    ("product", "shillings", "commission"),
    [
        ("deposit", 50, 3),
        ("deposit", 101, 8),
        ("deposit", 510, 8),
        ("deposit", 511, 9),
        ("deposit", 250_000, 190),
        ("withdraw", 100, 5),
        ("withdraw", 101, 9),  # 101-2,500 pays 9 after the Finance Act 2023
        ("withdraw", 2_500, 9),
        ("withdraw", 50_001, 95),  # 50,001-70,000 pays 95
        ("withdraw", 70_000, 95),
        ("send_money", 1_000, 0),  # only agent products earn commission
    ],
)
def test_agent_commission(
    kenya_now: Profile, product: str, shillings: int, commission: int
) -> None:
    assert kenya_now.commission(product, ksh(shillings)) == ksh(commission)


def test_security_vouchers_deadlines_and_reversals(kenya_now: Profile) -> None:
    assert kenya_now.pin_attempts_max == 5
    assert kenya_now.name_lookups_per_day == 5
    assert kenya_now.voucher.enabled is False  # ended February 2024
    assert "send_unregistered" not in kenya_now.products
    assert kenya_now.deadline_s("ussd") == 15
    assert kenya_now.deadline_s("daraja") == 0  # no deadline
    with pytest.raises(KeyError, match="fax"):
        kenya_now.deadline_s("fax")
    assert kenya_now.reversal_window.total_seconds() == 24 * 3600


def test_the_profiles_identity(kenya_now: Profile) -> None:
    assert kenya_now.name == "kenya"
    assert kenya_now.currency.code == "KES"
    assert kenya_now.ledger == 1
    assert kenya_now.country == "KE"
    assert str(kenya_now.timezone) == "Africa/Nairobi"
    assert kenya_now.products >= {"send_money", "withdraw", "deposit", "pay_bill", "buy_goods"}
