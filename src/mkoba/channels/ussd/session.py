"""USSD sessions: where each user is in a menu, kept in memory for a few minutes.

A session is keyed by gateway and the gateway's session id, and belongs to the
phone that opened it: the engine answers another phone's hop with that id as a
stale one and leaves the session alone, whatever the id. It holds the menu
version it started with, the screen, the way back, the values typed so far and
PINs, which are sealed the moment they are typed (never kept in clear). Sessions
end on a final screen, on the gateway's end-of-session notice, when idle too long,
or when they reach the total life a gateway allows; every one of those drops the
sealed PINs with the session.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mkoba.channels.ussd.definition import Menu
from mkoba.parties import SealedPin

# Sessions held at once; past this, new dials are told the system is busy.
sessions_max = 200_000
# How often expired sessions are swept out.
sweep_interval_s = 1.0
# Consecutive invalid inputs on one screen before the session ends.
invalid_inputs_max = 3
# Screens remembered for "back".
stack_depth_max = 32


@dataclass(eq=False)
class Session:
    """One user's walk through one menu."""

    gateway: str
    session_id: str
    msisdn: str
    menu: Menu
    language: str
    screen: str
    created: float
    touched: float
    page: int = 0
    stack: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    sealed: dict[str, SealedPin] = field(default_factory=dict)
    consumed: int = 0
    invalid: int = 0
    error: str = ""
    requests: int = 0
    hops: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def key(self) -> tuple[str, str]:
        """The session's key in the store."""
        return (self.gateway, self.session_id)

    def next_request_id(self) -> str:
        """A new request id, unique to this session and stable for its replays."""
        self.requests += 1
        return f"ussd:{self.gateway}:{self.session_id}:{self.requests}"

    def hold_context(self, name: str) -> bytes:
        """What a PIN typed into ``name`` is sealed to while the session holds it."""
        return f"ussd-hold:{self.gateway}:{self.session_id}:{name}".encode()

    def forget_pins(self) -> None:
        """Drop every sealed PIN (the request has gone, or the session ends)."""
        self.sealed.clear()


class Sessions:
    """Sessions in memory, with an idle timeout and a total life."""

    def __init__(self, idle_s: float, life_s: float) -> None:
        assert idle_s > 0 and life_s > 0
        self.idle_s = idle_s
        self.life_s = life_s
        self._sessions: dict[tuple[str, str], Session] = {}
        self._task: asyncio.Task[None] | None = None
        self.expired = 0
        self.ended: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def full(self) -> bool:
        """Whether the store holds as many sessions as it may."""
        return len(self._sessions) >= sessions_max

    def get(self, key: tuple[str, str], now: float | None = None) -> Session | None:
        """The live session under ``key`` (an expired one is dropped, not returned)."""
        session = self._sessions.get(key)
        if session is None:
            return None
        if self._expired(session, time.monotonic() if now is None else now):
            self.drop(key)
            self.expired += 1
            return None
        return session

    def add(self, session: Session) -> None:
        """Keep a new session."""
        old = self._sessions.pop(session.key, None)
        if old is not None:
            old.forget_pins()
        self._sessions[session.key] = session

    def drop(self, key: tuple[str, str], ending: str | None = None) -> bool:
        """End a session; whether there was one. ``ending`` is counted (gateway notices)."""
        if ending is not None:
            self.ended[ending] = self.ended.get(ending, 0) + 1
        session = self._sessions.pop(key, None)
        if session is None:
            return False
        session.forget_pins()
        return True

    def sweep(self, now: float | None = None) -> int:
        """Drop every expired session; how many."""
        moment = time.monotonic() if now is None else now
        stale = [key for key, s in self._sessions.items() if self._expired(s, moment)]
        for key in stale:
            self.drop(key)
        self.expired += len(stale)
        return len(stale)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.touched > self.idle_s or now - session.created > self.life_s

    def start(self) -> None:
        """Sweep expired sessions in the background."""
        self._task = asyncio.get_running_loop().create_task(self._sweeper(), name="ussd-sweeper")

    async def stop(self) -> None:
        """Stop sweeping and drop every session."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for key in list(self._sessions):
            self.drop(key)

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(sweep_interval_s)
            self.sweep()
