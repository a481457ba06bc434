"""Scratch stores a bench measures on: a temporary SQLite file or PostgreSQL schema."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from rich.console import Console

from mkoba.ledger.store.base import check_identifier
from mkoba.ledger.store.postgres import split_url


@contextmanager
def kept_or_scratch(store: Path | None, prefix: str) -> Iterator[Path]:
    """``store`` (made if missing, kept afterwards for the next run), or a temporary folder."""
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
        yield store
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


@contextmanager
def scratch_store(store: str, postgres_url: str) -> Iterator[str]:
    """A URL for an empty store of this kind, removed afterwards."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mkoba-bench-") as directory:
            yield str(Path(directory) / "ledger.db")
        return
    assert store == "postgresql", store
    schema = check_identifier(f"mkoba_bench_{secrets.token_hex(6)}")
    dsn, _ = split_url(postgres_url)
    parts = urlsplit(dsn)
    query = urlencode([*parse_qsl(parts.query), ("schema", schema)])
    try:
        yield urlunsplit(parts._replace(query=query))
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())


def check_postgres(url: str, status: Console) -> None:
    """Stop with a clear message when the server is unreachable; warn when it is not durable."""
    dsn, _ = split_url(url)
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as connection:
            settings = {
                name: connection.execute(f"SHOW {name}".encode()).fetchone()
                for name in ("fsync", "synchronous_commit")
            }
    except psycopg.Error as error:
        status.print(
            f"[red]PostgreSQL at {dsn} is not reachable:[/red] {error}\n"
            "Give --postgres-url (or MKOBA_BENCH_POSTGRES), or --stores sqlite."
        )
        raise SystemExit(2) from None
    for name, value in settings.items():
        if value is None or value[0] != "on":
            status.print(f"[yellow]warning: PostgreSQL {name} is {value}: commits are not durable")
