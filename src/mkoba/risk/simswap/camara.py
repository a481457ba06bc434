"""The CAMARA SIM Swap API (v2, ``{apiRoot}/sim-swap/v2``), as a ``SimSwapProvider``.

Two-legged: the client holds a token for itself (client credentials or a static
token) and names the phone in ``phoneNumber`` (E.164 with ``+``). Each call sends a
fresh ``x-correlator`` (a UUID). Every answer the spec lists maps to a clear outcome
(docs/risk-simswap.md has the table): a 200 that matches the response schema is
the answer; anything else raises ``SimSwapUnavailable`` with a code, or
``SimSwapMisconfigured`` where our configuration or code is at fault. A 401 is
retried once with a fresh token.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx

from mkoba.risk.simswap.provider import (
    SimSwapMisconfigured,
    SimSwapUnavailable,
    check_max_age,
)
from mkoba.risk.simswap.tokens import TokenSource

#: Canonical mkoba MSISDN (country code and number, digits only) as E.164 allows it;
#: the spec's PhoneNumber pattern is ``^\+[1-9][0-9]{4,14}$``.
_CANONICAL = re.compile(r"[1-9][0-9]{4,14}")

#: CAMARA error codes that mean our request or credentials are wrong, not the phone.
_OURS = frozenset({"INVALID_ARGUMENT", "MISSING_IDENTIFIER", "UNNECESSARY_IDENTIFIER"})


def e164(msisdn: str) -> str:
    """``254712000001`` as the API wants it: ``+254712000001`` (ValueError if not a number)."""
    if not isinstance(msisdn, str) or _CANONICAL.fullmatch(msisdn) is None:
        raise ValueError("msisdn is canonical digits with its country code (5 to 15 digits)")
    return "+" + msisdn


class CamaraSimSwap:
    """A ``SimSwapProvider`` over an operator's CAMARA SIM Swap API.

    ``base_url`` is the API's root including its version path, e.g.
    ``https://api.operator.example/sim-swap/v2``. ``client`` is shared (connection
    pooling) and stays open; without one, each call opens and closes its own.
    """

    def __init__(
        self,
        base_url: str,
        token_source: TokenSource,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url is an http(s) URL")
        if timeout_s <= 0:
            raise ValueError("timeout_s is positive")
        self.base_url = base_url.rstrip("/")
        self._tokens = token_source
        self._client = client
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"CamaraSimSwap({self.base_url!r})"

    async def check(self, msisdn: str, max_age_hours: int) -> bool:
        """``POST /check``: whether the SIM changed within ``max_age_hours``."""
        body = {"phoneNumber": e164(msisdn), "maxAge": check_max_age(max_age_hours)}
        answer, correlator = await self._call("/check", body)
        swapped = answer.get("swapped")
        if not isinstance(swapped, bool):
            raise SimSwapUnavailable(
                "BAD_RESPONSE", "the check answer has no boolean 'swapped'", correlator=correlator
            )
        return swapped

    async def latest_change(self, msisdn: str) -> datetime | None:
        """``POST /retrieve-date``: the last SIM change (or activation), None if withheld."""
        answer, correlator = await self._call("/retrieve-date", {"phoneNumber": e164(msisdn)})
        if "latestSimChange" not in answer:
            raise SimSwapUnavailable(
                "BAD_RESPONSE", "the answer has no 'latestSimChange'", correlator=correlator
            )
        period = answer.get("monitoredPeriod")
        if period is not None and (isinstance(period, bool) or not isinstance(period, int)):
            raise SimSwapUnavailable(
                "BAD_RESPONSE", "'monitoredPeriod' is not an integer", correlator=correlator
            )
        value = answer["latestSimChange"]
        if value is None:
            return None
        return _date_time(value, correlator)

    async def _call(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """POST ``body`` to ``path``; the 200 answer's JSON object and the correlator sent."""
        correlator = str(uuid.uuid4())
        client = self._client or httpx.AsyncClient()
        try:
            for attempt in (1, 2):
                token = await self._tokens.token()
                answer = await self._post(client, path, body, token.reveal(), correlator)
                if answer.status_code == 401 and attempt == 1 and self._tokens.invalidate(token):
                    continue  # expired or revoked early: once more with a fresh token
                return _read(answer, correlator), correlator
        finally:
            if self._client is None:
                await client.aclose()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(
        self,
        client: httpx.AsyncClient,
        path: str,
        body: dict[str, Any],
        token: str,
        correlator: str,
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "x-correlator": correlator,
            "Accept": "application/json",
        }
        try:
            return await client.post(
                self.base_url + path, json=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.TimeoutException:
            raise SimSwapUnavailable(
                "TIMEOUT", f"no answer within {self.timeout_s:g} s", correlator=correlator
            ) from None
        except httpx.HTTPError as error:
            raise SimSwapUnavailable(
                "UNREACHABLE",
                f"the API could not be reached ({type(error).__name__})",
                correlator=correlator,
            ) from None


def _read(answer: httpx.Response, correlator: str) -> dict[str, Any]:
    """The JSON object of a 200, or the exception that says what the other answers mean."""
    status = answer.status_code
    try:
        body = answer.json()
    except ValueError:
        body = None
    if status == 200:
        if not isinstance(body, dict):
            raise SimSwapUnavailable(
                "BAD_RESPONSE",
                "the answer is not a JSON object",
                status=status,
                correlator=correlator,
            )
        return body
    code = _error_code(body, status)
    if status >= 500:
        raise SimSwapUnavailable(
            "SERVER_ERROR", "the operator's API failed", status=status, correlator=correlator
        )
    if status == 401:
        raise SimSwapMisconfigured(
            code or "UNAUTHENTICATED",
            "the API refused our token even after renewing it (check the client credentials)",
            status=status,
            correlator=correlator,
        )
    if status == 403:
        raise SimSwapMisconfigured(
            code or "PERMISSION_DENIED",
            "the client lacks the scope for this operation (sim-swap:check, "
            "sim-swap:retrieve-date or sim-swap)",
            status=status,
            correlator=correlator,
        )
    if status == 404:
        raise SimSwapUnavailable(
            code or "NOT_FOUND",
            "the operator does not know this number (not its subscriber?)",
            status=status,
            correlator=correlator,
        )
    if status == 429:
        raise SimSwapUnavailable(
            code or "TOO_MANY_REQUESTS",
            "rate or quota limit reached",
            status=status,
            correlator=correlator,
        )
    if status == 400 and code == "OUT_OF_RANGE":
        raise SimSwapUnavailable(
            code,
            "maxAge exceeds the operator's privacy limit; ask with a shorter age",
            status=status,
            correlator=correlator,
        )
    if status == 422 and code == "SERVICE_NOT_APPLICABLE":
        raise SimSwapUnavailable(
            code, "the service does not cover this number", status=status, correlator=correlator
        )
    if status in (400, 422) and code in _OURS:
        raise SimSwapMisconfigured(
            code,
            _PROGRAMMING[code],
            status=status,
            correlator=correlator,
        )
    raise SimSwapUnavailable(
        code or "BAD_RESPONSE",
        "an answer the API does not define",
        status=status,
        correlator=correlator,
    )


_PROGRAMMING = {
    "INVALID_ARGUMENT": "the API rejected the request body as invalid (a bug in this client?)",
    "MISSING_IDENTIFIER": "the API could not tell which phone: is the token 3-legged "
    "where this 2-legged client sends phoneNumber, or was phoneNumber dropped?",
    "UNNECESSARY_IDENTIFIER": "the token already names a phone (3-legged) but this client "
    "is 2-legged and sends phoneNumber: configure a client-credentials token",
}


def _error_code(body: object, status: int) -> str | None:
    """The ``code`` of a CAMARA ErrorInfo body ({status, code, message}), if it is one."""
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z][A-Z0-9_.]{0,63}", code):
        return None
    if body.get("status") not in (status, None):
        return None
    return code


#: RFC 3339 §5.6 date-time; the spec requires the offset.
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _date_time(value: object, correlator: str) -> datetime:
    """An RFC 3339 date-time with its offset, as an aware datetime (else BAD_RESPONSE)."""
    found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if found is not None:
        day, clock, fraction, offset = found.groups()
        # RFC 3339 allows any number of fraction digits (the spec's example has 9).
        micro = (fraction or ".0")[1:7].ljust(6, "0")
        zone = "+00:00" if offset in ("Z", "z") else offset
        try:
            return datetime.fromisoformat(f"{day}T{clock}.{micro}{zone}")
        except ValueError:
            pass  # a day or an hour out of range: not a date-time
    raise SimSwapUnavailable(
        "BAD_RESPONSE", "latestSimChange is not an RFC 3339 date-time", correlator=correlator
    )
