"""TranProc tests' helpers around the shared world (``tests/world.py``), as functions.

Customers are registered and funded through TranProc itself (``register``,
then a ``deposit`` at the world's agent store). What the core products cannot
create (the operator's commission money, agents, merchants, billers) is set up
the way the operator's tooling does: directory changes and ledger issuance
through the writer, the single write path.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mkoba.app import Platform
from mkoba.catalog import CHANNELS
from mkoba.ledger import (
    Balance,
    Transfer,
    TransferFlags,
    TransferResult,
)
from mkoba.processor import ids
from mkoba.settings import Settings
from tests.world import (
    AGENT_PIN,
    BUSINESS_PIN,
    CUSTOMER_PIN,
    EXCISE,
    FEES,
    KSH,
    PHONE_CHANNELS,
    PHONE_ONLY,
    TRUST,
    World,
    call,
    request_of,
    wallet,
)

# Re-exported: the shared world, as this folder's tests have long imported it.
__all__ = [
    "AGENT_PIN",
    "BUSINESS_PIN",
    "CUSTOMER_PIN",
    "EXCISE",
    "FEES",
    "KSH",
    "PHONE_CHANNELS",
    "PHONE_ONLY",
    "TRUST",
    "World",
    "call",
    "request_of",
    "wallet",
]


def fast_profile(folder: Path, deadline_s: int = 2) -> Path:
    """The Kenya profile with every delivery deadline ``deadline_s`` (Daraja keeps none)."""
    text = resources.files("mkoba.catalog").joinpath("profiles", "kenya.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    first = document["versions"][0]
    assert "deadlines_s" in first
    assert all("deadlines_s" not in version for version in document["versions"][1:])
    first["deadlines_s"] = {
        channel: 0 if channel == "daraja" else deadline_s for channel in CHANNELS
    }
    document["name"] = "kenya_fast"
    path = folder / "kenya_fast.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def settings_for(
    url: str, folder: Path, *, profile: str | Path = "kenya", demo: bool = False
) -> Settings:
    """Settings for a test platform: its store, keys and mail in ``folder``, no demo data."""
    return Settings(
        db=url, keys_dir=folder / "keys", mail_dir=folder / "mail", profile=str(profile), demo=demo
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Platform]:
    """A started platform, stopped (and its store closed) afterwards."""
    platform = Platform(settings)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, what: str = "condition"
) -> None:
    """Wait until ``check`` holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def rows(platform: Platform, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the platform's store."""
    return await asyncio.to_thread(platform.services.store.query, sql, params)


async def balance(platform: Platform, account: int) -> Balance:
    """An account's balance as of everything committed so far."""
    (found,) = await asyncio.wrap_future(platform.writer.balances([account]))
    assert found is not None, account
    return found


async def available(platform: Platform, account: int) -> int:
    """What an account may spend now (posted credits less posted and pending debits)."""
    return (await balance(platform, account)).available


async def request_state(platform: Platform, request_id: str) -> tuple[int, str, str, str | None]:
    """A stored request: its number, status, code and its receipt's status (None if none)."""
    found = await rows(
        platform,
        "SELECT r.number, r.status, r.code, c.status FROM requests AS r"
        " LEFT JOIN receipts AS c ON c.number = r.number WHERE r.id = ?",
        (request_id,),
    )
    assert len(found) == 1, (request_id, found)
    number, status, code, receipt = found[0]
    return int(number), status, code, receipt


async def ledger_legs(platform: Platform, number: int) -> Counter[str]:
    """How many of request ``number``'s ledger transfers are of each kind."""
    low, high = number * 32, number * 32 + 32
    found = await rows(
        platform,
        "SELECT flags FROM ledger_transfers WHERE (id >= ? AND id < ?)"
        " OR (pending_id >= ? AND pending_id < ?)",
        (low, high, low, high),
    )
    kinds: Counter[str] = Counter()
    for (flags,) in found:
        kinds[_kind(TransferFlags(int(flags)))] += 1
    return kinds


def _kind(flags: TransferFlags) -> str:
    for flag, name in (
        (TransferFlags.PENDING, "pending"),
        (TransferFlags.POST_PENDING, "post"),
        (TransferFlags.VOID_PENDING, "void"),
        (TransferFlags.EXPIRY, "expiry"),
    ):
        if flags & flag:
            return name
    return "direct"


def inbox(platform: Platform, msisdn: str) -> list[str]:
    """The texts delivered to ``msisdn`` so far."""
    return [sms.body for sms in platform.smsc.inbox(msisdn)]


async def issue(platform: Platform, account: int, amount: int) -> None:
    """Issue e-money against the trust account (money the operator's bank received)."""
    services = platform.services
    ledger = services.profile(platform.clock()).ledger
    number = services.counter.next()
    transfer = Transfer(ids.leg_id(number, 0, "direct"), TRUST, account, amount, ledger)
    (result,) = await asyncio.wrap_future(services.writer.submit([transfer]))
    assert result is TransferResult.OK, result
