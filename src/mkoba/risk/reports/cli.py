"""``mkoba reports``: the weekly CTR and an STR draft, from the store, to a file or stdout.

Read-only: the receipts and the directory of the store (``--db``, ``MKOBA_DB``), the
profile's CTR threshold and time zone (``--profile``), the reporting entity's id
(``--entity``, ``MKOBA_GOAML_ENTITY``, issued by the FIU). XML (goAML-style, checked
against our own subset schema before it is written) or CSV. docs/risk-reports.md.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

if TYPE_CHECKING:
    from mkoba.catalog import Profile
    from mkoba.ledger import Store
    from mkoba.parties import Directory
    from mkoba.risk.reports import Filer, Format

reports_app = typer.Typer(
    help="Regulatory reports: the weekly cash-transaction report, STR drafts"
    " (docs/risk-reports.md).",
    no_args_is_help=True,
)
error_console = Console(stderr=True)
DbOption = typer.Option(
    os.environ.get("MKOBA_DB", "var/mkoba.db"), "--db", help="The store", envvar="MKOBA_DB"
)
ProfileOption = typer.Option("kenya", "--profile", envvar="MKOBA_PROFILE", help="The profile")
EntityOption = typer.Option(
    "", "--entity", envvar="MKOBA_GOAML_ENTITY", help="The reporting entity's id at the FIU"
)
FormatOption = typer.Option("xml", "--format", help="xml (goAML-style) or csv")
OutOption = typer.Option(None, "--out", help="Write here (default: stdout)")


@reports_app.command("ctr")
def ctr_command(
    week: str = typer.Option("", help="The week's Monday (2026-11-30); default: last week"),
    db: str = DbOption,
    profile_name: str = ProfileOption,
    entity: str = EntityOption,
    fmt: str = FormatOption,
    out: Path | None = OutOption,
) -> None:
    """Cash-ins and cash-outs at agents at or above the profile's CTR threshold, one week."""
    from mkoba.risk.reports import export_ctr

    profile, store, directory, filer = _open(db, profile_name, entity, fmt)
    if profile.risk is None:
        _fail(f"{profile.version} has no risk section: no CTR threshold")
    try:
        monday = date.fromisoformat(week) if week else _last_monday(profile.timezone)
        body = export_ctr(
            store,
            directory,
            filer,
            monday,
            profile.risk.ctr_threshold,
            _format(fmt),
            datetime.now(UTC),
        )
    except ValueError as problem:
        _fail(str(problem))
    finally:
        store.close()
    _write(body, fmt, out)


@reports_app.command("str")
def str_command(
    party: int = typer.Option(..., help="The subject's party id"),
    receipts: str = typer.Option(..., help="The receipts, comma-separated"),
    reason: str = typer.Option(..., help="Why it is suspicious (the alert's summary)"),
    suspected: str = typer.Option("", help="When suspicion arose (ISO date-time); default now"),
    db: str = DbOption,
    profile_name: str = ProfileOption,
    entity: str = EntityOption,
    fmt: str = FormatOption,
    out: Path | None = OutOption,
) -> None:
    """A suspicious-transaction report draft, due 2 days after suspicion arose."""
    from mkoba.risk.reports import due_by, export_str
    from mkoba.text import text_problem

    _profile, store, directory, filer = _open(db, profile_name, entity, fmt)
    problem = text_problem(reason)
    if problem or not reason.strip():
        _fail(f"--reason: {problem or 'give a reason'}")
    try:
        when = datetime.fromisoformat(suspected) if suspected else datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=filer.zone)
        wanted = [r.strip() for r in receipts.split(",") if r.strip()]
        body = export_str(
            store,
            directory,
            filer,
            party,
            wanted,
            reason,
            due_by(when),
            _format(fmt),
            datetime.now(UTC),
        )
    except ValueError as error:
        _fail(str(error))
    finally:
        store.close()
    _write(body, fmt, out)


def _open(
    db: str, profile_name: str, entity: str, fmt: str
) -> tuple[Profile, Store, Directory, Filer]:
    from mkoba.catalog import CatalogError, load_catalog
    from mkoba.ledger import open_store
    from mkoba.parties import Directory
    from mkoba.risk.reports import Filer

    _format(fmt)
    if fmt == "xml" and not entity:
        _fail("--entity (MKOBA_GOAML_ENTITY): the reporting entity's id the FIU issued")
    if "://" not in db and not Path(db).exists():
        _fail(f"no store at {db} (give --db or set MKOBA_DB)")
    try:
        profile = load_catalog(profile_name).current()
    except CatalogError as error:
        _fail(str(error))
    store = open_store(db)
    directory = Directory.load(store)
    filer = Filer(entity or "-", profile.currency, profile.country, profile.timezone)
    return profile, store, directory, filer


def _format(fmt: str) -> Format:
    if fmt == "xml":
        return "xml"
    if fmt == "csv":
        return "csv"
    _fail("--format: xml or csv")


def _last_monday(zone: ZoneInfo) -> date:
    today = datetime.now(zone).date()
    return today - timedelta(days=today.weekday() + 7)


def _write(body: bytes, fmt: str, out: Path | None) -> None:
    if fmt == "xml":
        from mkoba.risk.reports import problems

        found = problems(body)
        if found:
            _fail(f"the report does not pass our schema: {found[0]}")
    if out is None:
        typer.echo(body.decode("utf-8"), nl=False)
        return
    out.write_bytes(body)
    error_console.print(f"written: {out} ({len(body):,} bytes)")


def _fail(message: str) -> NoReturn:
    error_console.print(message, style="red", markup=False, highlight=False)
    raise typer.Exit(2)
