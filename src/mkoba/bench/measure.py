"""The process figures every bench row records: peak memory, CPU time and percentiles."""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Sequence


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """The CPU time of this process so far (all threads, user + system), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot (None off Linux).

    From ``/proc/stat``: all but idle and iowait, in clock ticks. A phase's delta,
    less this process's own ``cpu_s``, is what the rest of the machine (the server
    under test, its commit process) spent.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float]] | None:
    """Every process's parent and CPU seconds (user + system) so far, from ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        names = [entry.name for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return None
    found: dict[int, tuple[int, float]] = {}
    for name in names:
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                text = stat.read()
        except OSError:  # it ended meanwhile
            continue
        # After the command's ")": state, ppid, ... utime (14th field), stime (15th).
        fields = text.rpartition(")")[2].split()
        found[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return found


def process_tree_cpu_s(pid: int, *, itself: bool = True) -> float | None:
    """CPU seconds of process ``pid`` (unless not ``itself``) and its live descendants so far.

    None off Linux, or when ``pid`` is gone. A split bench's core with its commit
    process; a bench's own server processes (``itself=False`` on the bench's pid).
    """
    processes = _processes()
    if processes is None or pid not in processes:
        return None
    tree, total = {pid}, processes[pid][1] if itself else 0.0
    grown = True
    while grown:
        grown = False
        for child, (parent, cpu) in processes.items():
            if parent in tree and child not in tree:
                tree.add(child)
                total += cpu
                grown = True
    return total


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    assert 0 <= fraction <= 1
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def phase_percentile(latencies_ms: Sequence[float], fraction: float) -> float:
    """A latency percentile (ms) of a server bench's phase, by the index ``fraction * n``."""
    if not latencies_ms:
        return 0.0
    ordered = sorted(latencies_ms)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
