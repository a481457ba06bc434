"""The response rule for SMS-initiated requests: the reply's delivery receipt decides.

A request that came in by SMS is answered by SMS: money it moved is posted when
the SMSC reports the reply delivered, rolled back at once when it reports it
undeliverable, and rolled back at the deadline when no receipt comes (or one
comes too late). A platform runs here, bound to the SMSC peer, with a 2 s SMS
deadline so the lost-receipt case does not take the usual two minutes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mkoba.app import Platform
from mkoba.commands.catalog import PayPerson
from mkoba.parties import Pin, Purpose, seal_pin
from mkoba.processor.request import Channel, Request
from mkoba.settings import Settings
from tests.channels.serving import profile_with
from tests.channels.sms.peer import Peer

PIN = "1357"


async def _status(platform: Platform, request_id: str) -> str:
    rows = await asyncio.to_thread(
        platform.services.store.query, "SELECT status FROM requests WHERE id = ?", (request_id,)
    )
    return str(rows[0][0])


async def _settled(platform: Platform, request_id: str, timeout_s: float) -> tuple[str, float]:
    """The request's final status and how long it took to get there."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        status = await _status(platform, request_id)
        if status != "pending":
            return status, time.monotonic() - started
        await asyncio.sleep(0.05)
    return "pending", timeout_s


async def _balance(platform: Platform, msisdn: str) -> int:
    party = platform.services.directory.by_msisdn(msisdn)
    assert party is not None
    account = platform.services.directory.account(party.id, Purpose.WALLET)
    assert account is not None
    (balance,) = await asyncio.wrap_future(platform.writer.balances([account]))
    assert balance is not None
    return balance.available


async def _rich(platform: Platform, count: int) -> list[str]:
    found = []
    for index in range(500, 1000):
        msisdn = str(254712000001 + index)
        if index % 5 and await _balance(platform, msisdn) >= 10_000:
            found.append(msisdn)
        if len(found) == count:
            return found
    raise AssertionError("not enough funded demo customers")


async def _ask(platform: Platform, sender: str, recipient: str, tag: str) -> str:
    """A money-moving request that came in by SMS, answered by an SMS reply."""
    request_id = f"sms:{sender}:test:{tag}"
    sealed = seal_pin(Pin(PIN), platform.transport_key, request_id.encode())
    command = PayPerson(recipient, 10 * 100)
    request = Request(
        request_id, Channel.SMS, "send_money", sender, command, sealed, time.time_ns()
    )
    response = await platform.request(request)
    assert response.ok, response
    channel = platform.sms
    assert channel is not None
    await channel.replies.send(
        sender, "en", "sms.reversal.received", {"receipt": response.receipt}, request_id
    )
    return request_id


def test_the_reply_receipt_posts_fails_or_lets_the_deadline_roll_back(
    tmp_path: Path, smsc: Peer
) -> None:
    async def scenario() -> None:
        settings = Settings(
            db=str(tmp_path / "mkoba.db"),
            keys_dir=tmp_path / "keys",
            profile=str(profile_with(tmp_path, sms=2)),
            smpp=smsc.url,
        )
        platform = Platform(settings)
        await platform.start()
        try:
            delivered, undeliverable, lost, late, recipient = await _rich(platform, 5)
            smsc.config(
                undeliverable=[undeliverable], lost_receipts=[lost], late_receipts={late: 3500}
            )
            before = await _balance(platform, delivered)
            asked = {
                name: await _ask(platform, sender, recipient, name)
                for name, sender in (
                    ("delivered", delivered),
                    ("undeliverable", undeliverable),
                    ("lost", lost),
                    ("late", late),
                )
            }
            posted, posted_after = await _settled(platform, asked["delivered"], 5)
            failed, failed_after = await _settled(platform, asked["undeliverable"], 5)
            assert (posted, failed) == ("completed", "rolled_back")
            assert posted_after < 1.5 and failed_after < 1.5  # receipts, not the deadline
            assert await _balance(platform, delivered) == before - 1_000
            expired, expired_after = await _settled(platform, asked["lost"], 5)
            assert expired == "rolled_back" and expired_after > 1.0  # the 2 s deadline
            late_status, _ = await _settled(platform, asked["late"], 5)
            assert late_status == "rolled_back"
            await asyncio.sleep(2.0)  # the late receipt arrives: too late to post
            assert await _status(platform, asked["late"]) == "rolled_back"
            rows = await asyncio.to_thread(
                platform.services.store.query,
                "SELECT state FROM outbox WHERE request_id = ? AND reference LIKE 'sms.%'",
                (asked["late"],),
            )
            assert [state for (state,) in rows] == ["delivered"]
        finally:
            await platform.stop()

    asyncio.run(scenario())
