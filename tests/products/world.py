"""The product tests' helpers around the shared world (``tests/world.py``).

A platform started on a store, a refusal as a user sees it, and the platform's
HTTP app in process; the world and its constants are re-exported from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.processor.request import Response
from tests.processor.world import running as running_on
from tests.processor.world import settings_for
from tests.world import (
    AGENT_PIN,
    AIRTIME,
    BUSINESS_PIN,
    CUSTOMER_PIN,
    EXCISE,
    FEES,
    KSH,
    STAFF_PIN,
    TRUST,
    VOUCHERS,
    Sms,
    World,
    float_of,
    wallet,
)

# Re-exported: the shared world, as this folder's tests have long imported it.
__all__ = [
    "AGENT_PIN",
    "AIRTIME",
    "BUSINESS_PIN",
    "CUSTOMER_PIN",
    "EXCISE",
    "FEES",
    "KSH",
    "STAFF_PIN",
    "TRUST",
    "VOUCHERS",
    "Sms",
    "World",
    "float_of",
    "wallet",
]


@asynccontextmanager
async def running(
    url: str, folder: Path, profile: str = "kenya", demo: bool = False
) -> AsyncIterator[Platform]:
    """A started platform on ``url``, stopped (and its store closed) afterwards."""
    async with running_on(settings_for(url, folder, profile=profile, demo=demo)) as platform:
        yield platform


def refused(response: Response, code: Code, text: str | None = None) -> None:
    """A refusal as a user sees it: the code, a sentence, no receipt."""
    assert response.code is code, response
    assert not response.ok
    assert response.receipt is None
    assert response.message
    if text is not None:
        assert text in response.message, response.message


@asynccontextmanager
async def _started_elsewhere(_app: Any) -> AsyncIterator[None]:
    yield


@asynccontextmanager
async def api_client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The platform's whole HTTP app, in process (the platform is started already)."""
    from mkoba.app import build_app

    transport = httpx.ASGITransport(app=build_app(platform, _started_elsewhere))
    async with httpx.AsyncClient(transport=transport, base_url="http://mkoba") as client:
        yield client
