"""``mkoba rules``: the fraud and AML rules in force, their history, and a file's check.

With ``--db`` (a server's store) ``list`` and ``show`` add the changes staff approved
in the console (``risk/overrides.py``): ``list`` lays those in force over the version
and marks each changed value with ``*``; ``show`` lists them under the versions.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    from mkoba.risk.overrides import Override

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
DbOption = typer.Option(
    "",
    "--db",
    help="A server's store (var/mkoba.db, postgresql://...): add the changes staff approved.",
    envvar="MKOBA_DB",
)
# Parameters that are amounts (minor units in memory, major units on screen).
_AMOUNTS = frozenset({"over", "new_payee_over"})


@rules_app.command("list")
def list_command(profile_name: str = ProfileOption, at: str = AtOption, db: str = DbOption) -> None:
    """The rules of the profile version in force (now, or ``--at``); with ``--db``, with the
    changes staff approved that are in force then (marked ``*``)."""
    from mkoba.catalog.risk_schema import TYPOLOGIES

    profile = _pick(_load(profile_name), at)
    console = Console()
    if profile.risk is None:
        console.print(f"{profile.version}: no risk rules (the version has no risk section)")
        return
    since = _local(profile.effective_from, profile)
    title = f"{profile.version}: risk rules, in force from {since}"
    changed: set[tuple[str, str]] = set()
    if db:
        from mkoba.risk import overrides

        when = _pick_moment(profile, at)
        found = overrides.in_force(_approved(db), when)
        profile = overrides.apply(profile, sorted(found.values(), key=lambda o: o.effective_from))
        changed = set(found)
        title += f"; * changed by staff (as at {_local(_as_datetime(when), profile)})"
    risk = profile.risk
    assert risk is not None
    table = Table(title=title)
    for column in ("rule", "typology", "runs", "on", "action", "parameters"):
        table.add_column(column)
    for rule_id, (typology, stage) in TYPOLOGIES.items():
        rule: Rule = getattr(risk, rule_id)
        table.add_row(
            rule_id,
            typology,
            stage,
            ("yes" if rule.enabled else "off") + ("*" if (rule_id, "enabled") in changed else ""),
            str(getattr(rule, "action", "")) + ("*" if (rule_id, "action") in changed else ""),
            _parameters(profile, rule, {name for (r, name) in changed if r == rule_id}),
        )
    console.print(table)
    console.print(f"CTR threshold: {_major(profile, risk.ctr_threshold)} {profile.currency.code}")


@rules_app.command("show")
def show_command(
    rule_id: Annotated[str, typer.Argument(help="A rule: R1 to R12.")],
    profile_name: str = ProfileOption,
    db: str = DbOption,
) -> None:
    """One rule across the profile's versions: what changed when; with ``--db``, then the
    changes staff approved (each laid over whichever version is in force)."""
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
    if db:
        _changes_table(rule_id, catalog.current(), _approved(db))


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


def _parameters(profile: Profile, rule: Rule, changed: set[str] | None = None) -> str:
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
        shown.append(f"{name}={text}{'*' if changed and name in changed else ''}")
    return ", ".join(shown)


def _approved(db: str) -> list[Override]:
    """The changes staff approved, from a server's store (``--db``)."""
    from mkoba.ledger import open_store
    from mkoba.risk import overrides

    if "://" not in db and not Path(db).exists():
        _fail(f"no store at {db}: start the server once, or give --db (MKOBA_DB)")
    store = open_store(db, commit_process=False)
    try:
        overrides.migrate(store)
        return overrides.load(store)
    finally:
        store.close()


def _changes_table(rule_id: str, profile: Profile, found: list[Override]) -> None:
    now = int(datetime.now(UTC).timestamp() * 1_000_000_000)
    table = Table(title=f"{rule_id}: changes approved by staff (laid over the version in force)")
    for column in ("change", "parameter", "value", "in force from", "maker", "checker", "why"):
        table.add_column(column)
    for item in reversed(found):
        if item.rule != rule_id:
            continue
        since = _local(_as_datetime(item.effective_from), profile)
        table.add_row(
            str(item.id),
            item.parameter,
            str(item.value),
            since if item.effective_from <= now else f"{since} (to come)",
            item.maker,
            item.checker,
            item.reason,
        )
    Console().print(table)


def _pick_moment(profile: Profile, at: str) -> int:
    """``--at`` (or now) in ns, read as ``_pick`` reads it."""
    if not at:
        return int(datetime.now(UTC).timestamp() * 1_000_000_000)
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=profile.timezone)
    return int(moment.timestamp() * 1_000_000_000)


def _as_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)
