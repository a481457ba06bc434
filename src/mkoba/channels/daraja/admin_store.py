"""The Daraja tables as ``mkoba daraja`` reads and writes them: apps, shortcodes, URLs, logs.

These are admin paths: each function runs its statements on the store directly,
one transaction each, and a running server's registry picks the changes up when
it refreshes. Rows are built by ``registry.py`` (the one shape of each row);
secrets arrive here already sealed or reduced to verifiers.
"""

from __future__ import annotations

from typing import NamedTuple

from mkoba.channels.daraja.registry import (
    App,
    Initiator,
    Shortcode,
    Urls,
    app_write,
    initiator_write,
    shortcode_write,
    urls_write,
)
from mkoba.channels.daraja.schema import URL_COLUMNS
from mkoba.ledger import Store, queries


class AppRow(NamedTuple):
    """An app as the admin list shows it (no secret)."""

    id: int
    name: str
    consumer_key: str
    # Comma-separated, as stored ("*": all).
    products: str
    state: str


class ShortcodeRow(NamedTuple):
    """A shortcode as the admin lists show it (whether it has a passkey, not the passkey)."""

    shortcode: str
    app_id: int
    kind: str
    has_passkey: bool
    external_validation: bool


class DeliveryRow(NamedTuple):
    """One attempt to deliver a callback, from the delivery log."""

    outbox_id: int
    app_id: int
    kind: str
    attempt: int
    # The HTTP status (0: no answer).
    status: int
    outcome: str
    elapsed_ms: int
    error: str
    at: int
    url: str


# -- apps ------------------------------------------------------------------------------


def apps(store: Store) -> list[AppRow]:
    """Every app, by id."""
    rows = store.query(
        "SELECT id, name, consumer_key, products, state FROM daraja_apps ORDER BY id"
    )
    return [
        AppRow(int(app_id), str(name), str(key), str(products), str(state))
        for app_id, name, key, products, state in rows
    ]


def has_app(store: Store, app_id: int) -> bool:
    """Whether an app with this id exists."""
    return bool(store.query("SELECT 1 FROM daraja_apps WHERE id = ?", (app_id,)))


def next_app_id(store: Store) -> int:
    """The id a new app gets: one above the highest so far."""
    return int(store.query("SELECT COALESCE(MAX(id), 0) FROM daraja_apps")[0][0]) + 1


def save_app(store: Store, app: App, now: int) -> None:
    """Store a new app (or replace the app with its id), made and changed ``now``."""
    queries.execute_write(store, app_write(app, now))


def set_secret(store: Store, app_id: int, verifier: str, now: int) -> None:
    """Replace an app's consumer secret verifier (the old secret stops working)."""
    store.execute(
        "UPDATE daraja_apps SET secret_verifier = ?, updated = ? WHERE id = ?",
        (verifier, now, app_id),
    )


def set_state(store: Store, app_id: int, state: str, now: int) -> None:
    """Set an app's state (active, disabled)."""
    store.execute(
        "UPDATE daraja_apps SET state = ?, updated = ? WHERE id = ?", (state, now, app_id)
    )


# -- shortcodes and initiators -----------------------------------------------------------


def shortcodes(store: Store) -> list[ShortcodeRow]:
    """Every shortcode, by shortcode."""
    rows = store.query(
        "SELECT shortcode, app_id, kind, passkey <> '', external_validation"
        " FROM daraja_shortcodes ORDER BY shortcode"
    )
    return [
        ShortcodeRow(str(code), int(app_id), str(kind), bool(has_passkey), bool(validation))
        for code, app_id, kind, has_passkey, validation in rows
    ]


def owner_of(store: Store, shortcode: str) -> int | None:
    """The id of the app that has ``shortcode``, or None."""
    rows = store.query("SELECT app_id FROM daraja_shortcodes WHERE shortcode = ?", (shortcode,))
    return int(rows[0][0]) if rows else None


def save_shortcode(store: Store, code: Shortcode, now: int) -> None:
    """Give a shortcode to its app (or change its settings)."""
    queries.execute_write(store, shortcode_write(code, now))


def set_validation(store: Store, shortcode: str, on: bool, now: int) -> None:
    """Turn a shortcode's external validation on or off."""
    store.execute(
        "UPDATE daraja_shortcodes SET external_validation = ?, updated = ? WHERE shortcode = ?",
        (int(on), now, shortcode),
    )


def save_initiator(store: Store, initiator: Initiator, now: int) -> None:
    """Add an app's initiator, or change its password and roles."""
    queries.execute_write(store, initiator_write(initiator, now))


# -- URLs ----------------------------------------------------------------------------------


def urls(store: Store) -> list[Urls]:
    """Every shortcode's registered C2B URLs, by shortcode."""
    rows = store.query(f"SELECT {', '.join(URL_COLUMNS)} FROM daraja_urls ORDER BY shortcode")
    return [
        Urls(str(code), int(app_id), str(version), str(kind), str(confirmation), str(validation))
        for code, app_id, version, kind, confirmation, validation, _ in rows
    ]


def save_urls(store: Store, registered: Urls, now: int) -> None:
    """Register a shortcode's URLs (replacing those it had)."""
    queries.execute_write(store, urls_write(registered, now))


# -- the delivery log --------------------------------------------------------------------


def deliveries(store: Store, app_id: int = 0, limit: int = 50) -> list[DeliveryRow]:
    """The last ``limit`` delivery attempts, newest first; only ``app_id``'s unless 0."""
    where, params = ("app_id = ?", [app_id]) if app_id else ("1 = 1", [])
    rows = store.query(
        "SELECT outbox_id, app_id, kind, attempt, status, outcome, elapsed_ms, error, at, url"
        f" FROM daraja_deliveries WHERE {where} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    return [
        DeliveryRow(
            int(outbox_id),
            int(app),
            str(kind),
            int(attempt),
            int(status),
            str(outcome),
            int(ms),
            str(error),
            int(at),
            str(url),
        )
        for outbox_id, app, kind, attempt, status, outcome, ms, error, at, url in rows
    ]


def delivered_for(store: Store, app_id: int) -> list[int]:
    """The outbox ids of every callback this app was sent (or was tried)."""
    rows = store.query(
        "SELECT DISTINCT outbox_id FROM daraja_deliveries WHERE app_id = ?", (app_id,)
    )
    return sorted(int(row[0]) for row in rows)
