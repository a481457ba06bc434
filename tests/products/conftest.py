"""Fixtures for the product tests: one event loop and one store of each kind per module.

Each module starts its platform once per store (``module_store_url`` of
``tests/conftest.py``), on the Kenya profile unless it defines ``platform``
itself, and every test makes its own parties in it (``world``). Async tests run
on AnyIO's pytest plugin with asyncio, one loop per module, so the platform's
tasks outlive a single test.
"""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from tests.conftest import MakePlatform
from tests.products.world import World


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform, request: pytest.FixtureRequest) -> Platform:
    """The module's platform (Kenya profile), its keys in a folder named after the module."""
    return await make_platform(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    """The module's world: its platform, and helpers to make parties and ask."""
    return World(platform)
