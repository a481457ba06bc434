"""Signing in: both factors, a lockout after repeated failures, and nothing else decided.

``sign_in`` is a pure decision over a staff account's sign-in state: it answers
whether the attempt succeeded and the state to store, and the caller commits that
state before it answers (so a failure counts even if the answer never arrives).
Ten failures in a row lock the account for 30 minutes (PCI DSS 8.3.4); a locked
account is refused without checking anything, so a locked account's password
cannot be guessed at. The refusal never says which factor was wrong.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from mkoba.staff.credentials import accept_totp, burn, password_matches

failures_max = 10
lockout_s = 30 * 60


class SignInState(NamedTuple):
    """What sign-in keeps per account."""

    password_hash: str
    totp_secret: str
    # The last TOTP step accepted: no code of that step or before is taken again.
    last_step: int = 0
    failures: int = 0
    # Until when (s since the epoch) sign-in is refused; 0: not locked.
    locked_until: float = 0.0
    # A disabled account never signs in (a leaver, a suspended account).
    enabled: bool = True

    @property
    def enrolled(self) -> bool:
        """Whether its member has chosen a password and enrolled a TOTP (and not been reset)."""
        return bool(self.password_hash) and bool(self.totp_secret)


class Outcome(enum.Enum):
    """How an attempt ended."""

    SIGNED_IN = "signed_in"
    WRONG = "wrong"
    LOCKED = "locked"
    DISABLED = "disabled"


def sign_in(
    state: SignInState, password: str, code: str, at_s: float
) -> tuple[Outcome, SignInState]:
    """Check both factors at ``at_s``; the outcome and the state to store."""
    if not state.enabled:
        return Outcome.DISABLED, state
    if state.locked_until > at_s:
        return Outcome.LOCKED, state
    if not state.enrolled:
        burn(password)  # as long as a real check: the answer says nothing of enrolment
        return Outcome.WRONG, state
    # Both factors are always checked: the time taken says nothing about which failed.
    password_ok = password_matches(state.password_hash, password)
    step = accept_totp(state.totp_secret, code, at_s, state.last_step)
    if password_ok and step is not None:
        return Outcome.SIGNED_IN, state._replace(last_step=step, failures=0, locked_until=0.0)
    failures = state.failures + 1
    if failures >= failures_max:
        return Outcome.LOCKED, state._replace(failures=0, locked_until=at_s + lockout_s)
    return Outcome.WRONG, state._replace(failures=failures)


def step_up(state: SignInState, code: str, at_s: float) -> tuple[bool, SignInState]:
    """A fresh TOTP before an approval: whether it is accepted, and the state to store."""
    if not state.enabled or not state.enrolled or state.locked_until > at_s:
        return False, state
    step = accept_totp(state.totp_secret, code, at_s, state.last_step)
    if step is None:
        failures = state.failures + 1
        if failures >= failures_max:
            return False, state._replace(failures=0, locked_until=at_s + lockout_s)
        return False, state._replace(failures=failures)
    return True, state._replace(last_step=step, failures=0)
