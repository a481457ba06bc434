"""The console tests' shared fixtures: AnyIO on asyncio for each module's platform."""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from tests.world import World


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    """The module's world on its platform: fee income funded and an agent with float."""
    return await World(platform).setup()
