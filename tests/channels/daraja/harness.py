"""A platform with the Daraja sandbox, served in process, and async waits for callbacks."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mkoba.app import Platform, build_app
from mkoba.channels.daraja.demo import CONSUMER_KEY, CONSUMER_SECRET, INITIATOR
from mkoba.channels.daraja.state import Daraja
from mkoba.demo.sandbox import PASSKEY, STK_SHORTCODE, TEST_MSISDN
from mkoba.parties.handsets import HandsetKey
from mkoba.settings import Settings
from tests.compat.listener import Listener

__all__ = ["INITIATOR", "STK_SHORTCODE", "TEST_MSISDN"]
BASE = "http://mkoba.test"


class Served:
    """The running platform, its channel, and an HTTP client to its app."""

    def __init__(self, platform: Platform, daraja: Daraja, client: httpx.AsyncClient) -> None:
        self.platform = platform
        self.daraja = daraja
        self.client = client

    async def token(self) -> str:
        """A bearer token for the sandbox app."""
        response = await self.client.get(
            "/oauth/v1/generate",
            params={"grant_type": "client_credentials"},
            auth=(CONSUMER_KEY, CONSUMER_SECRET),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        """A Daraja call with the sandbox app's token."""
        bearer = token or await self.token()
        return await self.client.post(
            path, json=body, headers={"Authorization": f"Bearer {bearer}"}
        )

    def handset(self, msisdn: str) -> dict[str, str]:
        """The header of ``msisdn``'s simulated handset, paired with the platform's keys."""
        return HandsetKey.load(self.platform.settings.keys_dir).credential(msisdn).header()

    async def balance(self, msisdn: str = TEST_MSISDN, pin: str = "1357") -> int:
        """A customer's wallet balance (minor units), through the native API."""
        response = await self.client.post("/api/v1/balance", json={"msisdn": msisdn, "pin": pin})
        assert response.status_code == 200, response.text
        return int(response.json()["data"]["balance_minor"])


@asynccontextmanager
async def running(url: str, folder: Path, **settings: Any) -> AsyncIterator[Served]:
    """A started platform on ``url`` with the sandbox; stopped afterwards."""
    chosen: dict[str, Any] = {
        "daraja_auto_answer_s": 0.05,
        "daraja_validation_timeout_s": 0.5,
        "daraja_callback_timeout_s": 1.0,
    }
    chosen.update(settings)
    platform = Platform(Settings(db=url, keys_dir=folder / "keys", demo=False, **chosen))
    await platform.start()
    try:
        daraja = platform.daraja.daraja
        await platform.ensure_sandbox()

        @asynccontextmanager
        async def quiet(_app: Any) -> AsyncIterator[None]:
            yield

        app = build_app(platform, quiet)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Served(platform, daraja, client)
    finally:
        await platform.stop()


async def arrived(
    listener: Listener, path: str, count: int = 1, timeout_s: float = 10.0
) -> list[Any]:
    """The first ``count`` bodies on ``path``, waiting without blocking the loop."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = listener.bodies(path)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{count} callback(s) to {path} expected, got {found}"
        await asyncio.sleep(0.02)


def stk_body(
    listener: Listener, path: str, amount: Any, stamp: str = "", **overrides: Any
) -> dict[str, Any]:
    """An STK push to the test MSISDN with a right password (for ``stamp``, default now)."""
    stamp = stamp or dt.datetime.now().strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{STK_SHORTCODE}{PASSKEY}{stamp}".encode()).decode()
    body: dict[str, Any] = {
        "BusinessShortCode": STK_SHORTCODE,
        "Password": password,
        "Timestamp": stamp,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": amount,
        "PartyA": TEST_MSISDN,
        "PartyB": STK_SHORTCODE,
        "PhoneNumber": TEST_MSISDN,
        "CallBackURL": listener.url(path),
        "AccountReference": "TEST",
        "TransactionDesc": "Test",
    }
    body.update(overrides)
    return body


def query_body(checkout_id: str) -> dict[str, Any]:
    """An STK query for ``checkout_id``."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{STK_SHORTCODE}{PASSKEY}{stamp}".encode()).decode()
    return {
        "BusinessShortCode": STK_SHORTCODE,
        "Password": password,
        "Timestamp": stamp,
        "CheckoutRequestID": checkout_id,
    }


def result_urls(listener: Listener, path: str) -> dict[str, str]:
    """ResultURL and QueueTimeOutURL on the listener."""
    return {"ResultURL": listener.url(path), "QueueTimeOutURL": listener.url(path + "/timeout")}
