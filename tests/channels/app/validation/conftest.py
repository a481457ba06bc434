"""Fixtures for the validation server's tests: a real platform, and a validator on it.

One platform per module and store (``make_platform`` of ``tests/conftest.py``):
its store holds the validator's tables, its TranProc sends the enrolment SMS to
its in-memory SMSC. Each test gets a fresh ``Validator`` on that platform with
its own clock, which the test moves as time would pass.
"""

from __future__ import annotations

import pytest

from mkoba.app import Platform
from tests.channels.app.validation.phones import Clock, Phones
from tests.conftest import MakePlatform
from tests.products.world import World


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
    """Customers, made through TranProc."""
    return World(platform)


@pytest.fixture
def clock(platform: Platform) -> Clock:
    """The validator's clock: the platform's, plus what the test moved it on."""
    return Clock(platform)


@pytest.fixture
async def phones(platform: Platform, world: World, clock: Clock) -> Phones:
    """A started validator on the platform, and phones that use it."""
    return await Phones.start(platform, world, clock)
