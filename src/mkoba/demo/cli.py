"""``mkoba demo``: the ledger walk-through on a store of its own, and the demo world's parties."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.table import Table

demo_app = typer.Typer(
    help="The ledger walk-through (on a store of its own) and the demo world's parties.",
)

# Where ``mkoba serve`` keeps its store unless told otherwise (as its own --db says).
SERVER_DB = "var/mkoba.db"


@demo_app.callback(invoke_without_command=True)
def walk(
    ctx: typer.Context,
    db: str = typer.Option(
        None,
        "--db",
        help="A store for the walk: a new SQLite file or postgresql://... (default: a"
        " temporary file, removed afterwards). Never the server's store.",
    ),
) -> None:
    """The ledger walk-through: issue e-money, send it, reserve and post, reconcile."""
    if ctx.invoked_subcommand is not None:
        return
    from mkoba.demo.ledger import run_demo

    console = Console()
    if db is None:
        with tempfile.TemporaryDirectory(prefix="mkoba-demo-") as folder:
            console.print(f"a store of its own: {folder} (removed afterwards)", markup=False)
            run_demo(str(Path(folder) / "demo.db"), console)
        return
    problem = _not_for_the_walk(db)
    if problem is not None:
        Console(stderr=True).print(f"--db {db}: {problem}", markup=False, highlight=False)
        raise typer.Exit(2)
    run_demo(db, console)


def _not_for_the_walk(db: str) -> str | None:
    """Why ``db`` must not take the walk's accounts (they would unbalance a real store)."""
    server = os.environ.get("MKOBA_DB", SERVER_DB)
    if db == server or ("://" not in db and Path(db).resolve() == Path(server).resolve()):
        return "that is the server's store; the walk uses a store of its own"
    if "://" not in db and not Path(db).exists():
        return None
    from mkoba.demo.ledger import NAMES
    from mkoba.ledger import open_store, queries

    with open_store(db) as store:
        store.migrate()
        others = queries.accounts_besides(store, tuple(NAMES))
    if others:
        return "it holds accounts of its own (a server's store?); give a new file"
    return None


@demo_app.command("parties")
def parties() -> None:
    """Who is in the demo world: roles, phone numbers, agent/till/paybill numbers, demo PINs."""
    from mkoba.demo.parties import demo_parties
    from mkoba.settings import Settings

    # The sandbox customer answers with the server's sandbox PIN (MKOBA_DARAJA_SANDBOX_PIN).
    sandbox_pin = os.environ.get(
        "MKOBA_DARAJA_SANDBOX_PIN", str(Settings.model_fields["daraja_sandbox_pin"].default)
    )
    console = Console()
    found = demo_parties(sandbox_pin)
    for group in dict.fromkeys(listed.group for listed in found):
        table = Table(title=group, box=box.SIMPLE_HEAD, title_justify="left")
        for column in ("role", "phone", "number", "PIN"):
            table.add_column(column, no_wrap=True)
        table.add_column("name")
        for listed in found:
            if listed.group == group:
                table.add_row(listed.role, listed.phone, listed.number, listed.pin, listed.name)
        console.print(table)
    console.print(
        "number: an agent's, a store's (AGENT/STORE: withdraw at agent 123456, store 1),"
        " a till, a paybill, a staff member's user name. The Daraja sandbox's app, passkey"
        " and initiator: docs/daraja.md.",
        markup=False,
        highlight=False,
    )
