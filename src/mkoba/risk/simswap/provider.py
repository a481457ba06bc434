"""The SIM-swap port: has this phone's SIM changed lately, and when did it last change.

Rule R6 asks it before a PIN reset, a first large payment to a new payee or a
cash-out. Where the port cannot answer (operator down, timeout, an answer that is
not the API's), it raises ``SimSwapUnavailable`` and the caller decides: fail
closed (hold the action) or fail open (let it through and alert). The port never
decides that for the caller, and never claims "not swapped" when it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

#: The range of ``maxAge`` the CAMARA API accepts, in hours (the spec's schema).
MIN_MAX_AGE_HOURS = 1
MAX_MAX_AGE_HOURS = 2400


def check_max_age(max_age_hours: int) -> int:
    """``max_age_hours`` if it is in the API's range (1 to 2400 hours), else ValueError."""
    if isinstance(max_age_hours, bool) or not isinstance(max_age_hours, int):
        raise TypeError("max_age_hours is an int (hours)")
    if not MIN_MAX_AGE_HOURS <= max_age_hours <= MAX_MAX_AGE_HOURS:
        raise ValueError(
            f"max_age_hours is {MIN_MAX_AGE_HOURS} to {MAX_MAX_AGE_HOURS}, not {max_age_hours}"
        )
    return max_age_hours


class SimSwapUnavailable(RuntimeError):
    """The provider could not say whether the SIM changed; the caller fails open or closed.

    ``code`` says why, for logs and metrics: the API's own error code where it gave one
    (``IDENTIFIER_NOT_FOUND``, ``OUT_OF_RANGE``, ``TOO_MANY_REQUESTS`` ...) or one of
    ours (``TIMEOUT``, ``UNREACHABLE``, ``SERVER_ERROR``, ``BAD_RESPONSE``,
    ``TOKEN_REJECTED``). ``status`` is the HTTP status, if there was one, and
    ``correlator`` the ``x-correlator`` sent, to find the call in the operator's logs.
    The message never holds a token, a secret or a response body.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        correlator: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.correlator = correlator

    def __str__(self) -> str:
        where = "" if self.status is None else f" (HTTP {self.status})"
        trace = "" if self.correlator is None else f" [x-correlator {self.correlator}]"
        return f"{self.code}{where}: {self.args[0]}{trace}"


class SimSwapMisconfigured(SimSwapUnavailable):
    """The API refused the call as built: our configuration or code is wrong, not the phone.

    A 422 ``MISSING_IDENTIFIER`` / ``UNNECESSARY_IDENTIFIER`` (2-legged versus 3-legged
    token mismatch), a 400 ``INVALID_ARGUMENT``, a 401 that a fresh token does not cure
    or a 403 (the client lacks the scope). Still a ``SimSwapUnavailable`` (no answer
    for this phone), so a caller that fails closed stays closed; but it needs an
    operator, not a retry.
    """


@runtime_checkable
class SimSwapProvider(Protocol):
    """Where SIM changes are known: an operator's API, the platform's own records, or none."""

    async def check(self, msisdn: str, max_age_hours: int) -> bool:
        """Whether ``msisdn``'s SIM changed in the last ``max_age_hours`` (1 to 2400).

        ``msisdn`` is canonical digits (``254712000001``). Raises ValueError for a
        number or an age out of range, ``SimSwapUnavailable`` when there is no answer.
        """
        ...

    async def latest_change(self, msisdn: str) -> datetime | None:
        """When ``msisdn``'s SIM last changed (timezone-aware), or None: not known.

        None means the provider holds no date (never swapped where it can tell, or the
        operator keeps no date that old); it is not a promise that no swap happened.
        """
        ...


class NullSimSwap:
    """No operator feed: never swapped, no date. For wallets with no access to SIM data.

    Such a deployment leans on device binding and the new-device and dormancy rules
    (R7, R8) instead.
    """

    async def check(self, msisdn: str, max_age_hours: int) -> bool:
        """Always False (after checking the age is in range, as every provider does)."""
        check_max_age(max_age_hours)
        return False

    async def latest_change(self, msisdn: str) -> datetime | None:
        """Always None."""
        return None

    def __repr__(self) -> str:
        return "NullSimSwap()"
