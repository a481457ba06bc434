"""A commit whose answer is lost: the store committed it, the processor was not told.

A connection cut just after PostgreSQL committed (or a commit process killed just
after SQLite did) leaves the writer saying "it may or may not have committed"
and the client answered busy. The client asks again under the same id: the
answer must be the one that committed, never a second decision with a second
receipt and the money moved twice (the partition fault scenario found it).
A request whose lost answer was a phase one waiting for delivery still waits
(posted on acknowledgement) or is rolled back at its deadline, retried or not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.ledger import StoreError
from mkoba.ledger.store.base import FAULT_STORE, FAULT_UNTRIED, Commit
from mkoba.parties import Party
from mkoba.processor.request import Request
from mkoba.settings import Settings
from tests.processor.world import (
    CUSTOMER_PIN,
    KSH,
    World,
    available,
    eventually,
    fast_profile,
    ledger_legs,
    request_of,
    request_state,
    rows,
    running,
    settings_for,
    wallet,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

DEADLINE_S = 2


@pytest.fixture(scope="module")
def settings(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("lost")
    return settings_for(module_store_url, folder, profile=fast_profile(folder, DEADLINE_S))


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings) as platform:
        yield await World(platform).setup()


def _holds(batch: Commit, request_id: str) -> bool:
    return any(w.table == "requests" and w.values[0] == request_id for w in batch.writes)


class _LosingPipe:
    """The writer's commit pipe, except that the answer to the batch that stores
    ``request_id`` is read and then lost, as a cut connection loses it: nothing
    sent after that batch reaches the commit process."""

    def __init__(self, pipe: Any, request_id: str, in_flight: int) -> None:
        self.pipe = pipe
        self.request_id = request_id
        # Whether each batch sent and not yet answered is the one (those sent already: not).
        self.sent: deque[bool] = deque([False] * in_flight)
        self.lost = 0
        self.cut = False

    def fileno(self) -> int:
        return int(self.pipe.fileno())

    def send(self, batch: Commit) -> None:
        if self.cut:
            raise StoreError("not committed: the connection was lost", FAULT_UNTRIED)
        self.pipe.send(batch)
        targeted = _holds(batch, self.request_id)
        self.sent.append(targeted)
        self.cut = targeted

    def answer(self) -> None:
        self.pipe.answer()  # committed
        if self.sent and self.sent.popleft() and not self.lost:
            self.lost += 1
            raise StoreError("the connection to the server was lost", FAULT_STORE)


@contextmanager
def answer_lost(platform: Platform, request_id: str) -> Iterator[list[int]]:
    """Lose the answer to the commit of ``request_id``'s row (once); yields [times lost]."""
    writer: Any = platform.writer
    lost = [0]
    if getattr(writer, "_pipe", None) is not None:
        losing = _LosingPipe(writer._pipe, request_id, writer._sent)
        writer._pipe = losing
        try:
            yield lost
        finally:
            lost[0] = losing.lost
            if writer._pipe is losing:
                writer._pipe = losing.pipe
        return
    store = writer.store
    commit = store.commit

    def losing_commit(batch: Commit) -> None:
        commit(batch)
        if _holds(batch, request_id) and not lost[0]:
            lost[0] += 1
            raise StoreError("the connection to the server was lost", FAULT_STORE)

    store.commit = losing_commit
    try:
        yield lost
    finally:
        del store.commit


async def _pair(world: World) -> tuple[Party, Party]:
    payer = await world.customer(5_000)
    payee = await world.customer()
    return payer, payee


def _send(world: World, payer: Party, payee: Party) -> Request:
    assert payer.msisdn is not None and payee.msisdn is not None
    return request_of(
        world.platform, "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="1000"
    )


async def _receipts(platform: Platform, request_id: str) -> list[str]:
    found = await rows(platform, "SELECT receipt FROM receipts WHERE request_id = ?", (request_id,))
    return [str(receipt) for (receipt,) in found]


async def test_a_retry_after_a_lost_answer_is_answered_as_committed_and_moves_money_once(
    world: World,
) -> None:
    platform = world.platform
    payer, payee = await _pair(world)
    request = _send(world, payer, payee)
    with answer_lost(platform, request.id) as lost:
        first = await platform.request(request)
    assert lost == [1]
    assert first.code is Code.SYSTEM_BUSY, first
    # It did commit: one receipt, waiting for its delivery.
    (receipt,) = await _receipts(platform, request.id)
    retry = await platform.request(request)
    assert (retry.code, retry.receipt) == (Code.OK, receipt), retry
    again = await platform.request(request)
    assert (again.code, again.receipt) == (Code.OK, receipt)
    assert await _receipts(platform, request.id) == [receipt]
    # The replayed success is delivered: the money moves, once.
    assert await platform.acknowledge(request.id) is True
    number, status, code, receipt_status = await request_state(platform, request.id)
    assert (status, code, receipt_status) == ("completed", "ok", "completed")
    assert await ledger_legs(platform, number) == {"pending": 3, "post": 3}
    assert await available(platform, wallet(payer)) == 3_987 * KSH
    assert await available(platform, wallet(payee)) == 1_000 * KSH
    assert len(platform.processor.doubts) == 0


async def test_a_lost_answer_never_retried_is_rolled_back_at_its_deadline(world: World) -> None:
    platform = world.platform
    payer, payee = await _pair(world)
    request = _send(world, payer, payee)
    with answer_lost(platform, request.id):
        first = await platform.request(request)
    assert first.code is Code.SYSTEM_BUSY

    async def rolled_back() -> bool:
        return (await request_state(platform, request.id))[1] == "rolled_back"

    # Nobody asks again and nobody acknowledges: the phase one that committed is still
    # waited for until its deadline, then rolled back, and the payer has it all back.
    await eventually(rolled_back, timeout_s=DEADLINE_S + 10, what="the rollback at the deadline")
    number = (await request_state(platform, request.id))[0]
    assert await ledger_legs(platform, number) == {"pending": 3, "void": 3}
    assert await available(platform, wallet(payer)) == 5_000 * KSH
    assert await available(platform, wallet(payee)) == 0
    replay = await platform.request(request)
    assert (replay.code, replay.receipt) == (Code.ROLLED_BACK, None)
    assert len(await _receipts(platform, request.id)) == 1


async def test_a_retry_with_other_content_under_an_id_in_doubt_is_a_duplicate(
    world: World,
) -> None:
    platform = world.platform
    payer, payee = await _pair(world)
    request = _send(world, payer, payee)
    with answer_lost(platform, request.id):
        assert (await platform.request(request)).code is Code.SYSTEM_BUSY
    assert payer.msisdn is not None and payee.msisdn is not None
    other = request_of(
        platform,
        "send_money",
        payer.msisdn,
        CUSTOMER_PIN,
        request_id=request.id,
        to=payee.msisdn,
        amount="2000",
    )
    assert other.fingerprint() != request.fingerprint()
    answer = await platform.request(other)
    assert answer.code is Code.DUPLICATE_REQUEST, answer
    assert len(await _receipts(platform, request.id)) == 1
