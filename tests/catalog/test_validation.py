"""Every validation rule rejects a bad file with a message naming the file and the place.

Method: a minimal valid profile, then one small change per case; each case
names the path the error must point at and words the message must contain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mkoba.catalog import CatalogError, load_catalog

VALID = """\
name: tiny
currency: KES
timezone: Africa/Nairobi
ledger: 7
country: KE
versions:
  - effective_from: 2024-01-01
    excise_rate: "10%"
    tiers:
      low: {transaction_max: 1_000, daily_max: 2_000, balance_max: 5_000}
      high: {transaction_max: 5_000, daily_max: 10_000, balance_max: 20_000}
    pin_attempts_max: 3
    name_lookups_per_day: 5
    voucher: {enabled: false, validity_days: 7, transaction_max: 1_000}
    deadlines_s: {ussd: 10, sms: 60, api: 15, daraja: 0, app: 15, stk: 45}
    reversal_window_hours: 24
    products:
      send_money:
        minimum: 1
        maximum: 5_000
        customer:
          bands:
            - [1, 100, 0]
            - [101, 1_000, 5]
            - [1_001, 5_000, 10]
      buy_goods:
        minimum: 1
        maximum: 5_000
        customer: free
        business: {rate: "1%", cap: 20, free_up_to: 100}
      pay_bill:
        minimum: 1
        maximum: 5_000
        variants:
          business_bears: {business: {bands: [[1, 5_000, 0]]}}
"""

LATER = """\
  - effective_from: 2025-01-01
    products:
      send_money: {maximum: 4_000}
"""

# (case, text to replace, replacement, path the error names, words in the message)
CASES = [
    ("overlap", "- [101, 1_000, 5]", "- [100, 1_000, 5]",
     "versions[0].products.send_money.customer.bands[1]", "overlaps the band before it"),
    ("gap", "- [1_001, 5_000, 10]", "- [1_002, 5_000, 10]",
     "versions[0].products.send_money.customer.bands[2]", "leaves a gap"),
    ("out of order", "- [1_001, 5_000, 10]", "- [50, 5_000, 10]",
     "versions[0].products.send_money.customer.bands[2]", "out of order"),
    ("band ends before it starts", "- [101, 1_000, 5]", "- [101, 99, 5]",
     "versions[0].products.send_money.customer.bands[1]", "before it starts"),
    ("first band misses the minimum", "- [1, 100, 0]", "- [2, 100, 0]",
     "versions[0].products.send_money.customer.bands[0]", "minimum is 1"),
    ("last band misses the maximum", "- [1_001, 5_000, 10]", "- [1_001, 4_000, 10]",
     "versions[0].products.send_money.customer.bands[2]", "maximum is 5,000"),
    ("no bands", "business: {bands: [[1, 5_000, 0]]}", "business: {bands: []}",
     "versions[0].products.pay_bill.variants.business_bears.business.bands",
     "at least one band"),
    ("a band is three numbers", "- [1, 100, 0]", "- [1, 100]",
     "versions[0].products.send_money.customer.bands[0]", "[from, to, charge]"),
    ("negative fee", "- [101, 1_000, 5]", "- [101, 1_000, -5]",
     "versions[0].products.send_money.customer.bands[1][2]", "never negative"),
    ("fee above the amount", "- [1, 100, 0]", "- [1, 100, 2]",
     "versions[0].products.send_money.customer.bands[0]", "more than the smallest amount"),
    ("float amount", "- [101, 1_000, 5]", "- [101, 1_000, 5.5]",
     "versions[0].products.send_money.customer.bands[1][2]", "quoted decimals"),
    ("commas in an amount",
     "maximum: 5_000\n        customer:\n", "maximum: '5,000'\n        customer:\n",
     "versions[0].products.send_money.maximum", "underscores"),
    ("cents beyond the currency's scale", "- [101, 1_000, 5]", "- [101, 1_000, '5.005']",
     "versions[0].products.send_money.customer.bands[1][2]", "2 decimal places"),
    ("rate above 100%", 'rate: "1%"', 'rate: "101%"',
     "versions[0].products.buy_goods.business.rate", "between 0% and 100%"),
    ("rate not a percentage", 'rate: "1%"', "rate: 0.01",
     "versions[0].products.buy_goods.business.rate", "quoted percentage"),
    ("negative cap", "cap: 20", "cap: -20",
     "versions[0].products.buy_goods.business.cap", "never negative"),
    ("excise rate above 100%", 'excise_rate: "10%"', 'excise_rate: "150%"',
     "versions[0].excise_rate", "between 0% and 100%"),
    ("two kinds of charge", 'business: {rate: "1%", cap: 20, free_up_to: 100}',
     'business: {rate: "1%", bands: [[1, 5_000, 0]]}',
     "versions[0].products.buy_goods.business", "exactly one of"),
    ("a cap without a rate", "business: {bands: [[1, 5_000, 0]]}",
     "business: {bands: [[1, 5_000, 0]], cap: 5}",
     "versions[0].products.pay_bill.variants.business_bears.business", "go with a rate"),
    ("a product without a tariff",
     '        customer: free\n        business: {rate: "1%", cap: 20, free_up_to: 100}\n',
     "        commission: free\n", "versions[0].products.buy_goods", "no tariff"),
    ("a product with nothing but a range",
     "        variants:\n          business_bears: {business: {bands: [[1, 5_000, 0]]}}\n", "",
     "versions[0].products.pay_bill", "no tariff"),
    ("unknown default variant",
     "        variants:", "        default_variant: shared\n        variants:",
     "versions[0].products.pay_bill.default_variant", "not one of the variants"),
    ("unknown product", "      buy_goods:", "      buy_good:",
     "versions[0].products", "unknown key 'buy_good'"),
    ("unknown key", "    pin_attempts_max: 3", "    pin_attempts_max: 3\n    colour: blue",
     "versions[0]", "unknown key 'colour'"),
    ("unknown channel", "stk: 45}", "stk: 45, fax: 5}",
     "versions[0].deadlines_s", "unknown key 'fax'"),
    ("missing channel", "ussd: 10, ", "", "versions[0].deadlines_s.ussd", "missing"),
    ("negative deadline", "ussd: 10", "ussd: -10", "versions[0].deadlines_s.ussd", "at least 0"),
    ("deadline not an integer", "ussd: 10", "ussd: '10'", "versions[0].deadlines_s.ussd",
     "plain integer"),
    ("zero limit", "low: {transaction_max: 1_000", "low: {transaction_max: 0",
     "versions[0].tiers.low.transaction_max", "above 0"),
    ("transaction above daily", "low: {transaction_max: 1_000", "low: {transaction_max: 3_000",
     "versions[0].tiers.low.transaction_max", "above daily_max 2,000"),
    ("tiers not lowest first", "high: {transaction_max: 5_000", "high: {transaction_max: 500",
     "versions[0].tiers.high.transaction_max", "lowest first"),
    ("no tiers", "    tiers:\n      low:", "    tiers: {}\n    old_tiers:\n      low:",
     "versions[0]", "unknown key 'old_tiers'"),
    ("zero PIN attempts", "pin_attempts_max: 3", "pin_attempts_max: 0",
     "versions[0].pin_attempts_max", "at least 1"),
    ("vouchers on without the product", "enabled: false", "enabled: true",
     "versions[0].voucher.enabled", "send_unregistered is not offered"),
    ("minimum above maximum",
     "minimum: 1\n        maximum: 5_000\n        customer:\n          bands",
     "minimum: 6_000\n        maximum: 5_000\n        customer:\n          bands",
     "versions[0].products.send_money.minimum", "above maximum"),
    ("a later version must change the bands with the maximum", "", LATER,
     "versions[1].products.send_money.customer.bands[2]", "maximum is 4,000"),
    ("dates strictly increase",
     "", LATER.replace("2025-01-01", "2023-12-31").replace("4_000", "5_000"),
     "versions[1].effective_from", "not later than versions[0]"),
    ("every version has a date", "", "  - pin_attempts_max: 4\n",
     "versions[1].effective_from", "missing"),
    ("unknown currency", "currency: KES", "currency: KSH", "currency", "unknown currency"),
    ("unknown time zone", "timezone: Africa/Nairobi", "timezone: Africa/Narobi", "timezone",
     "unknown time zone"),
    ("ledger zero", "ledger: 7", "ledger: 0", "ledger", "at least 1"),
    ("no versions", "versions:\n  - effective_from", "versions: []\nold:\n  - effective_from",
     "", "unknown key 'old'"),
    ("duplicate key", "    pin_attempts_max: 3", "    pin_attempts_max: 3\n    pin_attempts_max: 4",
     "", "line 13, column 5: duplicate key 'pin_attempts_max'"),
    ("octal-looking integer", "pin_attempts_max: 3", "pin_attempts_max: 03", "",
     "plain decimal"),
    ("broken YAML", "name: tiny", "name: [tiny", "", "line 2"),
]  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))
    assert catalog.current().version == "tiny@2024-01-01"
    later = load_catalog(write(tmp_path, VALID + LATER.replace("4_000", "5_000")))
    assert later.current().version == "tiny@2025-01-01"


@pytest.mark.parametrize(
    ("old", "new", "place", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_a_broken_file_is_rejected_with_its_place(
    tmp_path: Path, old: str, new: str, place: str, words: str
) -> None:
    if old:
        assert VALID.count(old) == 1, f"the case must change exactly one place: {old!r}"
    text = VALID + new if not old else VALID.replace(old, new)
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    prefix = f"{path}: {place}: " if place else f"{path}: "
    assert prefix in message, message
    assert words in message, message


def test_every_problem_names_the_file(tmp_path: Path) -> None:
    broken = VALID.replace("- [101, 1_000, 5]", "- [100, 1_000, 5]").replace("ussd: 10", "ussd: 9")
    path = write(tmp_path, broken)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert caught.value.problems
    assert all(problem.source == str(path) for problem in caught.value.problems)


def test_a_shipped_name_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no shipped profile.*campus, kenya"):
        load_catalog("atlantis")


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.yaml")


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="a profile file is a mapping"):
        load_catalog(write(tmp_path, "- just\n- a list\n"))
