"""Fixtures for the statement tests: one asyncio loop per module (the platform's tasks)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"
