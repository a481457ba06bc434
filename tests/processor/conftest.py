"""Fixtures for TranProc tests: one event loop and one store of each kind per module.

Starting a platform costs a second on SQLite and more on PostgreSQL, so each
module starts its platform once per store (``module_store_url`` of
``tests/conftest.py``) and every test makes
its own parties in it. Async tests run on AnyIO's pytest plugin with asyncio,
one loop per module, so the platform's tasks outlive a single test.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"
