"""``mkoba daraja``: apps, shortcodes, initiators, C2B URLs and callbacks, on a store.

These are admin paths: they parse, call the tables' owners (``admin_store.py``
for the channel's, ``parties`` and ``outbox`` for theirs) and print; a running
server picks the changes up within seconds (its registry refreshes). Secrets are
shown once, when made, and stored only as verifiers.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from mkoba.channels.daraja import admin_store
from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.cli_callbacks import callbacks_app
from mkoba.channels.daraja.cli_common import DbOption, KeysOption, console, open_db
from mkoba.channels.daraja.envelope import DarajaError
from mkoba.channels.daraja.registry import (
    PRODUCTS,
    ROLES,
    SHORTCODE_KINDS,
    App,
    Initiator,
    Shortcode,
    Urls,
)
from mkoba.channels.daraja.vault import (
    Vault,
    consumer_key_length,
    consumer_secret_length,
    random_text,
)
from mkoba.ledger import Store
from mkoba.parties import PartyKind
from mkoba.parties.directory import party_id_by_number
from mkoba.text import text_problem

daraja_app = typer.Typer(
    help="Daraja apps, shortcodes, initiators, C2B URLs and callbacks (docs/daraja.md).",
    no_args_is_help=True,
)
apps_app = typer.Typer(help="Developer apps: consumer keys and secrets.", no_args_is_help=True)
shortcodes_app = typer.Typer(
    help="An app's paybills, tills and B2C shortcodes.", no_args_is_help=True
)
initiators_app = typer.Typer(help="An app's API operators (initiators).", no_args_is_help=True)
urls_app = typer.Typer(help="C2B validation and confirmation URLs.", no_args_is_help=True)
daraja_app.add_typer(apps_app, name="apps")
daraja_app.add_typer(shortcodes_app, name="shortcodes")
daraja_app.add_typer(initiators_app, name="initiators")
daraja_app.add_typer(urls_app, name="urls")
daraja_app.add_typer(callbacks_app, name="callbacks")

_DEFAULT_ROLES = "*"


def _storable(secret: bool = False, **values: str) -> None:
    """Refuse (exit 2) text no store can hold: the shell hands over what the terminal gave."""
    for what, value in values.items():
        problem = text_problem(value)
        if problem is not None:
            said = "contains a character that cannot be stored" if secret else problem
            console.print(f"[red]{what}: {escape(said)}[/red]")
            raise typer.Exit(2)


def _url(what: str, value: str, *, required: bool = True) -> None:
    """Refuse (exit 2) a URL the Daraja routes would refuse (body.py decides for both)."""
    try:
        Body({what: value}).url(what, required=required)
    except DarajaError as refusal:
        console.print(f"[red]{escape(refusal.message)}[/red]")
        raise typer.Exit(2) from None


def _split(text: str, allowed: tuple[str, ...], what: str) -> str:
    parts = sorted({part.strip() for part in text.split(",") if part.strip()})
    unknown = [part for part in parts if part != "*" and part not in allowed]
    if unknown or not parts:
        console.print(f"[red]{what}: use * or some of {', '.join(allowed)}[/red]")
        raise typer.Exit(2)
    return ",".join(parts)


# -- apps ------------------------------------------------------------------------------


@apps_app.command("list")
def apps_list(db: str = DbOption) -> None:
    """Every app, with its consumer key, products and shortcodes."""
    with open_db(db) as store:
        apps = admin_store.apps(store)
        codes = admin_store.shortcodes(store)
    table = Table(title="Daraja apps")
    for column in ("id", "name", "consumer key", "products", "state", "shortcodes"):
        table.add_column(column)
    for app_id, name, key, products, state in apps:
        owned = ", ".join(f"{c.shortcode} ({c.kind})" for c in codes if c.app_id == app_id)
        table.add_row(str(app_id), str(name), str(key), str(products), str(state), owned)
    console.print(table)


@apps_app.command("create")
def apps_create(
    name: str = typer.Argument(..., help="What the app is called"),
    products: str = typer.Option("*", help=f"Comma-separated: * or {', '.join(PRODUCTS)}"),
    db: str = DbOption,
    keys_dir: Path = KeysOption,
) -> None:
    """A new app; its consumer key and secret are shown once."""
    _storable(name=name)
    chosen = _split(products, PRODUCTS, "products")
    vault = Vault.load(keys_dir)
    key, secret = random_text(consumer_key_length), random_text(consumer_secret_length)
    now = time.time_ns()
    with open_db(db) as store:
        app_id = admin_store.next_app_id(store)
        verifier = vault.verifier("secret", secret)
        app = App(app_id, name, key, verifier, frozenset(chosen.split(",")), "active")
        admin_store.save_app(store, app, now)
    console.print(f"app {app_id} [bold]{name}[/bold]")
    console.print(f"  consumer key     {key}")
    console.print(f"  consumer secret  {secret}   (shown once: keep it)")


@apps_app.command("rotate")
def apps_rotate(app_id: int, db: str = DbOption, keys_dir: Path = KeysOption) -> None:
    """A new consumer secret for an app (the old one stops working)."""
    vault = Vault.load(keys_dir)
    secret = random_text(consumer_secret_length)
    with open_db(db) as store:
        _require_app(store, app_id)
        admin_store.set_secret(store, app_id, vault.verifier("secret", secret), time.time_ns())
    console.print(f"consumer secret  {secret}   (shown once: keep it)")


@apps_app.command("disable")
def apps_disable(app_id: int, db: str = DbOption) -> None:
    """Stop an app: no new tokens, its tokens refused."""
    _set_state(db, app_id, "disabled")


@apps_app.command("enable")
def apps_enable(app_id: int, db: str = DbOption) -> None:
    """Let a disabled app work again."""
    _set_state(db, app_id, "active")


def _set_state(db: str, app_id: int, state: str) -> None:
    with open_db(db) as store:
        _require_app(store, app_id)
        admin_store.set_state(store, app_id, state, time.time_ns())
    console.print(f"app {app_id} {state}")


def _require_app(store: Store, app_id: int) -> None:
    if not admin_store.has_app(store, app_id):
        console.print(f"[red]no app {app_id}[/red]")
        raise typer.Exit(1)


# -- shortcodes and initiators ---------------------------------------------------------


@shortcodes_app.command("add")
def shortcodes_add(
    app_id: int,
    shortcode: str,
    kind: str = typer.Option("paybill", help=f"One of {', '.join(SHORTCODE_KINDS)}"),
    passkey: str = typer.Option("", help="The STK passkey ('' for none)", hide_input=True),
    validation: bool = typer.Option(
        False, "--validation/--no-validation", help="External validation"
    ),
    db: str = DbOption,
    keys_dir: Path = KeysOption,
) -> None:
    """Give an app a shortcode of an existing business (a paybill or B2C organisation, a till)."""
    _storable(shortcode=shortcode)
    _storable(secret=True, passkey=passkey)
    if kind not in SHORTCODE_KINDS:
        console.print(f"[red]kind: one of {', '.join(SHORTCODE_KINDS)}[/red]")
        raise typer.Exit(2)
    party_kind = PartyKind.MERCHANT if kind == "till" else PartyKind.ORGANISATION
    vault = Vault.load(keys_dir)
    with open_db(db) as store:
        _require_app(store, app_id)
        party_id = party_id_by_number(store, party_kind, shortcode)
        if party_id is None:
            console.print(f"[red]no {party_kind.value} with number {shortcode}[/red]")
            raise typer.Exit(1)
        sealed = vault.seal(f"passkey:{shortcode}", passkey) if passkey else ""
        code = Shortcode(shortcode, app_id, kind, party_id, sealed, validation)
        admin_store.save_shortcode(store, code, time.time_ns())
    console.print(f"{shortcode} ({kind}) belongs to app {app_id}")


@shortcodes_app.command("list")
def shortcodes_list(db: str = DbOption) -> None:
    """Every shortcode with its app and settings."""
    with open_db(db) as store:
        rows = admin_store.shortcodes(store)
    table = Table(title="Daraja shortcodes")
    for column in ("shortcode", "app", "kind", "passkey", "external validation"):
        table.add_column(column)
    for code, app_id, kind, has_passkey, validation in rows:
        table.add_row(
            str(code),
            str(app_id),
            str(kind),
            "yes" if has_passkey else "no",
            "on" if validation else "off",
        )
    console.print(table)


@initiators_app.command("add")
def initiators_add(
    app_id: int,
    name: str,
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, help="The initiator's password"
    ),
    roles: str = typer.Option(_DEFAULT_ROLES, help=f"Comma-separated: * or {', '.join(ROLES)}"),
    db: str = DbOption,
    keys_dir: Path = KeysOption,
) -> None:
    """Add (or change) an app's initiator and its password."""
    _storable(name=name)
    _storable(secret=True, password=password)
    chosen = _split(roles, ROLES, "roles")
    vault = Vault.load(keys_dir)
    with open_db(db) as store:
        _require_app(store, app_id)
        verifier = vault.verifier("initiator", password)
        initiator = Initiator(app_id, name, verifier, frozenset(chosen.split(",")))
        admin_store.save_initiator(store, initiator, time.time_ns())
    console.print(f"initiator {name} of app {app_id}: {chosen}")


# -- URLs --------------------------------------------------------------------------------


@urls_app.command("list")
def urls_list(db: str = DbOption) -> None:
    """Every shortcode's registered C2B URLs."""
    with open_db(db) as store:
        rows = admin_store.urls(store)
        validation = {
            row.shortcode: row.external_validation for row in admin_store.shortcodes(store)
        }
    table = Table(title="C2B URLs")
    for column in (
        "shortcode",
        "app",
        "version",
        "default",
        "confirmation",
        "validation",
        "validating",
    ):
        table.add_column(column)
    for code, app_id, version, response_type, confirmation, validation_url in rows:
        on = "on" if validation.get(code) else "off"
        table.add_row(
            str(code),
            str(app_id),
            str(version),
            str(response_type),
            str(confirmation),
            str(validation_url),
            on,
        )
    console.print(table)


@urls_app.command("set")
def urls_set(
    shortcode: str,
    confirmation: str = typer.Option(..., help="ConfirmationURL"),
    validation: str = typer.Option("", help="ValidationURL"),
    response_type: str = typer.Option("Completed", help="Completed or Cancelled"),
    version: str = typer.Option("v2", help="v1 (clear MSISDN) or v2 (masked)"),
    db: str = DbOption,
) -> None:
    """Register a shortcode's URLs, as ``/mpesa/c2b/v2/registerurl`` does."""
    _storable(shortcode=shortcode)
    _url("ConfirmationURL", confirmation)
    _url("ValidationURL", validation, required=False)
    if response_type not in ("Completed", "Cancelled") or version not in ("v1", "v2"):
        console.print("[red]response type Completed or Cancelled; version v1 or v2[/red]")
        raise typer.Exit(2)
    with open_db(db) as store:
        owner = admin_store.owner_of(store, shortcode)
        if owner is None:
            console.print(f"[red]no app has shortcode {shortcode}[/red]")
            raise typer.Exit(1)
        urls = Urls(shortcode, owner, version, response_type, confirmation, validation)
        admin_store.save_urls(store, urls, time.time_ns())
    console.print(f"{shortcode}: confirmation {confirmation}, validation {validation or '-'}")


@urls_app.command("validation")
def urls_validation(
    shortcode: str,
    on: bool = typer.Option(..., "--on/--off", help="Call the ValidationURL before each payment"),
    db: str = DbOption,
) -> None:
    """Turn external validation on or off for a shortcode (off by default, as on Daraja)."""
    with open_db(db) as store:
        if admin_store.owner_of(store, shortcode) is None:
            console.print(f"[red]no app has shortcode {shortcode}[/red]")
            raise typer.Exit(1)
        admin_store.set_validation(store, shortcode, on, time.time_ns())
    console.print(f"{shortcode}: external validation {'on' if on else 'off'}")


@daraja_app.command("credential")
def credential(
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, help="The initiator's password"
    ),
    keys_dir: Path = KeysOption,
) -> None:
    """A SecurityCredential for strict mode: the password under mkoba's certificate."""
    from mkoba.channels.daraja.credential import encrypt, ensure_certificate

    certificate = ensure_certificate(keys_dir)
    console.print(f"certificate  {certificate}")
    console.print(encrypt(certificate, password), soft_wrap=True)
