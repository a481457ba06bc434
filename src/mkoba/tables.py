"""A channel's own tables (``ports.Tables``), on this process's store and writer.

The composition root hands each channel one: reads go to the store, commits to
the ledger writer through ``Rows`` (this process's writer, or across the bus to
the core's), in order with the money. Both are late bound: they exist once the
platform has started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mkoba.bus.rows import Rows
from mkoba.ledger import Balance, Snapshot, Store, Write


class Tables:
    """``ports.Tables`` over the platform's store and rows, as they are when called."""

    def __init__(self, store: Callable[[], Store], rows: Callable[[], Rows]) -> None:
        self._store = store
        self._rows = rows

    def migrate_script(self, name: str, sql: str) -> None:
        """Run a named schema script once."""
        self._store().migrate_script(name, sql)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query."""
        return self._store().query(sql, params)

    def snapshot(self) -> Snapshot:
        """A consistent read of several tables."""
        return self._store().snapshot()

    @property
    def ordered(self) -> bool:
        """Whether rows reach the writer before a request sent after them (one process)."""
        return self._rows().ordered

    def submit(
        self, writes: Sequence[Write], *, poke: bool = False, batch: str = ""
    ) -> Awaitable[None]:
        """Commit through the ledger writer (in order with the money)."""
        return self._rows().submit(writes, poke=poke, batch=batch)

    async def balances(self, account_ids: Sequence[int]) -> list[Balance | None]:
        """Ledger balances, from the writer (this process's or the core's)."""
        return await self._rows().balances(account_ids)
