"""Every shipped profile starts with its demo world, and its books balance.

The README offers ``MKOBA_PROFILE=campus``; a profile whose limits the demo
ignored would not start at all (a wallet funded above its tier's cap). Each
start seeds three weeks of history: about 3 s per profile on SQLite.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from mkoba.app import Platform
from mkoba.catalog import list_profiles
from mkoba.demo.sandbox import TEST_MSISDN
from mkoba.demo.staff import DEMO_STAFF_PASSWORD
from mkoba.ledger import open_store
from mkoba.ledger.reconcile import reconcile
from mkoba.parties import Purpose, account_id
from mkoba.settings import Settings
from mkoba.staff import accounts
from mkoba.staff.credentials import totp_now
from mkoba.staff.policy import shipped
from mkoba.staff.signin import Outcome, sign_in


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
        # One console account per role, each signing in with the documented password and
        # the code only the server's staff key gives.
        key = accounts.staff_key(settings.keys_dir)
        staff = accounts.everyone(services.store, key)
        assert sorted(a.role for a in staff) == sorted(shipped().roles)
        assert all(a.username == a.role for a in staff)
        finance = next(a for a in staff if a.role == "finance")
        code = totp_now(finance.state.totp_secret, time.time())
        outcome, _ = sign_in(finance.state, DEMO_STAFF_PASSWORD, code, time.time())
        assert outcome is Outcome.SIGNED_IN
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
