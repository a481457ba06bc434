"""Console sessions, kept on the server: a random id in a cookie, nothing else in the browser.

A session lives 15 minutes without use (PCI DSS 8.2.8) and 12 hours at most (ASVS
3.3.2), whichever ends first; signing out ends it at once. Each carries its own
anti-forgery token, which every state-changing request must send back in a header
(ASVS V3.5). Roles that hold money or the audit trail (the system administrator,
finance, compliance) have one session at a time: a new sign-in ends the old one.
Ids and tokens come from the OS's CSPRNG and are compared in constant time; a
session is found by the digest of its id, so the table never holds a usable id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

idle_s = 15 * 60
absolute_s = 12 * 60 * 60
# Roles with one session at a time.
SINGLE_SESSION_ROLES = frozenset({"sysadmin", "finance", "compliance"})
# Sessions kept at most (a bound on memory whatever signs in).
sessions_max = 10_000


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Session:
    """One signed-in member of staff."""

    staff_id: int
    role: str
    csrf: str
    created: float
    last_seen: float

    def live(self, at_s: float) -> bool:
        """Whether it has been used recently enough and is not too old."""
        return at_s - self.last_seen < idle_s and at_s - self.created < absolute_s


@dataclass
class Sessions:
    """Every live session, by the digest of its id."""

    _by_digest: dict[str, Session] = field(default_factory=dict)

    def open(self, staff_id: int, role: str, at_s: float) -> tuple[str, Session]:
        """A new session (its id, for the cookie, and the session with its CSRF token)."""
        if role in SINGLE_SESSION_ROLES:
            self.close_all(staff_id)
        if len(self._by_digest) >= sessions_max:
            self._sweep(at_s)
        if len(self._by_digest) >= sessions_max:
            oldest = min(self._by_digest, key=lambda key: self._by_digest[key].last_seen)
            del self._by_digest[oldest]
        session_id = secrets.token_urlsafe(32)
        session = Session(staff_id, role, secrets.token_urlsafe(32), at_s, at_s)
        self._by_digest[_digest(session_id)] = session
        return session_id, session

    def find(self, session_id: str, at_s: float) -> Session | None:
        """The live session with this id, marked as used now; None (and forgotten) if not."""
        key = _digest(session_id)
        session = self._by_digest.get(key)
        if session is None:
            return None
        if not session.live(at_s):
            del self._by_digest[key]
            return None
        session.last_seen = at_s
        return session

    def close(self, session_id: str) -> None:
        """Sign out: the session ends now."""
        self._by_digest.pop(_digest(session_id), None)

    def close_all(self, staff_id: int) -> int:
        """End every session of one member of staff (disabled, role changed); how many."""
        ended = [key for key, s in self._by_digest.items() if s.staff_id == staff_id]
        for key in ended:
            del self._by_digest[key]
        return len(ended)

    def __len__(self) -> int:
        return len(self._by_digest)

    def _sweep(self, at_s: float) -> None:
        dead = [key for key, s in self._by_digest.items() if not s.live(at_s)]
        for key in dead:
            del self._by_digest[key]


def csrf_matches(session: Session, sent: str | None) -> bool:
    """Whether a state-changing request sent back this session's anti-forgery token."""
    return sent is not None and hmac.compare_digest(session.csrf.encode(), sent.encode())
