"""What the ``mkoba daraja`` commands share: the console, their options, the store.

The commands are admin paths (``cli.py`` for apps, shortcodes, initiators and
URLs; ``cli_callbacks.py`` for callbacks); they open the store themselves.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer
from rich.console import Console

from mkoba.channels.daraja.schema import OWNERS, OWNERS_MIGRATION
from mkoba.channels.daraja.schema import SCHEMA as DARAJA_SCHEMA
from mkoba.ledger import Store, open_store

console = Console()
DbOption = typer.Option(
    os.environ.get("MKOBA_DB", "var/mkoba.db"), "--db", help="The store", envvar="MKOBA_DB"
)
KeysOption = typer.Option(
    Path(os.environ.get("MKOBA_KEYS_DIR", "var/keys")),
    "--keys-dir",
    help="Where the server's keys are (the channel key seals passkeys, checks secrets)",
    envvar="MKOBA_KEYS_DIR",
)


def open_db(db: str) -> Store:
    """The store at ``db``, with the channel's tables; exit 2 when there is none."""
    if "://" not in db and not Path(db).exists():
        console.print(f"[red]no store at {db}[/red] (give --db or set MKOBA_DB)")
        raise typer.Exit(2)
    store = open_store(db)
    store.migrate()
    store.migrate_script("daraja-0001", DARAJA_SCHEMA)
    store.migrate_script(OWNERS_MIGRATION, OWNERS)
    return store


def when(ns: int) -> str:
    """A moment (ns) as local date and time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9))
