"""Fixtures for the report tests: one platform per store (SQLite, then PostgreSQL) per module."""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from tests.conftest import MakePlatform
from tests.world import World


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, request: pytest.FixtureRequest) -> Platform:
    """The module's platform on the Kenya profile."""
    return await make_platform(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    """The module's world, with an agent store holding float and fee income for commissions."""
    return await World(platform).setup()
