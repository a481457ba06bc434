"""``mkoba staff create | list | totp``: staff accounts from the server's command line.

``create`` bootstraps the first system administrator (and any other account): the
password is asked twice without echo (or read from standard input), and the TOTP
seed is shown once, as a QR code and a URI, for an authenticator app. ``totp``
prints an account's current code: it reads the staff key, so it is for the demo
console and for operators who hold the keys directory anyway.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mkoba.ledger import Store, open_store
from mkoba.parties import InvalidMsisdn, normalize_msisdn
from mkoba.staff import accounts, audit, schema
from mkoba.staff.credentials import WeakPassword, totp_now, totp_uri
from mkoba.staff.policy import shipped

console = Console()
error_console = Console(stderr=True)
DbOption = typer.Option("var/mkoba.db", "--db", help="The server's store", envvar="MKOBA_DB")
KeysOption = typer.Option(
    Path("var/keys"), help="The server's keys directory", envvar="MKOBA_KEYS_DIR"
)


audit_app = typer.Typer(
    help="The staff audit trail: check its hash chain, export its head.", no_args_is_help=True
)


@audit_app.command("verify")
def audit_verify(db: str = DbOption, keys_dir: Path = KeysOption) -> None:
    """Walk the whole chain; exit 1 naming the first entry that breaks it."""
    store = _store(db)
    try:
        checked, broken = audit.verify(store, audit.audit_key(keys_dir))
        last = audit.head(store)
    finally:
        store.close()
    if broken is not None:
        error_console.print(
            f"[red]the audit trail is broken at entry {broken.seq}[/red]: {broken.reason}"
            f" ({checked} entries before it hold)"
        )
        raise typer.Exit(1)
    console.print(
        f"{checked} entries; the chain holds. head {last.seq} {last.hash}",
        highlight=False,
        soft_wrap=True,
    )


@audit_app.command("head")
def audit_head(db: str = DbOption) -> None:
    """The last entry's number and hash, to export each day."""
    store = _store(db)
    try:
        last = audit.head(store)
    finally:
        store.close()
    console.print(f"{last.seq} {last.hash}", highlight=False, soft_wrap=True)


def add_commands(staff_app: typer.Typer) -> None:
    """Add the account commands to ``mkoba staff``."""
    staff_app.command("create")(create)
    staff_app.command("list")(list_accounts)
    staff_app.command("totp")(totp)


def create(
    username: str = typer.Argument(..., help="what they sign in as"),
    role: str = typer.Option(..., help="one role of the staff policy (mkoba staff list --roles)"),
    name: str = typer.Option(..., help="their full name"),
    phone: str = typer.Option(
        "", help="their own wallet's phone number: they may never act on that wallet"
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input"
    ),
    db: str = DbOption,
    keys_dir: Path = KeysOption,
) -> None:
    """Make a staff account; shows its TOTP seed once, to enrol an authenticator app."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        phone = normalize_msisdn(phone) if phone else ""
    except InvalidMsisdn as problem:
        error_console.print(f"[red]phone: {problem}[/red]")
        raise typer.Exit(2) from None
    store = _store(db)
    try:
        account, secret = accounts.create(
            store,
            accounts.staff_key(keys_dir),
            shipped(),
            username,
            name,
            role,
            password,
            time.time_ns(),
            phone,
        )
    except (accounts.StaffError, WeakPassword) as problem:
        error_console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from None
    finally:
        store.close()
    uri = totp_uri(secret, account.username)
    console.print(f"Staff account {account.id}: {account.username} ({account.role}).")
    console.print("Enrol this TOTP seed in an authenticator app now; it is not shown again:")
    import segno

    segno.make(uri, error="m").terminal(compact=True)
    console.print(f"seed: {secret}\nuri:  {uri}", soft_wrap=True, highlight=False)


def list_accounts(
    roles: bool = typer.Option(False, "--roles", help="list the policy's roles instead"),
    db: str = DbOption,
    keys_dir: Path = KeysOption,
) -> None:
    """Every staff account: username, name, role, and whether it may sign in now."""
    if roles:
        for role, what in shipped().roles.items():
            console.print(f"{role:14} {what}", highlight=False)
        return
    store = _store(db)
    try:
        found = accounts.everyone(store, accounts.staff_key(keys_dir))
    finally:
        store.close()
    table = Table("id", "username", "name", "role", "state")
    now = time.time()
    for account in found:
        state = account.state
        status = (
            "disabled" if not state.enabled else "locked" if state.locked_until > now else "active"
        )
        table.add_row(str(account.id), account.username, account.name, account.role, status)
    console.print(table)


def totp(
    username: str = typer.Argument(..., help="the account"),
    db: str = DbOption,
    keys_dir: Path = KeysOption,
) -> None:
    """The account's TOTP code now (reads the staff key: demo and key holders only)."""
    store = _store(db)
    try:
        account = accounts.by_username(store, accounts.staff_key(keys_dir), username)
    finally:
        store.close()
    if account is None:
        error_console.print(f"[red]no staff account {username!r}[/red]")
        raise typer.Exit(2)
    console.print(totp_now(account.state.totp_secret, time.time()), highlight=False)


def _store(db: str) -> Store:
    if "://" not in db and not Path(db).exists():
        error_console.print(
            f"[red]no store at {db}[/red]: start the server once, or give --db (MKOBA_DB)"
        )
        raise typer.Exit(2)
    store = open_store(db, commit_process=False)
    store.migrate()
    schema.migrate(store.migrate_script)
    return store
