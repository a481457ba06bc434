"""Fraud and AML rules R1-R12 as versioned profile data, and ``mkoba rules``.

Both shipped profiles carry the starter rule set; a later version changes one
threshold by stating only that; a bad rule is refused with its place in the
file; ``mkoba rules list|show|check`` show what is in force and what changed.
"""

from __future__ import annotations

from fractions import Fraction
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mkoba.catalog import CatalogError, load_catalog
from mkoba.catalog.risk_schema import TYPOLOGIES
from mkoba.cli import app
from tests.catalog.conftest import ksh

KENYA = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text()


@pytest.fixture
def run() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.mark.parametrize("name", ["kenya", "campus"])
def test_both_shipped_profiles_carry_every_rule_in_every_version(name: str) -> None:
    for profile in load_catalog(name).versions:
        risk = profile.risk
        assert risk is not None, profile.version
        assert [rule for rule in TYPOLOGIES if getattr(risk, rule).enabled] == list(TYPOLOGIES)
        assert risk.ctr_threshold == ksh(1_940_000)
        assert risk.R2.limit_share == Fraction(4, 5) and risk.R8.dormant_days == 180
    kenya = load_catalog("kenya").current().risk
    assert kenya is not None and kenya.R6.new_payee_over == ksh(5_000)
    assert (kenya.R1.per_hour, kenya.R1.per_day, kenya.R1.action) == (10, 30, "hold")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kenya.yaml"
    path.write_text(text)
    return path


def test_a_later_version_changes_one_threshold_by_saying_only_that(tmp_path: Path) -> None:
    later = KENYA.replace(
        "  - effective_from: 2024-02-05\n",
        "  - effective_from: 2024-02-05\n    risk: {R1: {per_hour: 6}, R7: {enabled: false}}\n",
    )
    catalog = load_catalog(_write(tmp_path, later))
    before, now = catalog.versions[1].risk, catalog.versions[2].risk
    assert before is not None and now is not None
    assert (before.R1.per_hour, now.R1.per_hour) == (10, 6)
    assert now.R1.per_day == 30 and now.R1.action == "hold"  # the rest laid over
    assert before.R7.enabled and not now.R7.enabled


@pytest.mark.parametrize(
    ("change", "place"),
    [
        ("R1: {action: hold, per_hour: 10, per_day: 30}", "R1.per_hour"),
        ("R6: {action: refuse, max_age_hours: 72, new_payee_over: 5_000}", "R6.action"),
        ('R3: {action: alert, count: 3, window_hours: 24, share: "90%"}', "R3.share"),
        ("R10: {action: alert, count: 3, window_days: 30}", "R10"),
    ],
)
def test_a_bad_rule_is_refused_with_its_place(tmp_path: Path, change: str, place: str) -> None:
    broken = {
        "R1.per_hour": change.replace("per_hour: 10", "per_hour: 0"),
        "R6.action": change.replace("action: refuse", "action: alert"),
        "R3.share": change.replace('"90%"', '"190%"'),
        "R10": change.replace("window_days: 30", "window_days: 30, weeks: 2"),
    }[place]
    with pytest.raises(CatalogError) as raised:
        load_catalog(_write(tmp_path, KENYA.replace(change, broken)))
    assert f"versions[0].risk.{place}" in str(raised.value)


def test_a_profile_without_a_risk_section_runs_no_rule(run: CliRunner, tmp_path: Path) -> None:
    start = KENYA.index("    risk:\n")
    end = KENYA.index("    products:\n", start)
    path = _write(tmp_path, KENYA[:start] + KENYA[end:])
    assert all(profile.risk is None for profile in load_catalog(path).versions)
    listed = run.invoke(app, ["rules", "list", "--profile", str(path)])
    assert listed.exit_code == 0 and "no risk rules" in listed.output
    checked = run.invoke(app, ["rules", "check", str(path)])
    assert checked.exit_code == 0 and "no rules in kenya@2021-01-01" in checked.output


def test_rules_list_show_and_check(run: CliRunner, tmp_path: Path) -> None:
    listed = run.invoke(app, ["rules", "list", "--profile", "kenya", "--at", "2022-03-01"])
    assert listed.exit_code == 0, listed.output
    assert "kenya@2021-01-01: risk rules" in listed.output
    row = next(line for line in listed.output.splitlines() if "│ R6 " in line)
    assert "SIM swap" in row and "refuse" in row and "new_payee_over=5,000" in row
    assert "limit_share=80%" in listed.output and "CTR threshold: 1,940,000 KES" in listed.output
    later = KENYA.replace(
        "  - effective_from: 2024-02-05\n",
        "  - effective_from: 2024-02-05\n    risk: {R1: {per_hour: 6}}\n",
    )
    path = _write(tmp_path, later)
    shown = run.invoke(app, ["rules", "show", "r1", "--profile", str(path)])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if "kenya@" in line]
    assert ["per_hour=10" in rows[0], "per_hour=10" in rows[1], "per_hour=6" in rows[2]] == [
        True,
        True,
        True,
    ]
    assert run.invoke(app, ["rules", "show", "R13"]).exit_code == 1
    checked = run.invoke(app, ["rules", "check", str(path)])
    assert (
        checked.exit_code == 0 and "rules in kenya@2021-01-01, kenya@2023-08-15" in checked.output
    )
    bad = _write(tmp_path, KENYA.replace("per_hour: 10", "per_hour: -1"))
    refused = run.invoke(app, ["rules", "check", str(bad)])
    assert refused.exit_code == 1 and "versions[0].risk.R1.per_hour" in refused.output
