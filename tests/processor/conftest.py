"""Fixtures for TranProc tests: one event loop and one store of each kind per module.

Starting a platform costs a second on SQLite and more on PostgreSQL, so each
module starts its platform once per store (module-scoped ``store_url``, which
shadows the function-scoped one of ``tests/conftest.py``) and every test makes
its own parties in it. Async tests run on AnyIO's pytest plugin with asyncio,
one loop per module, so the platform's tasks outlive a single test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

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

    schema = f"mkoba_test_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
