"""OAuth: ``GET /oauth/v1/generate?grant_type=client_credentials`` with HTTP Basic.

A consumer key and secret buy a 28-character bearer token, valid for
``daraja_token_ttl_s`` (an hour); ``expires_in`` is a string, one second
short, as Daraja sends it. Earlier tokens stay valid until they expire, so
several clients of one app can work at once. Tokens are stored only as keyed
verifiers, so they survive a restart without being readable from the store.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request as HttpRequest

from mkoba.channels.daraja.envelope import AUTH_FAILED, AUTH_TYPE, GRANT_TYPE, DarajaError
from mkoba.channels.daraja.http import channel, endpoint
from mkoba.channels.daraja.registry import App
from mkoba.channels.daraja.state import Daraja
from mkoba.channels.daraja.vault import random_text, token_length
from mkoba.text import storable

# Basic credentials longer than this are not a key and a secret.
basic_length_max = 512


def _credentials(request: HttpRequest) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise DarajaError(AUTH_TYPE)
    if len(encoded) > basic_length_max:
        raise DarajaError(AUTH_FAILED)
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise DarajaError(AUTH_FAILED) from None
    key, separator, secret = text.partition(":")
    if not separator or not key or not secret or not storable(text):
        raise DarajaError(AUTH_FAILED)
    return key, secret


async def _app(daraja: Daraja, key: str) -> App | None:
    app = daraja.registry.app_by_key(key)
    if app is None and daraja.registry.should_refresh_on_miss():
        # Made by `mkoba daraja apps create` since the last refresh.
        await daraja.refresh()
        app = daraja.registry.app_by_key(key)
    return app


@endpoint
async def generate(request: HttpRequest) -> dict[str, str]:
    """A bearer token for the app whose consumer key and secret are in the Basic header."""
    daraja = channel(request)
    key, secret = _credentials(request)
    if request.query_params.get("grant_type") != "client_credentials":
        raise DarajaError(GRANT_TYPE)
    app = await _app(daraja, key)
    if app is None or not daraja.vault.matches(app.secret_verifier, "secret", secret):
        raise DarajaError(AUTH_FAILED)
    token = random_text(token_length)
    digest = daraja.vault.verifier("token", token)
    ttl_s = daraja.settings.daraja_token_ttl_s
    expires = daraja.now() + ttl_s * 1_000_000_000
    registry = daraja.registry
    await daraja.commit([registry.token_write(digest, app.id, expires)])
    registry.add_token(digest, app.id, expires)
    return {"access_token": token, "expires_in": str(ttl_s - 1)}
