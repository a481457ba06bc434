"""The ledger through a real writer and store, step by step against a model (T3).

A Hypothesis state machine opens accounts, moves money (plain, linked, pending),
posts and voids in full and in part, lets pending transfers expire on a fake
clock, replays ids with the same and with changed payloads, closes accounts and
restarts the writer. It also sends batches in which some commands carry rows no
store can hold (a lone surrogate, an int beyond 64 bits, a duplicate key, a NUL on
PostgreSQL) and kills the SQLite commit process: those commands alone must fail,
the others must get exactly the model's results, as if the failed ones had never
been sent. After every step the writer must agree with the model
(ledger_model.py) on every result code, every balance, every id, every pinned
failure and every pending status, and the ledger's invariants must hold. At the
end the store must reconcile and hold exactly the rows (and notes) the model expects.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mkoba.ledger import (
    Account,
    AccountKind,
    AccountResult,
    LedgerWriter,
    Transfer,
    TransferResult,
    Write,
    WriterError,
    invariants,
    open_store,
    reversal_of,
)
from mkoba.ledger.engine import Engine
from mkoba.ledger.reconcile import reconcile
from tests.ledger.helpers import MIRROR, WALLET, WriterHarness, fresh_store_url
from tests.ledger.ledger_model import LINKED, NS_PER_S, PENDING, POST, VOID, ModelLedger

R = TransferResult
MS = 1_000_000
UNKNOWN_ACCOUNT = 99
UNKNOWN_TRANSFER = 9_999_999
TRUST = 1
# Account shapes the machine opens: wallets, an overdraft, a cap, a fee pool, a mirror.
SHAPES = [
    {"flags": WALLET, "balance_max": 400},
    {"flags": MIRROR, "overdraft_limit": 100},
    {"flags": WALLET, "overdraft_limit": 50},
    {"flags": WALLET},
    {},
]
# Amounts a funded wallet can mostly pay; the misfire rule sends the malformed ones.
AMOUNTS = st.integers(1, 300)
PICKS = st.integers(0, 60)
OFFSETS = st.integers(0, 60)
MISFIRES = ["zero", "same account", "unknown debit", "unknown credit", "too much"]
TIMEOUTS = st.sampled_from([1, 2, 5, 0])
# A channel's rows beside the money, for commands that carry some.
NOTES = "CREATE TABLE notes (ref TEXT PRIMARY KEY, transfer_id BIGINT NOT NULL, text TEXT);\n"
# Rows no store can hold; "nul" only on PostgreSQL (SQLite stores a NUL in text).
UNSTORABLE = ["surrogate", "overflow", "duplicate"]


class FakeClock:
    """Nanoseconds that move only when the machine says so."""

    def __init__(self) -> None:
        self.now = 1_700_000_000 * NS_PER_S

    def __call__(self) -> int:
        return self.now


def engine_view(engine: Engine) -> dict[str, Any]:
    """What the machine compares with the model, read on the writer thread."""
    return {
        "balances": {id: state.balance() for id, state in engine.accounts.items()},
        "ids": set(engine.transfer_ids),
        "failed": {id: result for id, (result, _) in engine.failed_ids.items()},
        "pendings": {id: pending.status for id, pending in engine.pendings.items()},
        "violations": invariants.violations(engine.accounts.values()),
    }


class LedgerMachine(RuleBasedStateMachine):
    """One store, one writer at a time, one model."""

    kind = "sqlite"
    # The writer: "process" (threads, SQLite's commit process), "loop" (on an event
    # loop, through the commit process) or "postgresql".
    mode = "process"

    def __init__(self) -> None:
        super().__init__()
        self.exits = contextlib.ExitStack()
        self.url = self.exits.enter_context(fresh_store_url(self.kind))
        self.harness = WriterHarness(self.mode, self.url)
        self.exits.callback(self.harness.close)
        self.clock = FakeClock()
        self.model = ModelLedger()
        self.writer: LedgerWriter | None = None
        # Refs of the notes committed, and the next one to use.
        self.notes: set[str] = set()
        self.next_note = 0
        self.next_id = 100
        self.history: list[list[Transfer]] = []
        # Plain transfers that went through, by id: what a reversal can undo.
        self.applied: dict[int, Transfer] = {}

    # -- helpers ----------------------------------------------------------------------

    @property
    def running(self) -> LedgerWriter:
        assert self.writer is not None
        return self.writer

    def account_ids(self) -> list[int]:
        return sorted(self.model.books.accounts)

    def pick_pair(self, pick: int, offset: int) -> tuple[int, int]:
        """Two different known accounts (open or closed)."""
        ids = self.account_ids()
        debit = ids[pick % len(ids)]
        credit = ids[(pick + 1 + offset % (len(ids) - 1)) % len(ids)]
        return debit, credit

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def submit(self, transfers: list[Transfer]) -> None:
        self.clock.now += MS
        expected = self.model.submit(transfers, self.clock.now)
        actual = self.running.submit(transfers).result()
        assert actual == expected, transfers
        self.history.append(transfers)
        for transfer, result in zip(transfers, actual, strict=True):
            if result == R.OK and not transfer.flags & (PENDING | POST | VOID):
                self.applied[transfer.id] = transfer

    def make(self, pick: int, offset: int, amount: int, timeout_s: int | None) -> Transfer:
        """A plain transfer (``timeout_s`` None) or a pending one (0: it never expires)."""
        debit, credit = self.pick_pair(pick, offset)
        if timeout_s is None:
            return Transfer(self.new_id(), debit, credit, amount, 1, code=pick % 4)
        flags = PENDING
        return Transfer(self.new_id(), debit, credit, amount, 1, flags=flags, timeout_s=timeout_s)

    def start_writer(self) -> None:
        self.writer = self.harness.start(clock=self.clock)
        self.writer.store.migrate_script("test_notes", NOTES)

    # -- rules ------------------------------------------------------------------------

    @initialize()
    def open_the_books(self) -> None:
        self.start_writer()
        trust = Account(TRUST, 1, "KES", AccountKind.TRUST, MIRROR)
        wallets = [Account(id, 1, "KES", AccountKind.EMONEY, WALLET) for id in (2, 3)]
        assert self.running.create_accounts([trust, *wallets]).result() == [AccountResult.OK] * 3
        for account in (trust, *wallets):
            self.model.create_account(account)
        self.submit([Transfer(self.new_id(), TRUST, id, 1_000, 1) for id in (2, 3)])

    @precondition(lambda self: len(self.model.books.accounts) < 9)
    @rule(shape=st.sampled_from(SHAPES))
    def open_account(self, shape: dict[str, Any]) -> None:
        account = Account(max(self.account_ids()) + 1, 1, "KES", AccountKind.EMONEY, **shape)
        assert self.running.create_accounts([account]).result() == [AccountResult.OK]
        self.model.create_account(account)
        if account.flags != MIRROR:
            self.submit([Transfer(self.new_id(), TRUST, account.id, 300, 1)])

    @rule(index=st.integers(0, 20), other_currency=st.booleans())
    def create_an_account_again(self, index: int, other_currency: bool) -> None:
        account = self.model.books.accounts[self.account_ids()[index % 3]].account
        if other_currency:
            expected = AccountResult.EXISTS_WITH_DIFFERENT_FIELDS
            account = account._replace(currency="USD")
        else:
            expected = AccountResult.EXISTS
        assert self.running.create_accounts([account]).result() == [expected]

    @rule(pick=PICKS, offset=OFFSETS, amount=AMOUNTS)
    def transfer(self, pick: int, offset: int, amount: int) -> None:
        """A plain transfer between two known accounts."""
        self.submit([self.make(pick, offset, amount, None)])

    @rule(pick=PICKS, offset=OFFSETS, amount=AMOUNTS, timeout_s=TIMEOUTS)
    def reserve(self, pick: int, offset: int, amount: int, timeout_s: int) -> None:
        """A pending transfer: it reserves the amount until posted, voided or expired."""
        self.submit([self.make(pick, offset, amount, timeout_s)])

    @rule(pick=PICKS, offset=OFFSETS, misfire=st.sampled_from(MISFIRES))
    def misfire(self, pick: int, offset: int, misfire: str) -> None:
        """A transfer that must fail: malformed, unknown accounts, or far too much."""
        transfer = self.make(pick, offset, 1, None)
        if misfire == "zero":
            transfer = transfer._replace(amount=0)
        elif misfire == "same account":
            transfer = transfer._replace(credit_account_id=transfer.debit_account_id)
        elif misfire == "unknown debit":
            transfer = transfer._replace(debit_account_id=UNKNOWN_ACCOUNT)
        elif misfire == "unknown credit":
            transfer = transfer._replace(credit_account_id=UNKNOWN_ACCOUNT)
        else:
            transfer = transfer._replace(amount=1_000_000)
        self.submit([transfer])

    @rule(
        legs=st.lists(
            st.tuples(PICKS, OFFSETS, AMOUNTS, st.sampled_from([None, None, 0, 2])),
            min_size=2,
            max_size=3,
        ),
        breaker=st.sampled_from([None, None, *MISFIRES, "left open"]),
        then_plain=st.booleans(),
        settle=st.sampled_from([None, "post", "void", "part"]),
        choice=st.integers(0, 1_000),
    )
    def linked_chain(
        self,
        legs: list[tuple[int, int, int, int | None]],
        breaker: str | None,
        then_plain: bool,
        settle: str | None,
        choice: int,
    ) -> None:
        """Linked transfers, all or nothing; ``breaker`` spoils the last one on purpose.

        ``settle`` starts the chain with a post or void of a pending transfer, so that
        a failed chain must also take back a resolution.
        """
        chain = [self.make(pick, offset, amount, timeout) for pick, offset, amount, timeout in legs]
        pendings = sorted(self.model.books.pendings)
        if settle is not None and pendings:
            chain.insert(0, self.settlement(pendings[choice % len(pendings)], settle))
        last = chain[-1]
        if breaker == "zero":
            last = last._replace(amount=0)
        elif breaker == "same account":
            last = last._replace(credit_account_id=last.debit_account_id)
        elif breaker in ("unknown debit", "unknown credit"):
            last = last._replace(debit_account_id=UNKNOWN_ACCOUNT)
        elif breaker == "too much":
            last = last._replace(amount=1_000_000)
        elif breaker == "left open":
            last = last._replace(flags=last.flags | LINKED)
        chain = [t._replace(flags=t.flags | LINKED) for t in chain[:-1]] + [last]
        if then_plain:
            chain.append(Transfer(self.new_id(), TRUST, 2, 1, 1))
        self.submit(chain)

    @precondition(lambda self: self.model.books.pendings)
    @rule(
        choice=st.integers(0, 1_000),
        post=st.booleans(),
        amount=st.sampled_from(["zero", "part", "full", "over"]),
        explicit=st.sampled_from(["zeros", "same", "swapped"]),
    )
    def resolve(self, choice: int, post: bool, amount: str, explicit: str) -> None:
        """Post or void a pending transfer, in full or in part, or get it wrong."""
        pendings = sorted(self.model.books.pendings)
        pending_id = pendings[choice % len(pendings)]
        pending = self.model.books.pendings[pending_id]
        value = {
            "zero": 0,
            "part": max(1, pending.amount // 3),
            "full": pending.amount,
            "over": pending.amount + 1,
        }[amount]
        debit = credit = ledger = 0
        if explicit != "zeros":
            debit, credit, ledger = pending.debit, pending.credit, 1
            if explicit == "swapped":
                debit, credit = credit, debit
        flags = POST if post else VOID
        resolution = Transfer(
            self.new_id(), debit, credit, value, ledger, flags=flags, pending_id=pending_id
        )
        self.submit([resolution])

    @rule(
        pick=PICKS,
        offset=OFFSETS,
        amount=AMOUNTS,
        timeout_s=TIMEOUTS,
        settle=st.sampled_from(["part", "post", "void"]),
    )
    def reserve_and_settle(
        self, pick: int, offset: int, amount: int, timeout_s: int, settle: str
    ) -> None:
        """Reserve, then post (in full or in part) or void in the next batch."""
        reservation = self.make(pick, offset, amount, timeout_s)
        self.submit([reservation])
        self.submit([self.settlement(reservation.id, settle)])

    def settlement(self, pending_id: int, settle: str) -> Transfer:
        """A post in full ("post"), a post of a third ("part"), or a void of ``pending_id``."""
        pending = self.model.books.pendings.get(pending_id)
        amount = max(1, pending.amount // 3) if settle == "part" and pending else 0
        flags = VOID if settle == "void" else POST
        return Transfer(self.new_id(), 0, 0, amount, 0, flags=flags, pending_id=pending_id)

    @rule(choice=st.integers(0, 1_000), unknown=st.booleans(), post=st.booleans())
    def resolve_what_is_not_pending(self, choice: int, unknown: bool, post: bool) -> None:
        """Post or void an id that is a plain transfer, or no transfer at all."""
        plains = sorted(set(self.model.books.ids) - set(self.model.books.pendings))
        pending_id = UNKNOWN_TRANSFER if unknown or not plains else plains[choice % len(plains)]
        flags = POST if post else VOID
        self.submit([Transfer(self.new_id(), 0, 0, 0, 0, flags=flags, pending_id=pending_id)])

    @precondition(lambda self: self.applied)
    @rule(choice=st.integers(0, 1_000), part=st.booleans())
    def reverse(self, choice: int, part: bool) -> None:
        """Money goes back as a new transfer linked by user_data (refused if already spent)."""
        original = self.applied[sorted(self.applied)[choice % len(self.applied)]]
        amount = max(1, original.amount // 2) if part else 0
        reversal = reversal_of(original, self.new_id(), amount)
        assert reversal.user_data == original.id
        self.submit([reversal])

    @rule(seconds=st.sampled_from([1, 2, 3, 6]))
    def time_passes(self, seconds: int) -> None:
        """The clock jumps; the writer expires what fell due (on its own or on sweep())."""
        self.clock.now += seconds * NS_PER_S + MS
        self.model.expire(self.clock.now)
        expired = self.running.sweep().result()
        assert expired >= 0

    @precondition(lambda self: self.history)
    @rule(choice=st.integers(0, 1_000))
    def replay_the_same_batch(self, choice: int) -> None:
        """A client retries a whole batch it sent before, exactly as it was."""
        self.submit(list(self.history[choice % len(self.history)]))

    @precondition(lambda self: self.history)
    @rule(
        choice=st.integers(0, 1_000),
        change=st.sampled_from(["amount", "user_data", "credit", "unlinked"]),
    )
    def replay_a_changed_payload(self, choice: int, change: str) -> None:
        """One transfer sent before, resent alone under its id with something changed."""
        sent = [transfer for batch in self.history for transfer in batch]
        original = sent[choice % len(sent)]
        changed = original._replace(flags=original.flags & ~LINKED)
        if change == "amount":
            changed = changed._replace(amount=original.amount + 1)
        elif change == "user_data":
            changed = changed._replace(user_data=original.user_data + 1)
        elif change == "credit" and not original.flags & (POST | VOID):
            changed = changed._replace(credit_account_id=original.debit_account_id + 1)
        self.submit([changed])

    @rule(index=st.integers(1, 9))
    def close_or_reopen(self, index: int) -> None:
        account_id = self.account_ids()[index % len(self.account_ids())]
        model = self.model.books.accounts[account_id]
        model.closed = not model.closed
        result = self.running.set_closed(account_id, model.closed).result()
        assert result == AccountResult.OK
        # Asking again for the state it is in is refused.
        again = self.running.set_closed(account_id, model.closed).result()
        closed = AccountResult.ALREADY_CLOSED
        assert again == (closed if model.closed else AccountResult.NOT_CLOSED)

    @rule(
        commands=st.lists(
            st.tuples(PICKS, OFFSETS, AMOUNTS, st.sampled_from([None, None, *UNSTORABLE, "nul"])),
            min_size=2,
            max_size=6,
        )
    )
    def batch_with_unstorable_rows(self, commands: list[tuple[int, int, int, str | None]]) -> None:
        """One batch of payments with a note each, some notes unstorable.

        The unstorable ones fail alone; the rest get the model's results, in order, as
        if the failed ones had never been sent (a duplicate may also be of a note
        earlier in the same batch).
        """
        self.clock.now += MS
        sent: list[tuple[Transfer, Write, bool]] = []
        for pick, offset, amount, bad in commands:
            transfer = self.make(pick, offset, amount, None)
            self.next_note += 1
            ref = f"note-{self.next_note}"
            if bad == "duplicate":  # of a committed note, or of one earlier in this batch
                taken = [*sorted(self.notes), *(row.values[0] for _, row, _ in sent)]
                ref = str(taken[pick % len(taken)]) if taken else ref
            text: object = "x"
            transfer_id: object = transfer.id
            if bad == "surrogate":
                text = "A\ud800"
            elif bad == "overflow":
                transfer_id = 2**70
            elif bad == "nul" and self.kind == "postgresql":
                text = "a\x00b"
            unstorable = bad in ("surrogate", "overflow") or (
                bad == "nul" and self.kind == "postgresql"
            )
            sent.append(
                (
                    transfer,
                    Write("notes", ("ref", "transfer_id", "text"), (ref, transfer_id, text)),
                    unstorable,
                )
            )
        with self.harness.one_batch(self.running):
            futures = [self.running.submit([transfer], attach=[row]) for transfer, row, _ in sent]
        for (transfer, row, unstorable), future in zip(sent, futures, strict=True):
            ref = str(row.values[0])
            if unstorable or ref in self.notes:
                with pytest.raises(WriterError, match="could not store"):
                    future.result(30)
                continue
            expected = self.model.submit([transfer], self.clock.now)
            assert future.result(30) == expected, transfer
            self.notes.add(ref)
            self.history.append([transfer])
            if expected == [R.OK]:
                self.applied[transfer.id] = transfer

    @precondition(lambda self: self.kind == "sqlite")
    @rule()
    def kill_the_commit_process(self) -> None:
        """SIGKILL SQLite's commit process: a new one takes over, nothing is lost."""
        child = self.running.store._child  # type: ignore[attr-defined]
        if child is None or not child.alive():  # killed before, not yet replaced
            return
        os.kill(child._process.pid, signal.SIGKILL)
        child._process.wait()
        # A client goes on: the next commit (a checkpoint) goes to a new commit process.
        assert self.running.checkpoint().result(30) is None
        assert self.running.health()["commit_process"] == "alive"

    @rule()
    def restart_the_writer(self) -> None:
        self.running.stop()
        self.writer = None
        self.start_writer()

    # -- after every step -------------------------------------------------------------

    @invariant()
    def writer_agrees_with_the_model(self) -> None:
        if self.writer is None:
            return
        view = self.running.read(engine_view).result()
        books = self.model.books
        ids = self.account_ids()
        assert self.running.balances(ids).result() == [books.accounts[id].balance() for id in ids]
        assert view["violations"] == []
        assert view["balances"] == self.model.balances()
        assert view["ids"] == set(books.ids)
        assert view["failed"] == {id: result for id, (result, _) in books.failed.items()}
        assert view["pendings"] == {id: p.status for id, p in books.pendings.items()}

    def teardown(self) -> None:
        try:
            if self.writer is not None:
                self.writer.stop()
                self.writer = None
                with open_store(self.url) as store:
                    report = reconcile(store)
                    [(failures,)] = store.query("SELECT COUNT(*) FROM ledger_failures")
                    notes = {row[0] for row in store.query("SELECT ref FROM notes")}
                assert report.ok, [check.problems for check in report.checks if not check.ok]
                assert report.transfers == self.model.books.records
                assert failures == len(self.model.books.failed)
                assert notes == self.notes
        finally:
            self.exits.close()


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        ("sqlite", "process"),
        ("sqlite", "loop"),
        pytest.param("postgresql", "postgresql", marks=pytest.mark.postgres),
    ],
)
def test_the_ledger_matches_its_model(kind: str, mode: str) -> None:
    machine = type(f"LedgerMachine_{mode}", (LedgerMachine,), {"kind": kind, "mode": mode})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
