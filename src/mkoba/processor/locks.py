"""Per-party serialisation: one request of a party decides at a time.

PIN attempts, daily limits and name look-ups are read and written under the
party's lock, so concurrent requests cannot both pass a check that only one of
them should (exactly the PIN limit reaches the verifier).
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class PartyLocks:
    """An asyncio lock per key (an MSISDN), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def hold(self, key: str) -> _Hold:
        """Hold ``key``'s lock for the duration of an ``async with`` block."""
        return _Hold(self._locks, key)

    def __len__(self) -> int:
        return len(self._locks)


class _Hold:
    """``async with locks.hold(key)``: a plain class, not a generator (every request has one)."""

    __slots__ = ("_locks", "_key", "_lock")

    def __init__(self, locks: dict[str, tuple[asyncio.Lock, int]], key: str) -> None:
        self._locks = locks
        self._key = key
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        locks, key = self._locks, self._key
        lock, users = locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        locks[key] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: no longer a user
            self._leave(lock)
            raise
        self._lock = lock

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        lock = self._lock
        assert lock is not None, "released a lock that was not held"
        self._lock = None
        lock.release()
        self._leave(lock)

    def _leave(self, lock: asyncio.Lock) -> None:
        locks, key = self._locks, self._key
        held, users = locks[key]
        assert held is lock
        if users == 1:
            del locks[key]
        else:
            locks[key] = (lock, users - 1)
