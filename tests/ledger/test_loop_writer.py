"""The ledger writer on an event loop, committing through the SQLite commit process's pipe.

It keeps the threaded writer's promises: a result is acknowledged only once its
batch (and every batch before it) is durable; a failed commit fails only its own
command, and a batch behind it in the pipe (refused, since it was decided on the
failed one's memory) is decided again; a dead commit process is replaced at once;
``stop`` finishes what is queued, from the loop's own thread or another one.
Without a pipe it is the threaded writer.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import uvloop

from mkoba.ledger import (
    Account,
    AccountKind,
    Balance,
    Transfer,
    TransferResult,
    WriterError,
    open_store,
)
from mkoba.ledger.loop_writer import LoopWriter
from mkoba.ledger.store.sqlite import SqliteStore
from tests.ledger.helpers import WALLET, credit_balances
from tests.ledger.test_store import ACCOUNTS, ALICE, BOB, RECEIPTS, TRUST, receipt

R = TransferResult


def stored_ids(url: str) -> list[int]:
    with open_store(url) as reader:
        return [row[0] for row in reader.query("SELECT id FROM ledger_transfers ORDER BY id")]


async def started(url: str, *, commit_process: bool = True) -> LoopWriter:
    writer = LoopWriter(open_store(url, commit_process=commit_process), asyncio.get_running_loop())
    await asyncio.to_thread(writer.start)
    writer.store.migrate_script("test_receipts", RECEIPTS)
    await asyncio.wrap_future(writer.create_accounts(ACCOUNTS))
    return writer


@pytest.mark.parametrize("commit_process", [True, False], ids=["pipe", "threads"])
def test_each_result_is_durable_when_it_arrives_and_reads_come_in_order(
    tmp_path: Path, commit_process: bool
) -> None:
    url = str(tmp_path / "ledger.db")

    async def scenario() -> None:
        writer = await started(url, commit_process=commit_process)
        assert (writer._pipe is not None) == commit_process
        fund = writer.submit_async([Transfer(1, TRUST, ALICE, 1_000, 1)])
        pays = [writer.submit_async([Transfer(10 + n, ALICE, BOB, 10, 1)]) for n in range(50)]
        # A read queued after the writes sees all of them.
        read = asyncio.wrap_future(writer.balances([ALICE, BOB]))
        assert await fund == [R.OK]
        for n, pay in enumerate(pays):
            assert await pay == [R.OK]
            assert 10 + n in stored_ids(url)  # acknowledged: another connection sees it
        assert credit_balances(await read) == [500, 500]
        # A thread's submission (a concurrent future) is decided on the loop too.
        late = await asyncio.to_thread(
            lambda: writer.submit([Transfer(99, ALICE, BOB, 1, 1)]).result(timeout=10)
        )
        assert late == [R.OK]
        await asyncio.to_thread(writer.stop)

    asyncio.run(scenario())
    assert stored_ids(url) == [1, *range(10, 60), 99]


def test_a_failed_batch_fails_alone_and_the_batch_behind_it_in_the_pipe_goes_again(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "ledger.db")

    async def scenario() -> None:
        writer = await started(url)
        await writer.submit_async([Transfer(1, TRUST, ALICE, 100, 1)], attach=[receipt(1, 1)])
        # Receipt 1 exists: this batch will roll back...
        doomed = writer.submit_async([Transfer(2, ALICE, BOB, 10, 1)], attach=[receipt(1, 2)])
        await asyncio.sleep(0)  # ...once decided and sent on its own;
        assert writer._sent == 1
        # this one, valid on its own, is decided on the memory that included batch 2:
        # the commit process refuses it, and the writer decides it again.
        behind = writer.submit_async([Transfer(3, ALICE, BOB, 10, 1)], attach=[receipt(3, 3)])
        await asyncio.sleep(0)
        with pytest.raises(WriterError, match="could not store"):
            await doomed
        assert await behind == [R.OK]
        assert await writer.submit_async([Transfer(4, ALICE, BOB, 1, 1)]) == [R.OK]
        assert credit_balances(await asyncio.wrap_future(writer.balances([ALICE, BOB]))) == [89, 11]
        await asyncio.to_thread(writer.stop)

    asyncio.run(scenario())
    assert stored_ids(url) == [1, 3, 4]
    with open_store(url) as reader:
        assert reader.query("SELECT id FROM receipts ORDER BY id") == [(1,), (3,)]


def test_a_killed_commit_process_is_replaced_at_once_and_stop_returns(tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")

    async def scenario() -> None:
        writer = await started(url)
        assert await writer.submit_async([Transfer(1, TRUST, ALICE, 100, 1)]) == [R.OK]
        store = writer.store
        assert isinstance(store, SqliteStore) and store._child is not None
        killed = store._child._process
        os.kill(killed.pid, signal.SIGKILL)
        # Its pipe's end is readable: the writer notices with nothing to commit.
        for _ in range(200):
            if writer.health()["recoveries"] == 1 and store._child._process is not killed:
                break
            await asyncio.sleep(0.01)
        assert writer.health() | {"batches": 0} == {
            "state": "ok",
            "batches": 0,
            "recoveries": 1,
            "last_failure": writer.last_failure,
            "commit_process": "alive",
        }
        assert "commit process stopped" in writer.last_failure
        assert await asyncio.wait_for(writer.submit_async([Transfer(2, ALICE, BOB, 1, 1)]), 10) == [
            R.OK
        ]
        await asyncio.wait_for(asyncio.to_thread(writer.stop), 10)
        assert writer.health()["state"] == "stopped"

    asyncio.run(scenario())
    assert stored_ids(url) == [1, 2]


def test_stop_on_the_loops_own_thread_finishes_what_is_queued(tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")

    async def scenario() -> list[asyncio.Future[list[TransferResult]]]:
        writer = await started(url)
        await writer.submit_async([Transfer(1, TRUST, ALICE, 100, 1)])
        queued = [writer.submit_async([Transfer(10 + n, ALICE, BOB, 1, 1)]) for n in range(5)]
        writer.stop()  # blocking, on the loop: no loop turn happens until it returns
        assert all(future.done() for future in queued)
        with pytest.raises(WriterError, match="not running"):
            writer.submit_async([Transfer(20, ALICE, BOB, 1, 1)])
        return queued

    queued = asyncio.run(scenario())
    assert [future.result() for future in queued] == [[R.OK]] * 5
    assert stored_ids(url) == [1, 10, 11, 12, 13, 14]

    async def restarted() -> list[Balance | None]:
        writer = await started(url)
        try:
            return await asyncio.wrap_future(writer.balances([ALICE, BOB]))
        finally:
            await asyncio.to_thread(writer.stop)

    assert credit_balances(asyncio.run(restarted())) == [95, 5]


def test_a_batch_far_bigger_than_the_pipe_commits_whole(tmp_path: Path) -> None:
    """uvloop's reader makes its descriptor non-blocking; a big batch must still go whole."""
    url = str(tmp_path / "ledger.db")
    many = [
        Account(1_000 + n, 1, "KES", AccountKind.EMONEY, WALLET, user_data=n) for n in range(8_000)
    ]

    async def scenario() -> None:
        writer = await started(url)
        results = await asyncio.wrap_future(writer.create_accounts(many))
        assert all(result.ok for result in results)
        funded = [Transfer(100_000 + n, TRUST, 1_000 + n, 1, 1) for n in range(8_000)]
        assert await writer.submit_async(funded) == [R.OK] * 8_000
        await asyncio.to_thread(writer.stop)

    uvloop.run(scenario())  # what mkoba serve runs on
    with open_store(url) as reader:
        assert reader.query("SELECT COUNT(*) FROM ledger_accounts") == [(8_000 + len(ACCOUNTS),)]
        assert reader.query("SELECT COUNT(*) FROM ledger_transfers") == [(8_000,)]
