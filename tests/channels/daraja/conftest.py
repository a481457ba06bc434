"""Fixtures for the Daraja channel's in-process tests: one loop and one store of each kind.

Each module starts a platform once per store, without the big demo world, with
the Daraja sandbox loaded (its app, shortcodes and test customer), and talks to
it through the ASGI app in process; callbacks go to a real loopback listener.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.compat.listener import Listener
from tests.conftest import POSTGRES_URL, require_postgres


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Every async test and fixture of a module on one asyncio loop."""
    return "asyncio"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty store for the module: a SQLite file, then a PostgreSQL schema (dropped after)."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("store") / "mkoba.db")
        return
    require_postgres()
    import psycopg

    schema = f"mkoba_daraja_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The businesses' callback receiver, fresh for each test (and each store)."""
    running = Listener()
    try:
        yield running
    finally:
        running.close()
