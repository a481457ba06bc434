"""How far each card's menu download got: a table of its own, so a push resumes.

``sim_menu_downloads`` is this package's (as ``sim_cards`` is), written only
through ``Tables.submit`` (the ledger writer), a whole row at a time. One row
per card: the menu being pushed (role, version, the digest of its bytes, how
many chunks) and ``done``, how many chunks from the first the SIM has
acknowledged without a gap. A push that was cut (a lost chunk, the SIM out of
reach, a restart of the server) starts again from ``done``, never from 0, as
long as the menu is the same one (version and digest). ``done == total``: the
SIM holds the whole menu and has checked it.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from mkoba.ledger import Write, WriteMode
from mkoba.ports import Tables

MIGRATION = "sim-0002"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_menu_downloads (
    iccid TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL,
    started BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
"""
TABLE = "sim_menu_downloads"


class DownloadRow(NamedTuple):
    """One card's download: which menu, and how many chunks the SIM acknowledged."""

    iccid: str
    role: str
    version: int
    digest: str  # hex of the SHA-256 the SIM checks the whole against
    total: int
    done: int
    started: int
    updated: int

    @property
    def complete(self) -> bool:
        """Whether the SIM acknowledged every chunk (and so checked the whole)."""
        return self.done == self.total


_COLUMNS = ", ".join(DownloadRow._fields)
_ALL = f"SELECT {_COLUMNS} FROM {TABLE}"
_ONE = f"SELECT {_COLUMNS} FROM {TABLE} WHERE iccid = ?"
_UNFINISHED = f"SELECT {_COLUMNS} FROM {TABLE} WHERE done < total ORDER BY iccid"


def row_of(values: tuple[object, ...]) -> DownloadRow:
    """A row read back (drivers differ in the types they return)."""
    t = [str(value) for value in values]
    row = DownloadRow(t[0], t[1], int(t[2]), t[3], int(t[4]), int(t[5]), int(t[6]), int(t[7]))
    assert 0 <= row.done <= row.total, "a download acknowledges at most its chunks"
    return row


class Downloads:
    """The table, read and written for the push (``ota.py``)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def migrate(self) -> None:
        """Make the table (once)."""
        self._tables.migrate_script(MIGRATION, SCHEMA)

    async def get(self, iccid: str) -> DownloadRow | None:
        """The card's download, or None."""
        rows = await asyncio.to_thread(self._tables.query, _ONE, (iccid,))
        return row_of(rows[0]) if rows else None

    async def unfinished(self) -> list[DownloadRow]:
        """Every download the SIM has not completed (to resume after a restart)."""
        rows = await asyncio.to_thread(self._tables.query, _UNFINISHED)
        return [row_of(values) for values in rows]

    async def all(self) -> list[DownloadRow]:
        """Every row (tests, ``mkoba sims``)."""
        rows = await asyncio.to_thread(self._tables.query, _ALL)
        return [row_of(values) for values in rows]

    async def write(self, row: DownloadRow) -> None:
        """The row as it stands now; committed when this returns."""
        assert 0 <= row.done <= row.total
        write = Write(TABLE, tuple(row._fields), tuple(row), ("iccid",), WriteMode.UPSERT)
        await self._tables.submit([write])
