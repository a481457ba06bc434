"""The garbage collector's pace for a process that serves TranProc.

CPython collects its youngest generation every 700 net allocations of container
objects. TranProc allocates a few hundred per request (coroutines, futures,
requests, plans, rows), while the ledger, the directory and the replay window
keep millions of long-lived objects, so the collector ran hundreds of times a
second and its older generations re-scanned that whole heap: ``mkoba bench
processor`` measured a third of the wall time in collection (3.2 s of 11 s)
and the p99 latency spikes with it. Reference counting still frees everything
at once; only reference cycles wait for the (now rarer) collections.

Call ``tune`` once at a server's start (``mkoba serve``, ``mkoba bench``), never
from library code or tests: the thresholds are process-wide.
"""

from __future__ import annotations

import gc

# Net container allocations before a young collection; young collections before a
# middle one; middle ones before a full one is considered (CPython: 700, 10, 10).
young_allocations = 50_000
young_per_middle = 20
middle_per_full = 100


def tune() -> tuple[int, int, int]:
    """Collect less often (process-wide); the thresholds before, to restore them."""
    before = gc.get_threshold()
    gc.set_threshold(young_allocations, young_per_middle, middle_per_full)
    return before
