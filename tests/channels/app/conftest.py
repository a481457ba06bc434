"""Fixtures for the app channel's route tests: a platform per module and store, its HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mkoba.app import Platform
from tests.conftest import MakePlatform
from tests.products.world import World, api_client


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, request: pytest.FixtureRequest) -> Platform:
    """The module's platform (Kenya profile)."""
    return await make_platform(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    """Parties made through TranProc, and the books."""
    return World(platform)


@pytest.fixture(scope="module")
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The platform's HTTP app, in process."""
    async with api_client(platform) as client:
        yield client
