"""Bearer tokens for the CAMARA API: a fixed one, or OAuth2 client credentials, cached.

The token and the client secret are ``Secret`` values: their repr is redacted, they
refuse to be pickled, and no exception raised here carries them or a response body.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, Protocol

import httpx

from mkoba.risk.simswap.provider import SimSwapMisconfigured, SimSwapUnavailable

#: Scopes asked for by default: one per operation this client calls.
DEFAULT_SCOPES = ("sim-swap:check", "sim-swap:retrieve-date")

#: A token is renewed this long before the expiry its server announced, so a call
#: started just before expiry does not arrive with a dead token.
EXPIRY_MARGIN_S = 30.0

#: Lifetime assumed when the token server gives no ``expires_in`` (RFC 6749 lets it).
DEFAULT_LIFETIME_S = 300.0


class Secret:
    """A token or client secret in memory; redacted wherever it could be printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or value != value.strip():
            raise ValueError("a secret is a non-empty string without surrounding blanks")
        self._value = value

    @classmethod
    def from_env(cls, name: str) -> Secret:
        """The secret in environment variable ``name`` (ValueError naming it if unset)."""
        value = os.environ.get(name, "").strip()
        if not value:
            raise ValueError(f"environment variable {name} is not set")
        return cls(value)

    @classmethod
    def from_file(cls, path: Path) -> Secret:
        """The secret held in a file (e.g. in the keys directory), trailing newline dropped."""
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            raise ValueError(f"{path} is empty")
        return cls(value)

    def reveal(self) -> str:
        """The value, for the one header or form field that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a secret cannot be serialised")


class TokenSource(Protocol):
    """Gives the bearer token for the next call, and drops it when the API refused it."""

    async def token(self) -> Secret:
        """A token believed valid now (fetched or renewed if need be)."""
        ...

    def invalidate(self, token: Secret) -> bool:
        """Forget ``token`` (the API said 401); True if asking again may give a new one."""
        ...


class StaticToken:
    """A token configured by hand (an operator's long-lived token, a sandbox key)."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    async def token(self) -> Secret:
        """The configured token."""
        return self._token

    def invalidate(self, token: Secret) -> bool:
        """Nothing to renew: a refused static token stays refused."""
        return False

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


class ClientCredentials:
    """OAuth2 client credentials (RFC 6749 §4.4) at ``token_url``, cached until expiry.

    The client authenticates with HTTP Basic (``client_secret_basic``, the RFC's
    default). Concurrent callers share one fetch. ``now`` is a monotonic clock in
    seconds (tests move it).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: Secret,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_url.startswith(("https://", "http://")):
            raise ValueError("token_url is an http(s) URL")
        if not client_id:
            raise ValueError("client_id is required")
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = tuple(scopes)
        self._client = client
        self.timeout_s = timeout_s
        self._now = now
        self._cached: Secret | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentials({self.token_url!r}, {self.client_id!r}, <redacted>)"

    async def token(self) -> Secret:
        """The cached token, or a new one once it is within the margin of its expiry."""
        async with self._lock:
            if self._cached is None or self._now() >= self._expires_at:
                self._cached, lifetime = await self._fetch()
                self._expires_at = self._now() + max(lifetime - EXPIRY_MARGIN_S, 0.0)
            return self._cached

    def invalidate(self, token: Secret) -> bool:
        """Drop ``token`` if it is still the cached one; the next call fetches anew."""
        if self._cached == token:
            self._cached = None
        return True

    async def _fetch(self) -> tuple[Secret, float]:
        data = {"grant_type": "client_credentials"}
        if self.scopes:
            data["scope"] = " ".join(self.scopes)
        auth = httpx.BasicAuth(self.client_id, self._secret.reveal())
        client = self._client or httpx.AsyncClient()
        try:
            answer = await client.post(self.token_url, data=data, auth=auth, timeout=self.timeout_s)
        except httpx.TimeoutException:
            raise SimSwapUnavailable("TIMEOUT", "the token server did not answer in time") from None
        except httpx.HTTPError as error:
            raise SimSwapUnavailable(
                "UNREACHABLE", f"the token server could not be reached ({type(error).__name__})"
            ) from None
        finally:
            if self._client is None:
                await client.aclose()
        return _read_token(answer)


def _read_token(answer: httpx.Response) -> tuple[Secret, float]:
    """The token and its lifetime from a token endpoint's answer (RFC 6749 §5.1, §5.2)."""
    status = answer.status_code
    try:
        body = answer.json()
    except ValueError:
        body = None
    if status in (400, 401):
        # §5.2: {"error": "invalid_client" | "invalid_scope" | ...}; only the code is kept.
        error = body.get("error") if isinstance(body, dict) else None
        reason = error if isinstance(error, str) and error.isascii() and len(error) < 64 else "?"
        raise SimSwapMisconfigured(
            "TOKEN_REJECTED", f"the token server refused the client ({reason})", status=status
        )
    if status >= 500:
        raise SimSwapUnavailable("SERVER_ERROR", "the token server failed", status=status)
    if status != 200 or not isinstance(body, dict):
        raise SimSwapUnavailable(
            "BAD_RESPONSE", "the token server's answer is not a token", status=status
        )
    token, kind, lifetime = body.get("access_token"), body.get("token_type"), body.get("expires_in")
    if not isinstance(token, str) or not token or token != token.strip():
        raise SimSwapUnavailable(
            "BAD_RESPONSE", "the token server gave no access_token", status=status
        )
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise SimSwapUnavailable(
            "BAD_RESPONSE", "the token server gave no bearer token", status=status
        )
    if lifetime is None:
        return Secret(token), DEFAULT_LIFETIME_S
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise SimSwapUnavailable(
            "BAD_RESPONSE", "the token server gave a bad expires_in", status=status
        )
    return Secret(token), float(lifetime)
