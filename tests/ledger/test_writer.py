"""The ledger writer on each store: restarts, its own expiry timer, and bad input.

A restarted writer must rebuild exactly the state the old one acknowledged, and
no input, however malformed, may stop the single writer or poison the store it
restarts from.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from mkoba.ledger import (
    Account,
    AccountFlags,
    AccountKind,
    AccountResult,
    Balance,
    LedgerWriter,
    Transfer,
    TransferFlags,
    TransferResult,
    Write,
    WriterError,
    open_store,
)
from mkoba.ledger.reconcile import reconcile
from mkoba.ledger.records import PendingStatus
from tests.ledger.helpers import NS_PER_S, WALLET, credit_balances, state_of

R = TransferResult
LINKED = TransferFlags.LINKED
PENDING = TransferFlags.PENDING
POST = TransferFlags.POST_PENDING
VOID = TransferFlags.VOID_PENDING
TRUST, ALICE, BOB, FEES, SHOP = 1, 2, 3, 4, 5
ACCOUNTS = [
    Account(TRUST, 1, "KES", AccountKind.TRUST),
    Account(ALICE, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(BOB, 1, "KES", AccountKind.EMONEY, WALLET, overdraft_limit=100),
    Account(FEES, 1, "KES", AccountKind.EMONEY),
    Account(SHOP, 1, "KES", AccountKind.EMONEY, WALLET, balance_max=5_000),
]


class FakeClock:
    """Nanoseconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_700_000_000 * NS_PER_S

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * NS_PER_S)


def state(writer: LedgerWriter) -> Any:
    """The engine's whole decidable state, read on the writer thread in order."""
    return writer.read(state_of).result()


def test_a_restarted_writer_rebuilds_exactly_the_same_state(store_url: str) -> None:
    clock = FakeClock()
    with LedgerWriter(open_store(store_url), clock=clock) as writer:
        assert writer.create_accounts(ACCOUNTS).result() == [AccountResult.OK] * 5
        steps: list[tuple[list[Transfer], list[TransferResult]]] = [
            (
                [Transfer(10, TRUST, ALICE, 10_000, 1), Transfer(11, TRUST, BOB, 1_000, 1)],
                [R.OK] * 2,
            ),
            # A failing chain: nothing stays but member 13's pinned failure.
            (
                [Transfer(12, ALICE, BOB, 1, 1, flags=LINKED), Transfer(13, BOB, SHOP, 9_000, 1)],
                [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS],
            ),
            ([Transfer(14, ALICE, SHOP, 4_000, 1)], [R.OK]),
            ([Transfer(15, ALICE, SHOP, 1_001, 1)], [R.EXCEEDS_BALANCE_MAX]),
            ([Transfer(16, BOB, FEES, 1_100, 1)], [R.OK]),  # into the overdraft
            # Pendings: one posted in part, one voided, one to expire, one that never expires.
            ([Transfer(20, ALICE, BOB, 500, 1, flags=PENDING, timeout_s=60)], [R.OK]),
            ([Transfer(21, ALICE, BOB, 400, 1, flags=PENDING, timeout_s=60)], [R.OK]),
            ([Transfer(22, ALICE, BOB, 300, 1, flags=PENDING, timeout_s=5)], [R.OK]),
            ([Transfer(23, ALICE, FEES, 200, 1, flags=PENDING)], [R.OK]),
            ([Transfer(24, 0, 0, 350, 0, flags=POST, pending_id=20)], [R.OK]),
            ([Transfer(25, 0, 0, 0, 0, flags=VOID, pending_id=21)], [R.OK]),
        ]
        for transfers, expected in steps:
            clock.advance(0.001)
            assert writer.submit(transfers).result() == expected
        assert writer.set_closed(FEES, True).result() == AccountResult.OK
        clock.advance(5)
        assert writer.sweep().result() == 1
        late = Transfer(26, 0, 0, 0, 0, flags=POST, pending_id=22)
        assert writer.submit([late]).result() == [R.PENDING_TRANSFER_EXPIRED]
        before = state(writer)
        assert before[3] == {
            20: PendingStatus.POSTED,
            21: PendingStatus.VOIDED,
            22: PendingStatus.EXPIRED,
            23: PendingStatus.PENDING,
        }

    with LedgerWriter(open_store(store_url), clock=clock) as writer:
        assert state(writer) == before
        # Ids, pins and pending statuses answer exactly as before the restart.
        replays = [
            ([Transfer(14, ALICE, SHOP, 4_000, 1)], [R.EXISTS]),
            ([Transfer(14, ALICE, SHOP, 4_001, 1)], [R.EXISTS_WITH_DIFFERENT_FIELDS]),
            ([Transfer(15, ALICE, SHOP, 1_001, 1)], [R.EXCEEDS_BALANCE_MAX]),
            ([Transfer(15, ALICE, SHOP, 1, 1)], [R.ID_ALREADY_FAILED]),
            ([Transfer(24, ALICE, BOB, 350, 1, flags=POST, pending_id=20)], [R.EXISTS]),
            ([late], [R.PENDING_TRANSFER_EXPIRED]),
            (
                [Transfer(27, 0, 0, 0, 0, flags=POST, pending_id=21)],
                [R.PENDING_TRANSFER_ALREADY_VOIDED],
            ),
            (
                [Transfer(28, 0, 0, 0, 0, flags=POST, pending_id=20)],
                [R.PENDING_TRANSFER_ALREADY_POSTED],
            ),
            ([Transfer(29, ALICE, FEES, 1, 1)], [R.CREDIT_ACCOUNT_CLOSED]),
            ([Transfer(30, 0, 0, 0, 0, flags=POST, pending_id=23)], [R.OK]),  # closed: still posts
            # Member 12 was never decided, so it is free; 13 stays failed.
            ([Transfer(12, ALICE, BOB, 1, 1)], [R.OK]),
        ]
        for transfers, expected in replays:
            assert writer.submit(transfers).result() == expected, transfers
        balances = writer.balances([ALICE, BOB, FEES, SHOP]).result()
    assert balances == [
        Balance(0, 4_000 + 350 + 200 + 1, 0, 10_000),
        Balance(0, 1_100, 0, 1_000 + 350 + 1),
        Balance(0, 0, 0, 1_100 + 200),
        Balance(0, 0, 0, 4_000),
    ]
    with open_store(store_url) as store:
        assert reconcile(store).ok


def test_the_writer_expires_pendings_on_its_own(store_url: str) -> None:
    clock = FakeClock()
    with LedgerWriter(open_store(store_url), clock=clock) as writer:
        writer.create_accounts(ACCOUNTS).result()
        writer.submit([Transfer(10, TRUST, ALICE, 1_000, 1)]).result()
        reserve = Transfer(11, ALICE, BOB, 600, 1, flags=PENDING, timeout_s=1)
        assert writer.submit([reserve]).result() == [R.OK]
        # Records are stamped with strictly increasing ns, so the deadline is a few ns past
        # clock + 1 s: move beyond it.
        clock.advance(1.001)
        # No command is sent: the writer's own timer must notice the deadline.
        deadline = time.monotonic() + 10
        expiries: list[tuple[Any, ...]] = []
        while not expiries and time.monotonic() < deadline:
            time.sleep(0.05)
            with open_store(store_url) as reader:
                expiries = reader.query(
                    "SELECT id, pending_id, amount, flags FROM ledger_transfers WHERE flags = ?",
                    (int(TransferFlags.EXPIRY),),
                )
        assert expiries == [(None, 11, 600, int(TransferFlags.EXPIRY))]
        assert writer.balances([ALICE]).result() == [Balance(0, 0, 0, 1_000)]
        assert writer.submit([Transfer(12, 0, 0, 0, 0, flags=POST, pending_id=11)]).result() == [
            R.PENDING_TRANSFER_EXPIRED
        ]


MALFORMED_TRANSFERS: list[Any] = [
    Transfer(50, 2.0, BOB, 10, 1),
    Transfer(50, ALICE, 3.0, 10, 1),
    Transfer(50, [ALICE], BOB, 10, 1),
    Transfer(50, ALICE, BOB, 10, True),
    Transfer(50, ALICE, BOB, 10, 1, code=True),
    Transfer(50, ALICE, BOB, 10, 1, user_data=True),
    Transfer(50, ALICE, BOB, 10, 1, pending_id=False),
    Transfer(50, ALICE, BOB, 10, 1, pending_id=0.0),
    Transfer(50, ALICE, BOB, 10, 1, timeout_s=False),
    Transfer(50, ALICE, BOB, 10, 1, flags=-2),
    Transfer(50, ALICE, BOB, 10, 1, flags=64),
    Transfer(50, ALICE, BOB, 10, 1, flags=2**40),
    Transfer(50, 0.0, 0, 0, 0, flags=POST, pending_id=999),
    Transfer(50, 0, 0, 0, 0, flags=POST, pending_id=999, timeout_s=0.0),
    Transfer(50, 0, 0, 0, 0, flags=POST, pending_id=999, user_data=True),
]
MALFORMED_ACCOUNTS: list[Any] = [
    Account(60, 1, ["KES"]),
    Account(60, True, "KES"),
    Account(60, 1, "KES", code=True),
    Account(60, 1, "KES", user_data=True),
    Account(60, 1, "KES", flags=2**40),
]


def test_malformed_input_is_refused_and_never_stops_the_writer(store_url: str) -> None:
    with LedgerWriter(open_store(store_url)) as writer:
        writer.create_accounts(ACCOUNTS).result()
        writer.submit([Transfer(10, TRUST, ALICE, 1_000, 1)]).result()
        for transfer in MALFORMED_TRANSFERS:
            [result] = writer.submit([transfer]).result()
            assert not result.ok, transfer
            assert not result.pinned, (transfer, result)
        for account in MALFORMED_ACCOUNTS:
            [account_result] = writer.create_accounts([account]).result()
            assert not account_result.ok, account
        # Still running, and id 50 was never spent on any of that.
        assert writer.submit([Transfer(50, ALICE, BOB, 10, 1)]).result() == [R.OK]

    with LedgerWriter(open_store(store_url)) as writer:
        assert writer.balances([ALICE, BOB]).result() == [
            Balance(0, 10, 0, 1_000),
            Balance(0, 0, 0, 10),
        ]
        assert writer.balances([60]).result() == [None]
    with open_store(store_url) as store:
        assert reconcile(store).ok


def test_a_store_failure_fails_the_command_and_stop_returns_promptly(store_url: str) -> None:
    writer = LedgerWriter(open_store(store_url)).start()
    writer.create_accounts(ACCOUNTS).result()
    broken = Write("no_such_table", ("id",), (1,))
    future = writer.submit([Transfer(10, TRUST, ALICE, 100, 1)], attach=[broken])
    with pytest.raises(WriterError):
        future.result()
    # Only that command: the writer goes on, and transfer 10 never happened.
    assert writer.submit([Transfer(11, TRUST, ALICE, 100, 1)]).result() == [R.OK]
    started = time.monotonic()
    writer.stop()
    assert time.monotonic() - started < 2  # not the 30 s checkpoint interval
    with LedgerWriter(open_store(store_url)) as writer:
        assert writer.balances([ALICE]).result() == [Balance(0, 0, 0, 100)]
        assert writer.submit([Transfer(10, TRUST, ALICE, 100, 1)]).result() == [R.OK]


def test_a_stopped_writer_takes_no_commands(store_url: str) -> None:
    writer = LedgerWriter(open_store(store_url)).start()
    writer.create_accounts(ACCOUNTS[:2]).result()
    writer.stop()
    writer.stop()  # twice is fine
    with pytest.raises(WriterError, match="not running"):
        writer.submit([Transfer(10, TRUST, ALICE, 100, 1)])


def test_closing_an_account_survives_a_restart(store_url: str) -> None:
    with LedgerWriter(open_store(store_url)) as writer:
        writer.create_accounts(ACCOUNTS).result()
        assert writer.set_closed(BOB, True).result() == AccountResult.OK
    with LedgerWriter(open_store(store_url)) as writer:
        assert writer.set_closed(BOB, True).result() == AccountResult.ALREADY_CLOSED
        flags = writer.read(lambda engine: engine.accounts[BOB].flags).result()
        assert flags & AccountFlags.CLOSED
        assert writer.create_accounts([ACCOUNTS[2]]).result() == [AccountResult.EXISTS]
        assert writer.submit([Transfer(10, TRUST, BOB, 1, 1)]).result() == [R.CREDIT_ACCOUNT_CLOSED]
        assert writer.set_closed(BOB, False).result() == AccountResult.OK
        assert writer.submit([Transfer(11, TRUST, BOB, 1, 1)]).result() == [R.OK]


def test_nothing_is_acknowledged_before_its_commit_returns(store_url: str) -> None:
    store = open_store(store_url)
    gate = threading.Event()
    gate.set()
    commit = store.commit

    def held_commit(batch: Any) -> None:
        assert gate.wait(10)
        commit(batch)

    store.commit = held_commit  # type: ignore[method-assign]
    with LedgerWriter(store) as writer:
        writer.create_accounts(ACCOUNTS).result()
        gate.clear()
        transfer = writer.submit([Transfer(10, TRUST, ALICE, 100, 1)])
        read = writer.balances([ALICE])
        time.sleep(0.2)
        # Decided, but not durable: neither the transfer nor a read that saw it may resolve.
        assert not transfer.done()
        assert not read.done()
        with open_store(store_url) as reader:
            assert reader.query("SELECT COUNT(*) FROM ledger_transfers") == [(0,)]
        gate.set()
        assert transfer.result(timeout=10) == [R.OK]
        assert read.result(timeout=10) == [Balance(0, 0, 0, 100)]
        with open_store(store_url) as reader:
            assert reader.query("SELECT id FROM ledger_transfers") == [(10,)]


def test_a_second_writer_on_the_same_store_is_refused(store_url: str) -> None:
    """Two writers on one ledger would each trust their own memory: the lease stops the second."""
    from mkoba.ledger import LedgerWriter, StoreError, open_store

    with (
        LedgerWriter(open_store(store_url)),
        pytest.raises(StoreError, match="another ledger writer"),
    ):
        LedgerWriter(open_store(store_url)).start()
    # Released with the first writer: a new one starts.
    with LedgerWriter(open_store(store_url)) as writer:
        assert writer.balances([]).result() == []


def test_awaited_submissions_resolve_on_their_loop_and_fail_like_the_others(
    store_url: str,
) -> None:
    """submit_async: results on the caller's loop, a cancelled waiter's transfer still
    happens, and a store failure reaches every waiter as WriterError."""

    async def scenario(writer: LedgerWriter) -> None:
        issued = [writer.submit_async([Transfer(100 + i, TRUST, ALICE, 10, 1)]) for i in range(50)]
        assert await asyncio.gather(*issued) == [[R.OK]] * 50
        # A waiter that gives up: its command is already queued and still commits.
        abandoned = asyncio.ensure_future(writer.submit_async([Transfer(200, TRUST, BOB, 7, 1)]))
        abandoned.cancel()
        later = await writer.submit_async([Transfer(201, ALICE, BOB, 1, 1)])
        assert later == [R.OK]
        assert abandoned.cancelled()
        broken = Write("no_such_table", ("id",), (1,))
        doomed = writer.submit_async([Transfer(202, TRUST, ALICE, 1, 1)], attach=[broken])
        with pytest.raises(WriterError):
            await doomed

    writer = LedgerWriter(open_store(store_url)).start()
    writer.create_accounts(ACCOUNTS).result()
    try:
        asyncio.run(scenario(writer))
    finally:
        writer.stop()
    with LedgerWriter(open_store(store_url)) as writer:
        assert credit_balances(writer.balances([ALICE, BOB]).result()) == [499, 8]
