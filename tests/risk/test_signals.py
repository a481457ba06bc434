"""Which SIM-swap signal the settings name, and what a CAMARA provider needs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mkoba.risk.simswap import CamaraSimSwap, NullSimSwap, RecordedSimSwap
from mkoba.risk.start import swap_feed, swap_provider
from mkoba.settings import Settings

pytestmark = pytest.mark.anyio


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings.model_validate({"keys_dir": tmp_path, **values})


async def test_the_sim_cards_swaps_are_the_default_and_new_ones_reach_it(tmp_path: Path) -> None:
    provider = swap_provider(settings(tmp_path), [("254712000001", 1_700_000_000_000_000_000)])
    assert isinstance(provider, RecordedSimSwap)
    changed = await provider.latest_change("254712000001")
    assert changed is not None and int(changed.timestamp()) == 1_700_000_000
    assert await provider.latest_change("254712000002") is None
    ended: list[tuple[str, str]] = []

    async def end_bindings(msisdn: str, reason: str) -> int:
        ended.append((msisdn, reason))
        return 1

    feed = swap_feed(provider, end_bindings)
    feed("254712000002", 1_700_000_100_000_000_000)
    assert await provider.latest_change("254712000002") is not None
    await asyncio.sleep(0)
    assert ended == [("254712000002", "sim_swap")]


def test_none_and_camara(tmp_path: Path) -> None:
    assert isinstance(swap_provider(settings(tmp_path, simswap_provider="none"), []), NullSimSwap)
    swap_feed(NullSimSwap())("254712000001", 1)  # nothing kept, nothing to run
    with pytest.raises(ValueError, match="MKOBA_SIMSWAP_URL"):
        swap_provider(settings(tmp_path, simswap_provider="camara"), [])
    camara = settings(tmp_path, simswap_provider="camara", simswap_url="https://op.example/v2")
    with pytest.raises(ValueError, match="camara-token"):
        swap_provider(camara, [])
    (tmp_path / "camara-token").write_text("a-token-never-shown\n")
    provider = swap_provider(camara, [])
    assert isinstance(provider, CamaraSimSwap)
    assert "a-token-never-shown" not in repr(provider)
