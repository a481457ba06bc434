"""The process figures every bench row records: peak memory, CPU time and percentiles."""

from __future__ import annotations

import math
import resource
from collections.abc import Sequence


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """The CPU time of this process so far (all threads, user + system), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
