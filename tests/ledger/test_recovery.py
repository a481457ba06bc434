"""A commit that fails costs its own command only: the writer goes on.

The issue: one Daraja request with a lone surrogate in its text made the commit
process die, and every later send, withdrawal and balance failed until a restart
while /health said ok. Each writer (on the event loop with SQLite's commit process,
on threads with it, on threads committing SQLite itself, and on PostgreSQL) must
fail only the command whose rows cannot be stored, commit the good commands of the
same batch and of the batch behind it, keep the books equal to the store, survive a
killed commit process, and wait out a store that is gone without spinning.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mkoba.ledger import (
    Account,
    AccountKind,
    LedgerWriter,
    StoreError,
    Transfer,
    TransferResult,
    Write,
    WriterError,
    open_store,
)
from mkoba.ledger.reconcile import reconcile
from mkoba.ledger.store import postgres
from mkoba.ledger.store.base import FAULT_DATA, FAULT_STORE
from mkoba.ledger.store.sqlite import SqliteStore
from tests.conftest import POSTGRES_URL, require_postgres
from tests.ledger.helpers import (
    WALLET,
    WRITER_MODES,
    WriterHarness,
    credit_balances,
    exception_text,
    wait_until,
)

R = TransferResult
TRUST, ALICE, BOB = 1, 2, 3
ACCOUNTS = [
    Account(TRUST, 1, "KES", AccountKind.TRUST),
    Account(ALICE, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(BOB, 1, "KES", AccountKind.EMONEY, WALLET),
]
# A channel's rows beside the money; its key is text, as a token or a reference is.
NOTES = """
CREATE TABLE notes (
    ref TEXT PRIMARY KEY,
    transfer_id BIGINT NOT NULL,
    text TEXT NOT NULL
);
"""
# In every bad row: no message, log line or health report may show it.
SECRET = "PIN-4321"


def note(number: int, transfer_id: int, text: str = "paid") -> Write:
    """A good note row; its key carries the secret, as a token would."""
    return Write("notes", ("ref", "transfer_id", "text"), (ref(number), transfer_id, text))


def ref(number: int) -> str:
    return f"ref-{number}-{SECRET}"


# Rows no store can hold, one way each.
BAD: dict[str, Callable[[int, int], Write]] = {
    "surrogate": lambda number, transfer_id: note(number, transfer_id, f"A\ud800 {SECRET}"),
    "overflow": lambda number, _transfer_id: note(number, 2**70, SECRET),
    "nul": lambda number, transfer_id: note(number, transfer_id, f"{SECRET}\x00"),
    "duplicate": lambda _number, transfer_id: note(1, transfer_id, SECRET),  # note 1 exists
}
# SQLite stores a NUL in text; PostgreSQL refuses it.
CASES = [
    pytest.param(mode, bad, marks=[pytest.mark.postgres] if mode == "postgresql" else [])
    for mode in WRITER_MODES
    for bad in BAD
    if bad != "nul" or mode == "postgresql"
]


def pay(id: int, amount: int = 10) -> Transfer:
    return Transfer(id, ALICE, BOB, amount, 1)


@pytest.fixture
def url_of(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """The store URL for a writer mode: a SQLite file, or a fresh PostgreSQL schema."""

    def url(mode: str) -> str:
        if mode == "postgresql":
            return str(request.getfixturevalue("postgres_url"))
        return str(tmp_path / "ledger.db")

    return url


@contextlib.contextmanager
def running(mode: str, url: str) -> Iterator[tuple[WriterHarness, LedgerWriter]]:
    """A started writer with the accounts, note 1 and Alice's 1,000; stopped afterwards."""
    harness = WriterHarness(mode, url)
    writer = harness.start()
    try:
        writer.store.migrate_script("test_notes", NOTES)
        writer.create_accounts(ACCOUNTS).result(10)
        funded = writer.submit([Transfer(10, TRUST, ALICE, 1_000, 1)], attach=[note(1, 10)])
        assert funded.result(10) == [R.OK]
        yield harness, writer
    finally:
        writer.stop()
        harness.close()


def stored(url: str) -> tuple[set[int], set[str]]:
    """The transfer ids and the note refs in the store, read on a connection of its own."""
    with open_store(url) as store:
        ids = {row[0] for row in store.query("SELECT id FROM ledger_transfers")}
        refs = {row[0] for row in store.query("SELECT ref FROM notes")}
    return ids, refs


def books_agree(url: str, balances: list[int]) -> None:
    """The store reconciles, and a writer rebuilt from it shows ``balances`` (Alice, Bob)."""
    with open_store(url) as store:
        report = reconcile(store)
    assert report.ok, [check.problems for check in report.checks if not check.ok]
    with LedgerWriter(open_store(url)) as writer:
        assert credit_balances(writer.balances([ALICE, BOB]).result(10)) == balances


@pytest.mark.parametrize(("mode", "bad"), CASES)
def test_an_unstorable_row_fails_its_command_only(
    mode: str, bad: str, url_of: Callable[[str], str]
) -> None:
    url = url_of(mode)
    with running(mode, url) as (harness, writer):
        with harness.commits_held(writer):
            with harness.one_batch(writer):
                same = [
                    writer.submit([pay(11)], attach=[note(11, 11)]),
                    writer.submit([pay(12)], attach=[BAD[bad](12, 12)]),
                    writer.submit([pay(13)], attach=[note(13, 13)]),
                ]
            # Decided while the batch above is in flight, on memory that includes it.
            with harness.one_batch(writer):
                behind = [
                    writer.submit([pay(14)], attach=[note(14, 14)]),
                    writer.balances([ALICE, BOB]),
                ]
        assert same[0].result(10) == [R.OK]
        assert same[2].result(10) == [R.OK]
        with pytest.raises(WriterError, match="could not store this command's rows") as failed:
            same[1].result(10)
        cause = failed.value.__cause__
        assert isinstance(cause, StoreError) and cause.fault == FAULT_DATA
        assert behind[0].result(10) == [R.OK]
        # The read behind the failure sees what committed, not the failed payment.
        assert credit_balances(behind[1].result(10)) == [970, 30]
        # It takes new commands, and the failed command's transfer id was never spent.
        assert writer.submit([pay(12)], attach=[note(12, 12)]).result(10) == [R.OK]
        health = writer.health()
        assert health["state"] == "ok"
        assert health["recoveries"] == 2  # the batch, then the payment alone
        assert SECRET not in exception_text(failed.value)
        assert SECRET not in str(health)
    assert stored(url) == ({10, 11, 12, 13, 14}, {ref(n) for n in (1, 11, 12, 13, 14)})
    books_agree(url, [960, 40])


@pytest.mark.parametrize("mode", WRITER_MODES)
def test_an_attach_or_read_that_raises_fails_its_command_only(
    mode: str, url_of: Callable[[str], str]
) -> None:
    if mode == "postgresql":
        require_postgres()
    url = url_of(mode)

    def broken_attach(_results: list[TransferResult]) -> list[Write]:
        raise ValueError(SECRET)

    def broken_read(_engine: object) -> None:
        raise KeyError(SECRET)

    with running(mode, url) as (harness, writer):
        with harness.one_batch(writer):
            futures = [
                writer.submit([pay(11)], attach=[note(11, 11)]),
                writer.submit([pay(12)], attach=broken_attach),
                writer.read(broken_read),
                writer.submit([pay(13)], attach=lambda _results: [note(13, 13)]),
            ]
        assert futures[0].result(10) == [R.OK]
        assert futures[3].result(10) == [R.OK]
        for future, kind in ((futures[1], ValueError), (futures[2], KeyError)):
            with pytest.raises(WriterError, match="deciding this command raised") as failed:
                future.result(10)
            assert isinstance(failed.value.__cause__, kind)  # the caller's own error
        assert writer.submit([pay(14)]).result(10) == [R.OK]
        assert SECRET not in str(writer.health())
        assert writer.health()["state"] == "ok"
    assert stored(url) == ({10, 11, 13, 14}, {ref(n) for n in (1, 11, 13)})
    books_agree(url, [970, 30])


@pytest.mark.parametrize("mode", ["loop", "process"])
def test_an_attach_runs_again_and_only_its_last_rows_commit(
    mode: str, url_of: Callable[[str], str]
) -> None:
    """After a failed batch the writer decides a command again: attach sees new results."""
    url = url_of(mode)
    runs: list[list[TransferResult]] = []

    def counted(results: list[TransferResult]) -> list[Write]:
        runs.append(list(results))
        return [note(100 + len(runs), 11)]

    with running(mode, url) as (harness, writer):
        with harness.one_batch(writer):
            first = writer.submit([pay(11)], attach=counted)
            doomed = writer.submit([pay(12)], attach=[BAD["surrogate"](12, 12)])
        assert first.result(10) == [R.OK]
        with pytest.raises(WriterError):
            doomed.result(10)
    assert runs == [[R.OK], [R.OK]]
    assert stored(url) == ({10, 11}, {ref(1), ref(102)})


@pytest.mark.parametrize("mode", ["loop", "process"])
def test_a_commit_process_killed_mid_batch_is_replaced_and_the_batch_behind_goes_again(
    mode: str, url_of: Callable[[str], str]
) -> None:
    url = url_of(mode)
    with running(mode, url) as (harness, writer):
        store = writer.store
        assert isinstance(store, SqliteStore) and store._child is not None
        killed = store._child._process
        with harness.commits_held(writer):
            with harness.one_batch(writer):
                lost = writer.submit([pay(11)], attach=[note(11, 11)])
            with harness.one_batch(writer):
                behind = writer.submit([pay(12)], attach=[note(12, 12)])
            os.kill(killed.pid, signal.SIGKILL)
            killed.wait()
        # Whether the killed process committed it, nobody can say: it fails as unknown.
        with pytest.raises(WriterError, match="may or may not have committed") as failed:
            lost.result(10)
        cause = failed.value.__cause__
        assert isinstance(cause, StoreError) and cause.fault == FAULT_STORE
        # The batch behind it never reached a commit process: decided again, it commits.
        assert behind.result(10) == [R.OK]
        assert writer.submit([pay(13)]).result(10) == [R.OK]
        health = writer.health()
        assert (health["state"], health["commit_process"]) == ("ok", "alive")
        assert store._child is not None and store._child._process is not killed
    assert stored(url) == ({10, 12, 13}, {ref(1), ref(12)})
    books_agree(url, [980, 20])


def test_a_full_disk_fails_commands_at_once_and_the_writer_resumes_by_itself(
    tmp_path: Path,
) -> None:
    """SQLite's own "database or disk is full" (max_page_count), committed on the thread."""
    url = str(tmp_path / "ledger.db")
    with running("thread", url) as (_harness, writer):
        store = writer.store
        assert isinstance(store, SqliteStore)
        rebuilds = spy_on_recover(store)
        with store._lock:
            pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
            store._connection.execute(f"PRAGMA max_page_count = {pages}")
        acknowledged: set[int] = {10}
        failures: list[WriterError] = []
        next_id = 100
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            next_id += 1
            try:
                results = writer.submit(
                    [pay(next_id, 1)], attach=[note(next_id, next_id, "x" * 2_000)]
                ).result(10)
                acknowledged.add(next_id)
                assert results == [R.OK]
            except WriterError as error:
                failures.append(error)
                time.sleep(0.01)
        kinds = {str(error).split(";")[0].split(":")[0] for error in failures}
        assert kinds == {
            "the ledger store failed while committing this command",
            "the ledger store is unavailable",
        }, kinds
        assert any("database or disk is full" in exception_text(error) for error in failures)
        # Failing at once, not spinning: the pauses grow (0.05, 0.1, 0.2... s).
        assert 2 <= len(rebuilds) <= 8, len(rebuilds)
        assert writer.health()["state"] in ("ok", "recovering")
        with store._lock:
            store._connection.execute("PRAGMA max_page_count = 1000000")
        resumed = retry_until_ok(writer, pay(99, 1))
        acknowledged.add(99)
        assert resumed == [R.OK]
        assert writer.health()["state"] == "ok"
    # Nothing acknowledged is lost, nothing refused is there.
    ids, _ = stored(url)
    assert ids == acknowledged
    spent = len(acknowledged) - 1
    books_agree(url, [1_000 - spent, spent])


@pytest.mark.postgres
def test_postgresql_gone_fails_commands_at_once_and_the_writer_resumes_by_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer's database stops accepting connections and its session is killed."""
    require_postgres()
    name = f"mkoba_gone_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"

    def cut_off(allow: bool) -> None:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allow).lower()}")
        if not allow:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

    try:
        with running("postgresql", url) as (_harness, writer):
            rebuilds = spy_on_recover(writer.store)
            cut_off(allow=False)
            with pytest.raises(WriterError, match="may or may not have committed"):
                writer.submit([pay(11)]).result(10)
            wait_until(lambda: writer.health()["state"] == "recovering")
            time.sleep(1.0)
            started = time.monotonic()
            with pytest.raises(WriterError, match="unavailable; try again"):
                writer.submit([pay(12)]).result(10)
            assert time.monotonic() - started < 0.5  # at once, not after a timeout
            health = writer.health()
            assert health["connection"] == "broken"
            assert "not currently accepting" in str(health["last_failure"])
            assert len(rebuilds) <= 8, len(rebuilds)  # a growing pause, not a spin
            cut_off(allow=True)
            assert retry_until_ok(writer, pay(13)) == [R.OK]
            health = writer.health()
            assert (health["state"], health["connection"]) == ("ok", "open")
            # It holds the lease again: a second writer is refused.
            monkeypatch.setattr(postgres, "lease_wait_s", 0.2)
            with pytest.raises(StoreError, match="another ledger writer"):
                LedgerWriter(open_store(url)).start()
            # Gone again, then stopped while waiting: stop returns promptly.
            cut_off(allow=False)
            with contextlib.suppress(WriterError):
                writer.submit([pay(14)]).result(10)
            wait_until(lambda: writer.health()["state"] == "recovering")
            started = time.monotonic()
            writer.stop()
            assert time.monotonic() - started < 7
            assert writer.health()["state"] == "stopped"
            cut_off(allow=True)
        assert stored(url) == ({10, 13}, {ref(1)})
        books_agree(url, [990, 10])
    finally:
        cut_off(allow=True)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def spy_on_recover(store: Any) -> list[float]:
    """Record when the writer asks ``store`` to recover (the real method still runs)."""
    calls: list[float] = []
    recover = store.recover

    def recorded() -> None:
        calls.append(time.monotonic())
        recover()

    store.recover = recorded
    return calls


def retry_until_ok(writer: LedgerWriter, transfer: Transfer, timeout_s: float = 15.0) -> Any:
    """Submit until the writer takes it (as a client retrying after "try again" would)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return writer.submit([transfer]).result(10)
        except WriterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_health_says_stopped_before_start_and_after_stop(tmp_path: Path) -> None:
    writer = LedgerWriter(open_store(str(tmp_path / "ledger.db")))
    assert writer.health()["state"] == "stopped"
    writer.start()
    assert writer.health() == {
        "state": "ok",
        "batches": 0,
        "recoveries": 0,
        "commit_process": "alive",
    }
    writer.stop()
    assert writer.health()["state"] == "stopped"
