"""Success rate and latency, read from the platform's own Prometheus metrics, in process.

TranProc counts every request it decides (``mkoba_requests_total``, by channel, product
and result code) and times it (``mkoba_request_seconds``, by product): see
``mkoba/metrics.py``. The console reads that registry where it runs (the process that
holds the writer and runs TranProc), so the numbers cover the requests this process
decided since it started, not other hosts' workers. A sampler takes the totals once a
minute and keeps the last hour, so the dashboard can chart the recent minutes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from typing import NamedTuple

from mkoba import metrics

# Result codes that count as a success: decided and done (or done, awaiting delivery).
SUCCESS_CODES = frozenset({"ok", "pending_delivery"})
# One sample a minute, an hour of them.
sample_interval_s = 60.0
samples_max = 60


class Totals(NamedTuple):
    """One product's requests since the process started, as the counters hold them."""

    requests: int
    succeeded: int
    seconds_sum: float
    # (upper bound in s, cumulative count) of the latency histogram, +Inf last.
    buckets: tuple[tuple[float, int], ...]


def read_totals() -> dict[str, Totals]:
    """Every product's totals now, from the registry."""
    requests: dict[str, int] = collections.Counter()
    succeeded: dict[str, int] = collections.Counter()
    seconds: dict[str, float] = collections.defaultdict(float)
    buckets: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
    for family in metrics.registry.collect():
        for sample in family.samples:
            product = sample.labels.get("product", "")
            if sample.name == "mkoba_requests_total":
                requests[product] += int(sample.value)
                if sample.labels.get("code") in SUCCESS_CODES:
                    succeeded[product] += int(sample.value)
            elif sample.name == "mkoba_request_seconds_sum":
                seconds[product] += sample.value
            elif sample.name == "mkoba_request_seconds_bucket":
                buckets[product].append((float(sample.labels["le"]), int(sample.value)))
    return {
        product: Totals(
            requests[product],
            succeeded[product],
            seconds[product],
            tuple(sorted(buckets[product])),
        )
        for product in requests
    }


def quantile_s(buckets: tuple[tuple[float, int], ...], share: float) -> float | None:
    """The histogram's bucket bound under which ``share`` of the observations fall."""
    assert 0 < share <= 1
    if not buckets or buckets[-1][1] == 0:
        return None
    wanted = math.ceil(buckets[-1][1] * share)
    for bound, count in buckets:
        if count >= wanted:
            return bound
    return buckets[-1][0]


def difference(now: Totals, before: Totals | None) -> Totals:
    """What happened between two readings of one product."""
    if before is None:
        return now
    earlier = dict(before.buckets)
    return Totals(
        now.requests - before.requests,
        now.succeeded - before.succeeded,
        now.seconds_sum - before.seconds_sum,
        tuple((bound, count - earlier.get(bound, 0)) for bound, count in now.buckets),
    )


class Sample(NamedTuple):
    """The totals of every product at one moment (wall clock, ns)."""

    at: int
    totals: dict[str, Totals]


class Sampler:
    """Takes the totals every ``interval_s`` and keeps the last ``samples_max``."""

    def __init__(self, interval_s: float = sample_interval_s) -> None:
        assert interval_s > 0
        self.interval_s = interval_s
        self.started = time.time_ns()
        self.samples: collections.deque[Sample] = collections.deque(maxlen=samples_max)
        self._task: asyncio.Task[None] | None = None

    def take(self) -> Sample:
        """One sample now, kept."""
        sample = Sample(time.time_ns(), read_totals())
        self.samples.append(sample)
        return sample

    def start(self) -> None:
        """Sample from now on."""
        self.started = time.time_ns()
        self.take()
        self._task = asyncio.create_task(self._run(), name="console-health-sampler")

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.take()
