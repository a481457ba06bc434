"""A core that crashes between a send's phase one and its acknowledgement undoes nothing early.

In the cluster form a front still holds the response when the core dies, and keeps
retrying its acknowledgement until the deadline. Method: a first life of the core
(``first_life.py``, a process of its own) commits a send on the native API channel
(deadline 30 s in this module's campus profile) and is killed with SIGKILL before
anyone acknowledges it. A second life starts on the same store (SQLite, then
PostgreSQL) and must: post the send once on an acknowledgement, with the payer's
and payee's SMS and the statement lines (books reconciled); void it at the same
deadline when none comes; roll it back at once when the deadline passed while it
was down; answer duplicated acknowledgements True and post nothing twice; and
never have held a voucher's code in clear. Time is moved with the platform's clock,
as the other delivery tests do, not waited out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.ledger import open_store
from mkoba.settings import Settings
from tests.processor.first_life import PAYER_KSH, SENT_KSH
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    World,
    available,
    eventually,
    ledger_legs,
    request_of,
    request_state,
    rows,
    settings_for,
    wallet,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

DEADLINE_S = 30
SECOND_NS = 1_000_000_000
ROOT = Path(__file__).parents[2]
ROLLED_BACK_SMS = "could not be completed and no money moved"


class Sent(NamedTuple):
    """What the first life sent before it died."""

    request_id: str
    payer: str
    to: str


def campus_profile(folder: Path) -> Path:
    """The campus profile (vouchers on), with the native API's deadline at ``DEADLINE_S``."""
    text = resources.files("mkoba.catalog").joinpath("profiles", "campus.yaml").read_text("utf-8")
    text, count = re.subn(r"\bapi: [0-9]+", f"api: {DEADLINE_S}", text)
    assert count == 1
    path = folder / "campus_api30.yaml"
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    return settings_for(store_url, tmp_path, profile=campus_profile(tmp_path))


async def crash_after_phase_one(settings: Settings, to: str = "customer") -> Sent:
    """Run a first life that sends, then dies by SIGKILL; what it sent."""
    command = [
        sys.executable,
        "-m",
        "tests.processor.first_life",
        settings.db,
        str(settings.keys_dir.parent),
        settings.profile,
        to,
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    return Sent(**json.loads(done.stdout.strip().splitlines()[-1]))


def stored(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read from the store between two lives, on a connection of their own."""
    store = open_store(settings.db)
    try:
        return store.query(sql, params)
    finally:
        store.close()


def deadline_of(settings: Settings, sent: Sent) -> int:
    """When the send's deadline falls (ns): its phase one's time plus the channel's deadline."""
    ((created,),) = stored(
        settings, "SELECT created FROM requests WHERE id = ?", (sent.request_id,)
    )
    return int(created) + DEADLINE_S * SECOND_NS


@asynccontextmanager
async def second_life(settings: Settings, at: int | None = None) -> AsyncIterator[Platform]:
    """The core started again on the same store (its clock fixed at ``at``, if given)."""
    platform = Platform(settings)
    platform.clock.fixed = at
    await platform.start()
    try:
        yield platform
    finally:
        platform.clock.fixed = None
        await platform.stop()


async def replay(platform: Platform, sent: Sent) -> Code:
    """What the client's retry of the send (same key, same body, the PIN) is answered."""
    request = request_of(
        platform,
        "send_money",
        sent.payer,
        CUSTOMER_PIN,
        request_id=sent.request_id,
        to=sent.to,
        amount=str(SENT_KSH),
    )
    return (await platform.request(request)).code


async def outbox_of(platform: Platform, request_id: str) -> list[tuple[str, str]]:
    """The messages the request queued: (recipient, template), in order."""
    found = await rows(
        platform,
        "SELECT recipient, reference FROM outbox WHERE request_id = ? ORDER BY id",
        (request_id,),
    )
    return [(str(recipient), str(template)) for recipient, template in found]


async def receipt_of(platform: Platform, request_id: str) -> tuple[str, int, int]:
    """The send's receipt: its id, fee and number of legs."""
    ((receipt, fee, legs),) = await rows(
        platform, "SELECT receipt, fee, legs FROM receipts WHERE request_id = ?", (request_id,)
    )
    return str(receipt), int(fee), len(json.loads(legs))


async def arrived(platform: Platform, msisdn: str, fragment: str) -> None:
    """Wait until ``msisdn``'s handset shows an SMS holding ``fragment``."""

    async def shown() -> bool:
        return any(fragment in sms.body for sms in platform.smsc.inbox(msisdn))

    await eventually(shown, what=f"an SMS to {msisdn} with {fragment!r}")


async def test_an_acknowledgement_after_the_crash_posts_the_send_once(settings: Settings) -> None:
    sent = await crash_after_phase_one(settings)
    async with second_life(settings) as platform:
        world = World(platform)
        payer, payee = world.party(sent.payer), world.party(sent.to)
        receipt, fee, legs = await receipt_of(platform, sent.request_id)
        # Waited for again, not voided: the money is still reserved, not moved.
        assert (await request_state(platform, sent.request_id))[1:] == ("pending", "ok", "pending")
        assert platform.processor.deliveries.waiting(sent.request_id)
        assert await available(platform, wallet(payer)) == (PAYER_KSH - SENT_KSH) * KSH - fee
        assert await available(platform, wallet(payee)) == 0
        assert await platform.acknowledge(sent.request_id) is True
        number, status, code, receipt_status = await request_state(platform, sent.request_id)
        assert (status, code, receipt_status) == ("completed", "ok", "completed")
        assert await ledger_legs(platform, number) == {"pending": legs, "post": legs}
        assert await available(platform, wallet(payer)) == (PAYER_KSH - SENT_KSH) * KSH - fee
        assert await available(platform, wallet(payee)) == SENT_KSH * KSH
        messages = await outbox_of(platform, sent.request_id)
        assert [recipient for recipient, _ in messages] == [sent.payer, sent.to]
        await arrived(platform, sent.payer, "sent to")
        await arrived(platform, sent.to, "received")
        lines = await rows(
            platform,
            "SELECT party_id, amount FROM statement_lines WHERE receipt = ? ORDER BY amount",
            (receipt,),
        )
        assert lines == [(payer.id, -(SENT_KSH * KSH + fee)), (payee.id, SENT_KSH * KSH)]
        # The kept settlement is scrubbed by the commit that posted it.
        assert await rows(
            platform, "SELECT body FROM pending_settlements WHERE number = ?", (number,)
        ) == [("",)]
        # Told again (a front retrying): the money stands, nothing happens twice.
        assert await platform.acknowledge(sent.request_id) is True
        assert await ledger_legs(platform, number) == {"pending": legs, "post": legs}
        assert await outbox_of(platform, sent.request_id) == messages
        assert await replay(platform, sent) is Code.OK
        world.check_books()


async def test_with_no_acknowledgement_the_deadline_still_voids_it(settings: Settings) -> None:
    sent = await crash_after_phase_one(settings)
    deadline = deadline_of(settings, sent)
    # The core comes back three seconds before the send's deadline (its timer runs from
    # its start: a start slower than that on a loaded machine would be past it already).
    async with second_life(settings, at=deadline - 3 * SECOND_NS) as platform:
        world = World(platform)
        payer, payee = world.party(sent.payer), world.party(sent.to)
        _, _, legs = await receipt_of(platform, sent.request_id)
        assert (await request_state(platform, sent.request_id))[1] == "pending"
        assert platform.processor.deliveries.waiting(sent.request_id)

        async def rolled_back() -> bool:
            return (await request_state(platform, sent.request_id))[1] == "rolled_back"

        await eventually(rolled_back, what="the rollback at the deadline")
        number, _, code, receipt_status = await request_state(platform, sent.request_id)
        assert (code, receipt_status) == ("rolled_back", "rolled_back")
        assert await ledger_legs(platform, number) == {"pending": legs, "void": legs}
        assert await available(platform, wallet(payer)) == PAYER_KSH * KSH
        assert await available(platform, wallet(payee)) == 0
        # The payer is told it did not happen, once; nobody is told it did.
        assert await outbox_of(platform, sent.request_id) == [(sent.payer, "rolled_back")]
        await arrived(platform, sent.payer, ROLLED_BACK_SMS)
        assert await rows(
            platform, "SELECT body FROM pending_settlements WHERE number = ?", (number,)
        ) == [("",)]
        # A front's acknowledgement after the deadline is told it was rolled back.
        assert await platform.acknowledge(sent.request_id) is False
        assert await ledger_legs(platform, number) == {"pending": legs, "void": legs}
        world.check_books()


async def test_a_deadline_that_passed_while_the_core_was_down_rolls_back_at_start(
    settings: Settings,
) -> None:
    sent = await crash_after_phase_one(settings)
    deadline = deadline_of(settings, sent)
    # Back a second after the deadline (the ledger still holds the reservation).
    async with second_life(settings, at=deadline + SECOND_NS) as platform:
        world = World(platform)
        payer = world.party(sent.payer)
        _, _, legs = await receipt_of(platform, sent.request_id)
        number, status, code, receipt_status = await request_state(platform, sent.request_id)
        assert (status, code, receipt_status) == ("rolled_back", "rolled_back", "rolled_back")
        assert not platform.processor.deliveries.waiting(sent.request_id)
        assert await ledger_legs(platform, number) == {"pending": legs, "void": legs}
        assert await available(platform, wallet(payer)) == PAYER_KSH * KSH
        assert await outbox_of(platform, sent.request_id) == [(sent.payer, "rolled_back")]
        assert await platform.acknowledge(sent.request_id) is False
        assert await platform.acknowledge(sent.request_id, False) is False
        assert await ledger_legs(platform, number) == {"pending": legs, "void": legs}
        assert await replay(platform, sent) is Code.ROLLED_BACK
        world.check_books()


async def test_duplicated_acknowledgements_after_the_crash_post_once(settings: Settings) -> None:
    sent = await crash_after_phase_one(settings)
    async with second_life(settings) as platform:
        world = World(platform)
        payee = world.party(sent.to)
        _, _, legs = await receipt_of(platform, sent.request_id)
        # Fronts retrying at once: each may show the success, and it is posted once.
        answers = await asyncio.gather(*(platform.acknowledge(sent.request_id) for _ in range(6)))
        assert answers == [True] * 6
        assert await platform.acknowledge(sent.request_id) is True
        assert await platform.acknowledge(sent.request_id, False) is False
        number, status, _, receipt_status = await request_state(platform, sent.request_id)
        assert (status, receipt_status) == ("completed", "completed")
        assert await ledger_legs(platform, number) == {"pending": legs, "post": legs}
        assert await available(platform, wallet(payee)) == SENT_KSH * KSH
        assert len(await outbox_of(platform, sent.request_id)) == 2
        world.check_books()


async def test_a_voucher_code_waits_sealed_and_reaches_its_recipient_after_the_crash(
    settings: Settings,
) -> None:
    sent = await crash_after_phase_one(settings, to="voucher")
    ((number, body),) = stored(
        settings,
        "SELECT s.number, s.body FROM pending_settlements AS s"
        " JOIN requests AS r ON r.number = s.number WHERE r.id = ?",
        (sent.request_id,),
    )
    async with second_life(settings) as platform:
        world = World(platform)
        assert await platform.acknowledge(sent.request_id) is True
        assert (await request_state(platform, sent.request_id))[1] == "completed"
        # The recipient reads the code on the handset, as a person would...
        texts = await world.sms_to(sent.to)
        found = re.search(r"code, (\d{8}),", texts[-1])
        assert found is not None, texts
        code = found.group(1)
        # ...and the stored settlement never held it, nor the recipient's other values.
        assert code not in body
        assert "AKINYI" not in body.upper()
        assert "sealed:" in body
        assert await rows(
            platform, "SELECT body FROM pending_settlements WHERE number = ?", (number,)
        ) == [("",)]
        world.check_books()


@pytest.mark.parametrize(
    ("script", "malformed"),
    [
        # A phase one from before settlements were kept.
        ("DELETE FROM pending_settlements", False),
        # A stored settlement that does not read back is refused, never guessed at.
        ("UPDATE pending_settlements SET body = '{\"version\": 1}'", True),
    ],
    ids=["none kept", "malformed"],
)
async def test_a_send_with_no_readable_settlement_rolls_back_at_start(
    settings: Settings, script: str, malformed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    sent = await crash_after_phase_one(settings)
    store = open_store(settings.db)
    try:
        # A one-off script on the store between the two lives.
        store.migrate_script("test-settlements", script)
    finally:
        store.close()
    with caplog.at_level(logging.ERROR, logger="mkoba.processor.recovery"):
        async with second_life(settings) as platform:
            world = World(platform)
            _, _, legs = await receipt_of(platform, sent.request_id)
            number, status, _, _ = await request_state(platform, sent.request_id)
            assert status == "rolled_back"
            assert await ledger_legs(platform, number) == {"pending": legs, "void": legs}
            assert await available(platform, wallet(world.party(sent.payer))) == PAYER_KSH * KSH
            assert await platform.acknowledge(sent.request_id) is False
            world.check_books()
    said = [r.getMessage() for r in caplog.records if r.name == "mkoba.processor.recovery"]
    refusal = (
        f"pending request {number} cannot be posted after the restart:"
        f" request {number}: the stored settlement has no lines"
    )
    assert said == ([refusal] if malformed else [])
