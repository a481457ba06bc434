"""A channel's own rows (prompts, tokens, queued callbacks): committed by the ledger writer.

Channels keep state of their own beside the money: Daraja's STK prompts and
OAuth tokens, the callbacks they queue in the outbox. The ledger writer commits
those rows, in order with the money, so there is one writer per ledger.
``Rows`` is how a channel hands them over:

- ``LocalRows``: the channel runs in the writer's process (``mkoba serve``).
- ``remote.RemoteRows``: the channel runs in a front process
  (``mkoba serve --role front``) and the rows cross the bus to the core process,
  which commits those its channels allow (``Admission``) and refuses the rest:
  a front never writes money, requests or another channel's tables.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from mkoba.ledger import Balance, LedgerWriter, Write, WriteMode

# Whether a front may write one row: per table, a check of the row that gives the row to
# commit (the same, or renumbered by the core), or None when the front may not write it.
Admission = dict[str, Callable[[Write], Write | None]]


class RowsError(RuntimeError):
    """Rows the core did not commit (refused, malformed, or no core answered)."""


class Rows(Protocol):
    """Where a channel's rows go."""

    # True when rows submitted before a request reach the writer before that request's
    # payment does (in one process, and from a front: ``order.py``); False where the
    # caller must wait for them.
    ordered: bool

    def submit(
        self, writes: Sequence[Write], *, poke: bool = False, batch: str = ""
    ) -> Awaitable[None]:
        """Submit ``writes`` now; the awaitable resolves once they are durable.

        ``poke``: they hold queued messages, so wake the outbox sender after the commit.
        ``batch``: these rows were sent before as this batch and its answer never came
        (``CoreUnavailableError.batch``): committed once, whether or not that one was.
        """

    async def balances(self, account_ids: Sequence[int]) -> list[Balance | None]:
        """The balances of ledger accounts, as the writer knows them now."""


class LocalRows:
    """Rows committed by the ledger writer of this process."""

    ordered = True

    def __init__(self, writer: LedgerWriter, poke: Callable[[], None]) -> None:
        self.writer = writer
        self._poke = poke

    def submit(
        self, writes: Sequence[Write], *, poke: bool = False, batch: str = ""
    ) -> Awaitable[None]:
        """Hand ``writes`` to the writer at once (it commits in submission order).

        One process never loses a batch's answer to a bus: ``batch`` is not needed.
        """
        stored = self.writer.submit_async([], attach=list(writes))
        return self._stored(stored, poke)

    async def _stored(self, stored: Awaitable[list[Any]], poke: bool) -> None:
        results = await stored
        assert results == []
        if poke:
            self._poke()

    async def balances(self, account_ids: Sequence[int]) -> list[Balance | None]:
        """Ask the writer, in order with what was submitted before."""
        return await asyncio.wrap_future(self.writer.balances(list(account_ids)))


# -- the wire ----------------------------------------------------------------------------


def rows_bytes(writes: Sequence[Write], poke: bool, batch: str = "", again: bool = False) -> bytes:
    """Rows as JSON; ``bytes`` values as ``{"b64": ...}``; ``batch`` names them once.

    ``again``: the batch was sent before, and its answer not heard.
    """
    body = {
        "poke": poke,
        "batch": batch,
        "again": again,
        "rows": [
            [w.table, list(w.columns), [_value(v) for v in w.values], list(w.keys), w.mode]
            for w in writes
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def rows_from(data: bytes) -> tuple[list[Write], bool, str, bool]:
    """Rows, the poke flag, the batch's id and whether it is asked again, or ``ValueError``."""
    try:
        body: Any = json.loads(data)
        writes = []
        for table, columns, values, keys, mode in body["rows"]:
            if not all(isinstance(part, str) for part in (table, mode, *columns, *keys)):
                raise ValueError("names must be strings")
            if mode not in tuple(WriteMode):
                raise ValueError("mode: insert, upsert or update")
            if len(values) != len(columns):
                raise ValueError("one value per column")
            writes.append(
                Write(
                    table,
                    tuple(columns),
                    tuple(_parsed(v) for v in values),
                    tuple(keys),
                    WriteMode(mode),
                )
            )
        batch = body.get("batch", "")
        if not isinstance(batch, str) or len(batch) > 64:
            raise ValueError("a batch id is a short string")
        return writes, bool(body["poke"]), batch, body.get("again") is True
    except (KeyError, TypeError, binascii.Error) as problem:
        raise ValueError(f"not rows: {type(problem).__name__}") from None


def admitted(writes: Sequence[Write], admission: Admission) -> tuple[list[Write], str]:
    """The rows to commit for a front, and why they may not be ("" when they may)."""
    found = []
    for write in writes:
        check = admission.get(write.table)
        if check is None:
            return [], f"a front may not write {write.table!r}"
        allowed = check(write)
        if allowed is None:
            return [], f"a front may not write this {write.table!r} row"
        found.append(allowed)
    return found, ""


def _value(value: object) -> object:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"a row value cannot be {type(value).__name__}")


def _parsed(value: object) -> object:
    if isinstance(value, dict):
        return base64.b64decode(value["b64"], validate=True)
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError("a row value is a string, a number, null or bytes")
