"""``mkoba sims``: provision a SIM for a number, list and show cards, end a number's card.

An admin path on the store, as ``mkoba daraja`` is: it opens the store itself,
makes the channel's table and commits one row at a time (``execute_write``, the
writer's own SQL). Provisioning stores no key: the SIM's keys are derived from
the master key (``keys_dir/sim-master.key``) and the ICCID, by the personaliser
and the server alike. A SIM server that is running keeps its cards in memory:
provision while it is stopped, or restart it after (docs/sim.md).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mkoba.channels.sim import schema
from mkoba.channels.sim.cards import ROLES, CardError, check_new
from mkoba.channels.sim.schema import CardRow
from mkoba.ledger import Store, open_store
from mkoba.ledger.queries import execute_write
from mkoba.parties.msisdn import InvalidMsisdn, normalize_msisdn
from mkoba.simcard import simfile

sims_app = typer.Typer(
    help="SIM cards of the SIM-toolkit channel: provisioning and swaps (docs/sim.md).",
    no_args_is_help=True,
)
console = Console()
DbOption = typer.Option(
    os.environ.get("MKOBA_DB", "var/mkoba.db"), "--db", help="The store", envvar="MKOBA_DB"
)

SimsDirOption = typer.Option(
    simfile.DEFAULT_DIR,
    "--sims-dir",
    envvar="MKOBA_SIMS_DIR",
    help="Where the card's file goes, for `mkoba phone N --sim` (no key is in it)",
)


def open_db(db: str) -> Store:
    """The store at ``db``, with the channel's table; exit 2 when there is none."""
    if "://" not in db and not Path(db).exists():
        console.print(f"[red]no store at {escape(db)}[/red] (give --db or set MKOBA_DB)")
        raise typer.Exit(2)
    store = open_store(db)
    store.migrate()
    store.migrate_script(schema.MIGRATION, schema.SCHEMA)
    return store


@sims_app.command("provision")
def provision(
    iccid: str = typer.Argument(..., help="The SIM's ICCID (18 to 20 digits, Luhn-checked)"),
    msisdn: str = typer.Option(..., "--msisdn", help="The number the SIM serves"),
    role: str = typer.Option("customer", help=f"The menu it holds: {', '.join(sorted(ROLES))}"),
    key_version: int = typer.Option(1, help="Its key version (1 to 15)"),
    db: str = DbOption,
    sims_dir: Path = SimsDirOption,
) -> None:
    """A new SIM for a number; the number's earlier SIM ends (a SIM swap)."""
    number = _number(msisdn)
    try:
        check_new(iccid, number, role, key_version)
    except CardError as error:
        _fail(str(error))
    now = time.time_ns()
    with open_db(db) as store:
        if store.query(schema.CARD_BY_ICCID, (iccid,)):
            _fail("this ICCID is already provisioned")
        for old in _cards_of(store, number):
            if old.state == schema.ACTIVE:
                ended = old._replace(state=schema.ENDED, reason="sim_swap", updated=now)
                execute_write(store, schema.card_write(ended))
                console.print(f"ended {old.iccid} (sim_swap)", highlight=False)
        new = CardRow(iccid, number, key_version, schema.ACTIVE, "", 0, 0, role, 0, now, now)
        execute_write(store, schema.card_write(new))
    card_file = simfile.personalise(sims_dir, iccid, number, role, key_version)
    console.print(f"provisioned {iccid} for {number} ({role}, key version {key_version})")
    # One line whatever the terminal's width: a path is copied, not read.
    line = f"its SIM file: {card_file} (mkoba phone {number} --sim)"
    console.print(line, highlight=False, soft_wrap=True)


@sims_app.command("list")
def list_cards(db: str = DbOption) -> None:
    """Every card, by number."""
    with open_db(db) as store:
        rows = [schema.card_of(values) for values in store.query(schema.ALL_CARDS)]
    # Lean borders, so that a row is whole at 80 columns (a pipe's width): the values
    # are never cut or wrapped (they are copied), only the last header may wrap.
    table = Table(title="SIM cards", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("iccid", "msisdn", "state", "role", "menu", "key version"):
        table.add_column(column, no_wrap=column != "key version")
    for row in rows:
        table.add_row(
            row.iccid,
            row.msisdn,
            row.state if not row.reason else f"{row.state} ({row.reason})",
            row.menu_role,
            str(row.menu_version),
            str(row.key_version),
        )
    console.print(table)


@sims_app.command("show")
def show(iccid: str, db: str = DbOption) -> None:
    """One card: its number, state, menu and counters."""
    with open_db(db) as store:
        found = store.query(schema.CARD_BY_ICCID, (iccid,))
    if not found:
        _fail("no such ICCID")
    row = schema.card_of(found[0])
    for name, value in row._asdict().items():
        console.print(f"{name:<14}{value}", highlight=False)


@sims_app.command("end")
def end(
    msisdn: str,
    reason: str = typer.Option("staff", help=f"One of {', '.join(sorted(schema.REASONS))}"),
    db: str = DbOption,
) -> None:
    """End a number's SIM: its packets are refused from the next start of the server."""
    number = _number(msisdn)
    if reason not in schema.REASONS:
        _fail(f"a reason is one of {', '.join(sorted(schema.REASONS))}")
    now = time.time_ns()
    with open_db(db) as store:
        active = [row for row in _cards_of(store, number) if row.state == schema.ACTIVE]
        if not active:
            _fail("this number has no active SIM")
        for row in active:
            ended = row._replace(state=schema.ENDED, reason=reason, updated=now)
            execute_write(store, schema.card_write(ended))
            console.print(f"ended {row.iccid} ({reason})", highlight=False)


def _cards_of(store: Store, msisdn: str) -> list[CardRow]:
    return [schema.card_of(values) for values in store.query(schema.CARDS_OF, (msisdn,))]


def _number(text: str) -> str:
    try:
        return normalize_msisdn(text)
    except InvalidMsisdn as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(2)
