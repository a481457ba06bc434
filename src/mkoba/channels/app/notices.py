"""Live notices to the app: a payment a phone made or received, as it completes.

Each open notices stream (``POST /app/api/v1/events``) listens on its phone's
number; the channel publishes what its payments did to both phones. A stream's
queue is bounded: a phone that does not read loses its oldest notices (the app
refreshes its balance and statement on reconnect), never the platform's memory.

``Notices`` holds the streams of one process; ``bus_notices.BusNotices`` carries
notices between the processes of a split platform (fronts and a core on a bus).
The channel speaks to either through ``Board``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

# Notices kept for one stream that is not being read; past this the oldest go.
queue_notices_max = 64
# Streams one phone may hold open at once (a second tab, a reconnect before the old
# one closed); past this the oldest is ended.
streams_per_phone_max = 4
# A stream is ended with this sentinel (its binding ended, the platform stops).
END = "end"


class Notice:
    """One notice: an SSE event name and its JSON data."""

    __slots__ = ("data", "event")

    def __init__(self, event: str, data: dict[str, Any]) -> None:
        self.event = event
        self.data = data

    def frame(self) -> bytes:
        """The notice as a server-sent event."""
        return f"event: {self.event}\ndata: {json.dumps(self.data)}\n\n".encode()


class Board(Protocol):
    """What the channel asks of its notices, whether one process holds them or a bus."""

    def listen(self, msisdn: str) -> AbstractContextManager[asyncio.Queue[Notice]]:
        """A queue of notices for ``msisdn`` while the block runs."""
        ...

    def publish(self, msisdn: str, event: str, data: dict[str, Any]) -> None:
        """Tell every stream of ``msisdn``."""
        ...

    def end(self, msisdn: str, reason: str) -> None:
        """End every stream of ``msisdn`` (its binding ended)."""
        ...

    def phones(self) -> list[str]:
        """The numbers with a stream open here."""
        ...

    def listening(self) -> int:
        """Streams open here (a gauge for health)."""
        ...


class Notices:
    """The open streams of this process, by phone number."""

    def __init__(self) -> None:
        self._streams: dict[str, list[asyncio.Queue[Notice]]] = {}

    @contextmanager
    def listen(self, msisdn: str) -> Iterator[asyncio.Queue[Notice]]:
        """A queue of notices for ``msisdn`` while the block runs."""
        queue: asyncio.Queue[Notice] = asyncio.Queue(queue_notices_max)
        streams = self._streams.setdefault(msisdn, [])
        if len(streams) >= streams_per_phone_max:
            _put(streams.pop(0), Notice(END, {"reason": "another stream opened"}))
        streams.append(queue)
        try:
            yield queue
        finally:
            if queue in streams:
                streams.remove(queue)
            if not streams:
                self._streams.pop(msisdn, None)

    def publish(self, msisdn: str, event: str, data: dict[str, Any]) -> None:
        """Tell every stream of ``msisdn``."""
        for queue in self._streams.get(msisdn, ()):
            _put(queue, Notice(event, data))

    def end(self, msisdn: str, reason: str) -> None:
        """End every stream of ``msisdn`` (its binding ended)."""
        for queue in self._streams.pop(msisdn, []):
            _put(queue, Notice(END, {"reason": reason}))

    def phones(self) -> list[str]:
        """The numbers with a stream open."""
        return list(self._streams)

    def listens(self, msisdn: str) -> bool:
        """Whether ``msisdn`` has a stream open (one look-up: a bus asks it of every notice)."""
        return msisdn in self._streams

    def listening(self) -> int:
        """Open streams (a gauge for health)."""
        return sum(len(streams) for streams in self._streams.values())


def _put(queue: asyncio.Queue[Notice], notice: Notice) -> None:
    if queue.full():
        queue.get_nowait()  # the oldest goes: a phone that does not read falls behind
    queue.put_nowait(notice)
