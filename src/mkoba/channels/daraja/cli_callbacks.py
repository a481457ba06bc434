"""``mkoba daraja callbacks``: what was sent, the delivery log, replays.

The callbacks are outbox messages (``outbox/admin.py`` lists and requeues
them); the delivery log is the channel's own ``daraja_deliveries``
(``admin_store.py``).
"""

from __future__ import annotations

import time

import typer
from rich.table import Table

from mkoba.channels.daraja import admin_store
from mkoba.channels.daraja.cli_common import DbOption, console, open_db, when
from mkoba.outbox import admin as outbox

callbacks_app = typer.Typer(
    help="Callbacks: what was sent, the delivery log, replays.", no_args_is_help=True
)
IdsOption = typer.Option(None, "--id", help="Outbox ids to send again (repeat it)")
# The outbox channel Daraja's callbacks go out on.
CALLBACK = "callback"


@callbacks_app.command("list")
def callbacks_list(
    state: str = typer.Option("", help="Only in this state: queued, retry, delivered, failed"),
    limit: int = typer.Option(50, min=1, max=10_000),
    db: str = DbOption,
) -> None:
    """Callbacks in the outbox, newest first."""
    with open_db(db) as store:
        rows = outbox.messages(store, CALLBACK, state, limit)
    table = Table(title="Callbacks")
    for column in ("id", "kind", "url", "state", "attempts", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.reference,
            row.recipient,
            row.state,
            str(row.attempts),
            when(row.created),
        )
    console.print(table)


@callbacks_app.command("log")
def callbacks_log(
    app: int = typer.Option(0, help="Only this app's deliveries (0: all)"),
    limit: int = typer.Option(50, min=1, max=10_000),
    db: str = DbOption,
) -> None:
    """The delivery log: every attempt, its HTTP status and how long it took."""
    with open_db(db) as store:
        rows = admin_store.deliveries(store, app, limit)
    table = Table(title="Callback deliveries")
    for column in ("outbox", "app", "kind", "try", "status", "outcome", "ms", "error", "at", "url"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.outbox_id),
            str(row.app_id),
            row.kind,
            str(row.attempt),
            str(row.status),
            row.outcome,
            str(row.elapsed_ms),
            row.error[:40],
            when(row.at),
            row.url,
        )
    console.print(table)


@callbacks_app.command("replay")
def callbacks_replay(
    ids: list[int] | None = IdsOption,
    app: int = typer.Option(0, help="Or: every failed callback of this app"),
    db: str = DbOption,
) -> None:
    """Send callbacks again (the money does not move again: only the message is resent)."""
    if not ids and not app:
        console.print("[red]give --id (repeatable) or --app[/red]")
        raise typer.Exit(2)
    with open_db(db) as store:
        chosen = list(ids or [])
        if app:
            chosen += outbox.failed(store, admin_store.delivered_for(store, app))
        queued = outbox.requeue(store, chosen, CALLBACK, time.time_ns())
    for missing in sorted(set(chosen) - set(queued)):
        console.print(f"[yellow]no callback {missing}[/yellow]")
    console.print(f"{len(queued)} callback(s) queued again")
