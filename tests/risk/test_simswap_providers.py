"""The providers with no operator API: none at all, and swaps the platform records itself."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mkoba.risk.simswap import (
    ClientCredentials,
    NullSimSwap,
    RecordedSimSwap,
    Secret,
    SimSwapProvider,
    StaticToken,
)

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_null_provider_never_saw_a_swap_but_checks_the_age() -> None:
    sims: SimSwapProvider = NullSimSwap()
    assert await sims.check("254712000001", 72) is False
    assert await sims.latest_change("254712000001") is None
    with pytest.raises(ValueError, match="1 to 2400"):
        await sims.check("254712000001", 2401)


async def test_recorded_swaps_answer_within_and_outside_max_age() -> None:
    sims = RecordedSimSwap(now=lambda: NOW)
    assert isinstance(sims, SimSwapProvider)
    sims.record("254712000001", NOW - timedelta(hours=10))
    assert await sims.check("254712000001", 72) is True
    assert await sims.check("254712000001", 10) is False  # exactly 10 h ago: outside
    assert await sims.check("254712000002", 2400) is False
    assert await sims.latest_change("254712000001") == NOW - timedelta(hours=10)
    assert await sims.latest_change("254712000002") is None


async def test_an_older_event_arriving_late_does_not_hide_the_latest() -> None:
    sims = RecordedSimSwap(now=lambda: NOW)
    sims.record("254712000001", NOW - timedelta(hours=1))
    sims.record("254712000001", NOW - timedelta(days=40))
    assert await sims.latest_change("254712000001") == NOW - timedelta(hours=1)


async def test_recorded_refuses_naive_times_bad_numbers_and_ages() -> None:
    sims = RecordedSimSwap(now=lambda: NOW)
    with pytest.raises(ValueError, match="time zone"):
        sims.record("254712000001", datetime(2026, 12, 6, 11, 0))
    with pytest.raises(ValueError, match="canonical digits"):
        sims.record("0712000001x", NOW)
    with pytest.raises(ValueError, match="1 to 2400"):
        await sims.check("254712000001", 0)


def test_secrets_are_redacted_and_refuse_pickling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "client-secret-" + "9" * 20
    secret = Secret(value)
    tokens = ClientCredentials("https://op.example/token", "mkoba", secret)
    for shown in (repr(secret), str(secret), f"{secret}", repr(tokens), repr(StaticToken(secret))):
        assert value not in shown
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    path = tmp_path / "camara-client-secret"
    path.write_text(value + "\n", encoding="utf-8")
    assert Secret.from_file(path).reveal() == value
    monkeypatch.setenv("MKOBA_TEST_CAMARA_SECRET", value)
    assert Secret.from_env("MKOBA_TEST_CAMARA_SECRET") == secret
    with pytest.raises(ValueError, match="MKOBA_TEST_UNSET"):
        Secret.from_env("MKOBA_TEST_UNSET")
