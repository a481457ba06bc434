"""``mkoba tariffs list | show | check``, run as a user would, through the real command line.

Method: typer's CliRunner on ``mkoba.cli.app`` with a wide terminal, reading the
printed tables for the figures of the tariff sheets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mkoba.cli import app


@pytest.fixture
def run() -> CliRunner:
    return CliRunner(env={"COLUMNS": "160", "NO_COLOR": "1"})


def test_list_shows_every_profile_and_version(run: CliRunner) -> None:
    result = run.invoke(app, ["tariffs", "list"])
    assert result.exit_code == 0, result.output
    for version in (
        "kenya@2021-01-01",
        "kenya@2023-08-15",
        "kenya@2024-02-05",
        "campus@2025-09-01",
    ):
        assert version in result.output
    assert "2023-08-15 00:00 EAT" in result.output
    assert "kenya@2024-02-05 (current)" in result.output


def test_show_a_product_at_a_date_in_the_past(run: CliRunner) -> None:
    result = run.invoke(
        app,
        ["tariffs", "show", "--profile", "kenya", "--at", "2022-01-01", "--product", "send_money"],
    )
    assert result.exit_code == 0, result.output
    assert "kenya@2021-01-01" in result.output
    assert "12% excise" in result.output
    assert _row(result.output, "101 - 500") == ["101 - 500", "Ksh6.00", "free", "-"]
    assert _row(result.output, "50,001 - 150,000") == ["50,001 - 150,000", "Ksh105.00", "free", "-"]


def test_show_now_has_the_current_tariff_and_commissions(run: CliRunner) -> None:
    result = run.invoke(app, ["tariffs", "show", "--product", "withdraw"])
    assert result.exit_code == 0, result.output
    assert "kenya@2024-02-05" in result.output
    assert _row(result.output, "50 - 100") == ["50 - 100", "Ksh11.00", "free", "Ksh5.00"]
    assert _row(result.output, "50,001 - 70,000") == [
        "50,001 - 70,000",
        "Ksh309.00",
        "free",
        "Ksh95.00",
    ]


def test_show_every_paybill_variant_and_a_merchant_rate(run: CliRunner) -> None:
    paybill = run.invoke(app, ["tariffs", "show", "--product", "pay_bill"])
    assert paybill.exit_code == 0, paybill.output
    for variant in ("pay_bill: customer_bears", "pay_bill: business_bears", "pay_bill: shared"):
        assert variant in paybill.output
    assert ["1,001 - 1,500", "Ksh10.00", "Ksh5.00", "-"] in _rows(paybill.output)
    goods = run.invoke(app, ["tariffs", "show", "--product", "buy_goods"])
    assert _row(goods.output, "201 - 250,000") == [
        "201 - 250,000",
        "free",
        "0.5%, at most Ksh200.00",
        "-",
    ]


def test_show_a_whole_profile_with_limits_and_rules(run: CliRunner) -> None:
    result = run.invoke(app, ["tariffs", "show", "--profile", "campus"])
    assert result.exit_code == 0, result.output
    assert _row(result.output, "staff") == ["staff", "Ksh20,000.00", "Ksh50,000.00", "Ksh50,000.00"]
    assert "on: 7 days, up to Ksh2,000.00" in result.output
    assert "pay_bill: business_bears (default)" in result.output


def test_show_refuses_what_is_not_there(run: CliRunner) -> None:
    gone = run.invoke(app, ["tariffs", "show", "--product", "send_unregistered"])
    assert gone.exit_code == 1
    assert "kenya@2024-02-05 does not offer 'send_unregistered'" in gone.output
    early = run.invoke(app, ["tariffs", "show", "--at", "2019-06-01"])
    assert early.exit_code == 1
    assert "no kenya version is in force" in early.output
    nonsense = run.invoke(app, ["tariffs", "show", "--at", "yesterday"])
    assert nonsense.exit_code == 2
    assert "not a date" in nonsense.output


def test_check_a_good_file(run: CliRunner, tmp_path: Path) -> None:
    from importlib import resources

    path = tmp_path / "kenya.yaml"
    path.write_text(resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text())
    result = run.invoke(app, ["tariffs", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"ok: {path}: kenya@2021-01-01, kenya@2023-08-15, kenya@2024-02-05" in result.output


def test_check_a_broken_file_prints_the_place_and_exits_1(run: CliRunner, tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text()
    path = tmp_path / "kenya.yaml"
    path.write_text(text.replace("- [501, 1_000, 13]", "- [500, 1_000, 13]"))
    result = run.invoke(app, ["tariffs", "check", str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}: versions[1].products.send_money.customer.bands[3]: overlaps the band before it"
        in result.output
    )


def _rows(output: str) -> list[list[str]]:
    """The cells of every table row in Rich's box-drawn output."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.strip().startswith("│")
    ]


def _row(output: str, first_cell: str) -> list[str]:
    matches = [row for row in _rows(output) if row[0] == first_cell]
    assert matches, f"no row starting {first_cell!r} in:\n{output}"
    return matches[0]
