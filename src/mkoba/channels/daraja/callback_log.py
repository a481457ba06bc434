"""The callbacks to businesses and their delivery log, for the operator console.

The console may not import this channel: the composition root hands it this
``CallbackLog`` (``ports.CallbackLog``). Callbacks are outbox messages
(``outbox/admin.py`` reads them and makes the row that queues one again); the
attempts are the channel's own ``daraja_deliveries``. A callback's shortcode is
its STK prompt's or conversation's (by the request id), or the one whose C2B URL
it went to. Only a URL's host leaves here: a query string may carry a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import urlsplit

from mkoba.channels.daraja.registry import Registry
from mkoba.outbox import admin as outbox
from mkoba.outbox.sealing import SCRUBBED, is_sealed
from mkoba.ports import CallbackDelivery, CallbackFilter, Ports, Tables

# The outbox channel Daraja's callbacks go out on.
CALLBACK = "callback"
# A shortcode filter looks through at most this many of the newest callbacks.
scan_max = 2_000
_IDS_PER_QUERY = 500


def host_of(url: str) -> str:
    """A URL's host (and port): never its user, path or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return ""


class DarajaCallbackLog:
    """``ports.CallbackLog`` over the outbox and the channel's delivery log."""

    def __init__(self, ports: Ports, tables: Tables, registry: Registry) -> None:
        self.ports = ports
        self.tables = tables
        self.registry = registry

    async def find(self, wanted: CallbackFilter, limit: int, offset: int) -> list[CallbackDelivery]:
        """The newest callbacks that match, newest first."""
        assert 0 < limit <= scan_max
        return await asyncio.to_thread(self._list, wanted, limit, offset)

    async def get(self, callback_id: int) -> CallbackDelivery | None:
        """One callback with its body ('' when it was a secret)."""
        return await asyncio.to_thread(self._get, callback_id)

    async def replay(self, callback_id: int) -> bool:
        """Queue one callback again through the writer, and wake the sender."""
        found = await asyncio.to_thread(outbox.stored, self.tables, callback_id, CALLBACK)
        if found is None:
            return False
        await self.tables.submit([outbox.requeue_write(callback_id, self.ports.clock())], poke=True)
        return True

    # -- reading (blocking) -------------------------------------------------------------

    def _list(self, wanted: CallbackFilter, limit: int, offset: int) -> list[CallbackDelivery]:
        if not wanted.shortcode:
            rows = outbox.page(self.tables, CALLBACK, wanted.state, wanted.kind, limit, offset)
            return self._described(rows)
        rows = outbox.page(self.tables, CALLBACK, wanted.state, wanted.kind, scan_max)
        matching = [d for d in self._described(rows) if d.shortcode == wanted.shortcode]
        return matching[offset : offset + limit]

    def _get(self, callback_id: int) -> CallbackDelivery | None:
        found = outbox.stored(self.tables, callback_id, CALLBACK)
        if found is None:
            return None
        (described,) = self._described([found.listed])
        secret = is_sealed(found.body) or found.body == SCRUBBED
        return described._replace(body="" if secret else found.body)

    def _described(self, rows: Sequence[outbox.Listed]) -> list[CallbackDelivery]:
        ids = [row.id for row in rows]
        last = self._last_attempts(ids)
        requests = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            requests.update(outbox.request_ids(self.tables, ids[start : start + _IDS_PER_QUERY]))
        shortcodes = self._shortcodes(requests)
        described = []
        for row in rows:
            app_id, status, error, at = last.get(row.id, (0, 0, "", 0))
            request_id = requests.get(row.id, "")
            shortcode = shortcodes.get(request_id, "") or self._c2b_shortcode(row.recipient)
            if not app_id:
                app_id = _app_in(request_id)
            described.append(
                CallbackDelivery(
                    id=row.id,
                    shortcode=shortcode,
                    app_id=app_id,
                    kind=row.reference,
                    host=host_of(row.recipient),
                    state=row.state,
                    attempts=row.attempts,
                    status=status,
                    error=error,
                    last_attempt=at,
                    created=row.created,
                )
            )
        return described

    def _last_attempts(self, ids: Sequence[int]) -> dict[int, tuple[int, int, str, int]]:
        """Per outbox id, its last attempt: app, HTTP status, error and when."""
        found: dict[int, tuple[int, int, str, int]] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            rows = self.tables.query(
                "SELECT outbox_id, app_id, status, error, at FROM daraja_deliveries"
                f" WHERE outbox_id IN ({', '.join('?' * len(chunk))}) ORDER BY id",
                tuple(chunk),
            )
            for outbox_id, app_id, status, error, at in rows:
                found[int(outbox_id)] = (int(app_id), int(status), str(error), int(at))
        return found

    def _shortcodes(self, requests: dict[int, str]) -> dict[str, str]:
        """The shortcode of each STK prompt's or conversation's request id."""
        prompts = {r.split(":", 2)[2]: r for r in requests.values() if r.startswith("stk:")}
        talks = {r.split(":", 2)[2]: r for r in requests.values() if r.startswith("daraja:")}
        found: dict[str, str] = {}
        for table, column, keys in (
            ("daraja_prompts", "checkout_id", prompts),
            ("daraja_conversations", "conversation_id", talks),
        ):
            names = [name for name in keys if name]
            for start in range(0, len(names), _IDS_PER_QUERY):
                chunk = names[start : start + _IDS_PER_QUERY]
                rows = self.tables.query(
                    f"SELECT {column}, shortcode FROM {table}"
                    f" WHERE {column} IN ({', '.join('?' * len(chunk))})",
                    tuple(chunk),
                )
                for key, shortcode in rows:
                    found[keys[str(key)]] = str(shortcode)
        return found

    def _c2b_shortcode(self, url: str) -> str:
        for urls in self.registry.urls.values():
            if url in (urls.confirmation_url, urls.validation_url):
                return urls.shortcode
        return ""


def _app_in(request_id: str) -> int:
    parts = request_id.split(":", 2)
    if len(parts) == 3 and parts[0] in ("stk", "c2b", "daraja") and parts[1].isdigit():
        return int(parts[1])
    return 0
