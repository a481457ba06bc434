"""The demo world's console staff: one per role, a documented password, codes from the keys.

Each account's username is its role. The password is printed in the README; the second
factor is not: ``mkoba staff totp ROLE`` reads it with the server's staff key, so only
someone at the server's keys directory can sign in, even where the demo world was
loaded by mistake.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mkoba.ledger import LedgerWriter, Store
from mkoba.staff import accounts
from mkoba.staff.policy import shipped

DEMO_STAFF_PASSWORD = "mkoba demo 2026"  # noqa: S105 (the demo's, documented: the TOTP is not)
# (role, name): the username is the role.
DEMO_STAFF = (
    ("care_l1", "Achieng Odhiambo"),
    ("care_l2", "Wanjiru Kamau"),
    ("operations", "Baraka Mwangi"),
    ("agent_network", "Kipchoge Rotich"),
    ("compliance", "Chebet Langat"),
    ("finance", "Njeri Mutua"),
    ("auditor", "Otieno Ouma"),
    ("sysadmin", "Daudi Mohamed"),
)


async def seed_staff(store: Store, writer: LedgerWriter, keys_dir: Path, now: int) -> None:
    """The demo staff, committed by the ledger writer (into a store with no staff yet)."""
    await asyncio.to_thread(accounts.migrate, store)
    key = accounts.staff_key(keys_dir)
    policy = shipped()
    writes = []
    for staff_id, (role, name) in enumerate(DEMO_STAFF, start=1):
        _, _, write = await asyncio.to_thread(
            accounts.prepare, key, policy, staff_id, role, name, role, DEMO_STAFF_PASSWORD, now
        )
        writes.append(write)
    await writer.submit_async([], attach=writes)
