"""Shared fixtures: a store of each kind, so every ledger test runs on both.

PostgreSQL tests use ``MKOBA_TEST_POSTGRES`` (default: the local server, database
``test``), each in a schema of its own that is dropped afterwards. Without a
server they are skipped, unless ``MKOBA_REQUIRE_POSTGRES=1`` (as in CI) makes
that a failure.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from mkoba.app import Platform
    from mkoba.settings import Settings

# Property tests draw the same examples on every run (a red CI run is one anyone can
# replay), and the first draw may build Hypothesis's Unicode tables on a fresh clone, so
# slow generation is not a failure; how long a test may take is the benchmarks' business.
settings.register_profile(
    "mkoba",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("mkoba")

POSTGRES_URL = os.environ.get("MKOBA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}"
    return None


def _skip_or_fail(problem: str | None, required_by: str) -> None:
    """Skip the calling test over ``problem``; fail instead when ``required_by`` is set to 1."""
    if problem is None:
        return
    if os.environ.get(required_by) == "1":
        pytest.fail(problem)
    pytest.skip(problem)


def require_postgres() -> None:
    """Skip (or, in CI, fail) the calling test when PostgreSQL is not there."""
    _skip_or_fail(postgres_problem(), "MKOBA_REQUIRE_POSTGRES")


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL for a fresh, empty schema on the test server, dropped on leaving."""
    require_postgres()
    import psycopg

    schema = f"mkoba_test_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL for a fresh, empty schema on the test server, dropped afterwards."""
    with fresh_schema() as url:
        yield url


STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL for an empty store: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("store") / "ledger.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module", params=STORES)
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``store_url`` shared by a whole module: for tests that start one platform per store.

    Starting a platform costs a second on SQLite and more on PostgreSQL, so such a
    module starts it once per store and every test makes its own parties in it.
    """
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("store") / "mkoba.db")
        return
    with fresh_schema() as url:
        yield url


MakePlatform = Callable[..., Awaitable["Platform"]]


@pytest.fixture(scope="module")
async def make_platform(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MakePlatform]:
    """Start platforms for a module; each is stopped (its store closed) after the module.

    ``await make_platform("name", profile="kenya", demo=False, **settings)`` starts one on
    the module's store, with its keys in a fresh folder called ``name``;
    ``await make_platform(settings=...)`` starts one on settings made by the module.
    Async, so the calling module runs on AnyIO (``pytestmark = pytest.mark.anyio``).
    """
    from mkoba.app import Platform
    from mkoba.settings import Settings

    async with AsyncExitStack() as stack:

        async def make(
            name: str = "platform",
            *,
            settings: Settings | None = None,
            profile: str = "kenya",
            demo: bool = False,
            **overrides: Any,
        ) -> Platform:
            if settings is None:
                folder = tmp_path_factory.mktemp(name)
                settings = Settings(
                    db=module_store_url,
                    keys_dir=folder / "keys",
                    profile=profile,
                    demo=demo,
                    **{"mail_dir": folder / "mail", **overrides},
                )
            platform = Platform(settings)
            await platform.start()
            stack.push_async_callback(platform.stop)
            return platform

        yield make


NATS_URL = os.environ.get("MKOBA_TEST_NATS", "nats://127.0.0.1:4222")


@cache
def nats_problem() -> str | None:
    """Why the NATS server (with JetStream) cannot be used, or None when it can."""
    import asyncio

    import nats
    from nats.errors import Error as NatsError

    async def probe() -> None:
        # nats-py retries a refused connection for minutes: knock first.
        host, port = NATS_URL.removeprefix("nats://").rsplit(":", 1)
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 3)
        writer.close()
        client = await nats.connect(NATS_URL, connect_timeout=3, allow_reconnect=False)
        try:
            await client.jetstream().account_info()
        finally:
            await client.close()

    try:
        asyncio.run(probe())
    except (OSError, NatsError, TimeoutError) as error:
        return f"NATS with JetStream at {NATS_URL} is not reachable: {error!r}"
    return None


def require_nats() -> None:
    """Skip (or, in CI, fail) the calling test when NATS is not there."""
    _skip_or_fail(nats_problem(), "MKOBA_REQUIRE_NATS")


def drop_stream(url: str) -> None:
    """Delete the request stream of the bus at ``url`` (a test's own prefix), if any."""
    import asyncio

    import nats

    from mkoba.bus.jetstream import NatsBus

    async def drop() -> None:
        client = await nats.connect(NATS_URL)
        stream = NatsBus(url).stream
        buckets = [
            stream.removesuffix("_REQUESTS") + kind for kind in ("_FRONTS", "_CLAIMS", "_VALIDATOR")
        ]
        try:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await client.jetstream().delete_stream(stream)
            for bucket in buckets:  # the fronts' key-value buckets (bus/members.py)
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await client.jetstream().delete_key_value(bucket)
        finally:
            await client.close()

    asyncio.run(drop())


@pytest.fixture
def bus_url() -> Iterator[str]:
    """A NATS bus URL with a prefix of its own; its stream and buckets are deleted afterwards."""
    require_nats()
    url = f"{NATS_URL}/test-{uuid.uuid4().hex[:10]}"
    yield url
    drop_stream(url)
