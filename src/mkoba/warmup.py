"""What a standby core keeps warm while another core holds the lease: ledger and directory.

A core's start is dominated, on a large ledger, by two loads: the ledger engine
(every account and transfer record replayed) and the directory (every party,
account link, role and PIN credential). A standby (``standby.py``) does both while
it waits, from a read-only connection of its own (``PostgresStore.tail``), then
keeps them current:

- every ``follow_s``, the transfer records and failures the active core appended
  (``ledger/warm.py``);
- every ``catch_up_s``, also the rows changed in place since the last catch-up: new
  and closed accounts, parties, roles, credentials (a PIN's wrong attempts), e-mail
  addresses (``ledger/store/postgres_tail.py``: by ``xmin``).

Once it holds the lease the core catches both up one last time (nothing the old
core committed can come after: its commits are fenced) and starts with them, so a
takeover reads only what committed since the last follow. Everything else a core
loads at start is read after the lease as before: it is small, or it must be read
under the lease (requests left pending, today's usage, the replay window).

Should a read fail while standing by, what was loaded is dropped and loaded again
at the next step: a half-followed engine is never kept.
"""

from __future__ import annotations

import logging
import time

from mkoba.ledger import Store, StoreError
from mkoba.ledger.warm import Tail, WarmLedger
from mkoba.parties import Directory
from mkoba.parties.directory import read_change

log = logging.getLogger("mkoba")

# How often a standby reads what the active core appended (an index range: cheap).
follow_s = 1.0
# How often it also scans for rows changed in place (a scan of each table).
catch_up_s = 30.0


class Warm:
    """A standby's ledger and directory, loaded and kept current; taken by the core."""

    def __init__(self, tail: Tail, ledger_tail: Tail) -> None:
        # One connection each: under the lease the two catch up side by side.
        self.tail = tail
        self._ledger_tail = ledger_tail
        self.ledger = WarmLedger(ledger_tail)
        self.directory: Directory | None = None
        self._mark = 0  # the directory's last read
        self.state = "cold"  # "loading", then "warm"; "taken" once the core has them
        self.load_s = 0.0
        self.loads = 0
        self._followed = 0.0
        self._caught_up = 0.0
        self.catch_up_s = 0.0  # how long the last catch-up took (the scans)
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Whether both are loaded and current as of the last step."""
        return self.state == "warm"

    def step(self) -> None:
        """On a thread, while standing by: load, or follow (and now and then catch up)."""
        assert self.state != "taken"
        if self._stopped:
            return
        now = time.monotonic()
        try:
            if not self.ready:
                self._load()
            elif now - self._caught_up >= catch_up_s:
                self._catch_up()
            elif now - self._followed >= follow_s:
                self.ledger.follow()
                self._followed = now
        except Exception as error:  # the server is away, or disagrees: start over later
            if not self._stopped:
                log.warning("standby: reading the ledger failed, loading again: %s", error)
            self._drop()

    def _load(self) -> None:
        self.state = "loading"
        started = time.monotonic()
        directory = Directory()
        with self.tail.snapshot() as read:
            directory.apply(read_change(read))
            self._mark = read.mark
        self.directory = directory
        self.ledger.load()
        self.load_s = time.monotonic() - started
        self.loads += 1
        self._followed = self._caught_up = time.monotonic()
        self.state = "warm"
        log.warning(
            "standby: ledger (%d accounts) and directory (%d parties) loaded in %.1f s;"
            " following the active core",
            len(self.ledger.engine.accounts),
            len(directory.parties),
            self.load_s,
        )

    def _catch_up(self) -> None:
        directory = self.directory
        assert directory is not None and self._mark
        started = time.monotonic()
        with self.tail.snapshot() as read:
            where, params = read.changed(self._mark)
            directory.apply(read_change(read, where, params))
            self._mark = read.mark
        self.ledger.catch_up()
        self._followed = self._caught_up = time.monotonic()
        self.catch_up_s = self._caught_up - started

    def _drop(self) -> None:
        self.ledger = WarmLedger(self._ledger_tail)
        self.directory = None
        self._mark = 0
        self.state = "cold"

    def take_directory(self, store: Store) -> Directory:
        """Under the lease: the directory, caught up with everything committed before it.

        On a thread of its own while the writer catches the ledger up (``app.py``). A
        failed read leaves it half caught up: it is loaded from ``store`` instead.
        """
        lease = getattr(store, "lease", None)
        assert lease is not None and lease.token, "caught up only under the lease"
        assert self.ready and self.directory is not None
        directory, self.directory = self.directory, None
        self.state = "taken"
        try:
            with self.tail.snapshot() as read:
                where, params = read.changed(self._mark)
                directory.apply(read_change(read, where, params))
        except StoreError as error:
            log.warning("catching up the standby's directory failed (%s): loading it", error)
            return Directory.load(store)
        return directory

    def stop(self) -> None:
        """No more reads (one in progress stops and is dropped): the connections close."""
        self._stopped = True
        self.tail.close()
        self._ledger_tail.close()

    def report(self) -> dict[str, object]:
        """For ``/health`` while standing by."""
        report: dict[str, object] = {"state": self.state}
        if self.ready:
            report["load_s"] = round(self.load_s, 1)
            report["followed_s_ago"] = round(time.monotonic() - self._followed, 1)
            report["records_followed"] = self.ledger.records_followed
            report["catch_up_s"] = round(self.catch_up_s, 2)
        return report
