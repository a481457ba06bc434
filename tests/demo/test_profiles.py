"""Every shipped profile starts with its demo world, and its books balance.

The README offers ``MKOBA_PROFILE=campus``; a profile whose limits the demo
ignored would not start at all (a wallet funded above its tier's cap). Each
start seeds three weeks of history: about 3 s per profile on SQLite.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.catalog import list_profiles
from mkoba.demo.sandbox import TEST_MSISDN
from mkoba.ledger import open_store
from mkoba.ledger.reconcile import reconcile
from mkoba.parties import Purpose, account_id
from mkoba.settings import Settings


async def _start_and_stop(settings: Settings) -> tuple[int, int]:
    """Start the whole platform with demo data; the sandbox customer's balance and cap."""
    platform = Platform(settings)
    await platform.start()
    try:
        services = platform.services
        customer = services.directory.by_msisdn(TEST_MSISDN)
        assert customer is not None, "the Daraja sandbox customer was not created"
        wallet = account_id(customer.id, Purpose.WALLET)
        (balance,) = await asyncio.wrap_future(services.writer.balances([wallet]))
        assert balance is not None
        profile = services.profile(platform.clock())
        cap = profile.limits(customer.kyc_tier).balance_max
        return balance.available, cap
    finally:
        await platform.stop()


@pytest.mark.parametrize("profile", list_profiles())
def test_a_shipped_profile_starts_with_its_demo_and_reconciles(
    tmp_path: Path, profile: str
) -> None:
    db = tmp_path / "mkoba.db"
    settings = Settings(db=str(db), keys_dir=tmp_path / "keys", profile=profile, demo=True)

    funded, cap = asyncio.run(_start_and_stop(settings))

    assert 0 < funded <= cap
    with open_store(str(db)) as store:
        report = reconcile(store)
    assert report.transfers > 1_000, "the demo's history is missing"
    assert [(check.name, check.problems) for check in report.checks if not check.ok] == []
    assert report.ok


def test_both_shipped_profiles_are_covered() -> None:
    """The README's two profiles are among those the start test runs over."""
    assert {"kenya", "campus"} <= set(list_profiles())
