"""``mkoba rules``: the fraud and AML rules in force, their history, and a file's check."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mkoba.catalog.cli import _fail, _local, _major, _pick, _rate

if TYPE_CHECKING:
    from mkoba.catalog.profile import Catalog, Profile
    from mkoba.catalog.risk_schema import Rule

rules_app = typer.Typer(
    help="Fraud and AML rules R1-R12 as versioned profile data (see docs/risk.md).",
    no_args_is_help=True,
)
ProfileOption = typer.Option(
    "kenya", "--profile", help="A shipped profile's name or a profile YAML file."
)
AtOption = typer.Option(
    "", "--at", help="A date (2024-01-01) or date-time, in the profile's local time; now if empty."
)
# Parameters that are amounts (minor units in memory, major units on screen).
_AMOUNTS = frozenset({"over", "new_payee_over"})


@rules_app.command("list")
def list_command(profile_name: str = ProfileOption, at: str = AtOption) -> None:
    """The rules of the profile version in force (now, or ``--at``)."""
    from mkoba.catalog.risk_schema import TYPOLOGIES

    profile = _pick(_load(profile_name), at)
    console = Console()
    if profile.risk is None:
        console.print(f"{profile.version}: no risk rules (the version has no risk section)")
        return
    risk = profile.risk
    since = _local(profile.effective_from, profile)
    table = Table(title=f"{profile.version}: risk rules, in force from {since}")
    for column in ("rule", "typology", "runs", "on", "action", "parameters"):
        table.add_column(column)
    for rule_id, (typology, stage) in TYPOLOGIES.items():
        rule: Rule = getattr(risk, rule_id)
        table.add_row(
            rule_id,
            typology,
            stage,
            "yes" if rule.enabled else "off",
            str(getattr(rule, "action", "")),
            _parameters(profile, rule),
        )
    console.print(table)
    console.print(f"CTR threshold: {_major(profile, risk.ctr_threshold)} {profile.currency.code}")


@rules_app.command("show")
def show_command(
    rule_id: Annotated[str, typer.Argument(help="A rule: R1 to R12.")],
    profile_name: str = ProfileOption,
) -> None:
    """One rule across the profile's versions: what changed when."""
    from mkoba.catalog.risk_schema import TYPOLOGIES

    rule_id = rule_id.upper()
    if rule_id not in TYPOLOGIES:
        _fail(f"no rule {rule_id!r}: the rules are {', '.join(TYPOLOGIES)}")
    catalog = _load(profile_name)
    typology, stage = TYPOLOGIES[rule_id]
    table = Table(title=f"{rule_id}: {typology} ({stage}) in {catalog.versions[0].name}")
    for column in ("version", "in force from", "on", "action", "parameters"):
        table.add_column(column)
    for profile in catalog.versions:
        if profile.risk is None:
            table.add_row(
                profile.version, _local(profile.effective_from, profile), "-", "", "no risk section"
            )
            continue
        rule: Rule = getattr(profile.risk, rule_id)
        table.add_row(
            profile.version,
            _local(profile.effective_from, profile),
            "yes" if rule.enabled else "off",
            str(getattr(rule, "action", "")),
            _parameters(profile, rule),
        )
    Console().print(table)


@rules_app.command("check")
def check_command(
    path: Annotated[Path, typer.Argument(help="A profile YAML file to validate.")],
) -> None:
    """Validate a profile file's rules (and the rest of it); exit 1 with every problem."""
    catalog = _load(str(path))
    with_rules = [p.version for p in catalog.versions if p.risk is not None]
    without = [p.version for p in catalog.versions if p.risk is None]
    said = f"ok: {path}: rules in {', '.join(with_rules) or 'no version'}"
    if without:
        said += f"; no rules in {', '.join(without)}"
    Console().print(said, markup=False, highlight=False, soft_wrap=True)


def _load(name_or_path: str) -> Catalog:
    from mkoba.catalog import CatalogError, load_catalog

    try:
        return load_catalog(name_or_path)
    except CatalogError as error:
        _fail(str(error))


def _parameters(profile: Profile, rule: Rule) -> str:
    shown = []
    for name in type(rule).model_fields:
        if name in ("enabled", "action"):
            continue
        value = getattr(rule, name)
        if isinstance(value, Fraction):
            text = _rate(value)
        elif name in _AMOUNTS:
            text = _major(profile, int(value))
        else:
            text = str(value)
        shown.append(f"{name}={text}")
    return ", ".join(shown)
