"""How the validation server's tables are written and read: whole rows, by key."""

from __future__ import annotations

from typing import NamedTuple

from mkoba.ledger import Write, WriteMode


def upsert(table: str, row: NamedTuple, key: str) -> Write:
    """A row of the validation server's tables, as it stands now (keyed by ``key``)."""
    return Write(table, tuple(row._fields), tuple(row), (key,), WriteMode.UPSERT)


def select(table: str, fields: tuple[str, ...], where: str) -> str:
    """A query of ``fields`` of ``table`` where ``where`` holds."""
    return f"SELECT {', '.join(fields)} FROM {table} WHERE {where}"
