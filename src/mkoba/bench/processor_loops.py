"""The load drivers of ``mkoba bench processor``: the closed loop, the open loop, their rows."""

from __future__ import annotations

import asyncio
import gc
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.console import Console

from mkoba.bench.errors import BenchError
from mkoba.bench.measure import cpu_s, peak_rss_mb, percentile
from mkoba.bench.processor_config import (
    Config,
    Form,
    Row,
    generate_margin,
    request_timeout_s,
    requests_max,
    warm_up_s,
)
from mkoba.bench.processor_world import send_money_requests
from mkoba.codes import Code
from mkoba.processor.request import Request

_RISK_DECIDED = frozenset({Code.HELD_FOR_REVIEW, Code.CONFIRM_REQUIRED})


class _Samples:
    """Latencies (seconds) of completed transactions: answered, and settled (acknowledged)."""

    def __init__(self) -> None:
        self.answered: list[float] = []
        self.settled: list[float] = []
        self.failures: list[str] = []
        self.risk_decided = 0
        self.cpu_started = 0.0
        # The CPU seconds of the processes the bench started (None: not counted).
        self.children_cpu: Callable[[], float] | None = None
        self.children_started = 0.0

    def start_clock(self, children_cpu: Callable[[], float] | None) -> None:
        """CPU counted from now: this process's, and the processes' it started."""
        self.cpu_started = cpu_s()
        self.children_cpu = children_cpu
        if children_cpu is not None:
            self.children_started = children_cpu()


async def _transact(
    platform: Any, request: Request, two_phase: bool, since: float, samples: _Samples
) -> None:
    """One business transaction as a channel does it: the request, then its acknowledgement."""
    response = await platform.request(request)
    answered = time.perf_counter()
    if response.code in _RISK_DECIDED:  # decided by the risk rules: no money moves now
        samples.risk_decided += 1
        samples.answered.append(answered - since)
        samples.settled.append(answered - since)
        return
    if not response.ok:
        samples.failures.append(f"{request.id}: {response.code} {response.message}")
        return
    if two_phase and not await platform.acknowledge(request.id):
        samples.failures.append(f"{request.id}: the acknowledgement posted nothing")
        return
    samples.answered.append(answered - since)
    samples.settled.append(time.perf_counter() - since)


async def closed_loop(
    platform: Any,
    config: Config,
    form: Form,
    channel: str,
    msisdns: Sequence[str],
    rng: random.Random,
    numbers: Iterator[int],
    status: Console,
    children_cpu: Callable[[], float] | None = None,
) -> Row:
    two_phase = channel == "api"

    async def loop(requests: list[Request], seconds: float) -> tuple[_Samples, float]:
        pending = iter(requests)
        samples = _Samples()
        samples.start_clock(children_cpu)
        started = time.perf_counter()
        stop_at = started + seconds

        async def client() -> None:
            for request in pending:
                if time.perf_counter() >= stop_at:
                    return
                await _transact(platform, request, two_phase, time.perf_counter(), samples)

        await asyncio.gather(*(client() for _ in range(config.clients)))
        _check(samples)
        return samples, time.perf_counter() - started

    with status.status(f"{channel}: warming up"):
        warm = send_money_requests(platform, channel, 50_000, msisdns, rng, numbers)
        samples, elapsed = await loop(warm, min(warm_up_s, config.seconds))
    estimate = len(samples.settled) / elapsed
    count = min(requests_max, math.ceil(estimate * config.seconds * generate_margin) + 1_000)
    with status.status(f"{channel}: preparing {count:,} requests"):
        requests = send_money_requests(platform, channel, count, msisdns, rng, numbers)
    gc.collect()
    with status.status(f"{channel}: closed loop, {config.clients} clients, {config.seconds:g} s"):
        samples, elapsed = await loop(requests, config.seconds)
    return _row(config, form, channel, "closed", samples, elapsed, 0.0)


# -- open loop --------------------------------------------------------------------------------


async def open_loop(
    platform: Any,
    config: Config,
    form: Form,
    channel: str,
    closed: Row,
    msisdns: Sequence[str],
    rng: random.Random,
    numbers: Iterator[int],
    status: Console,
    children_cpu: Callable[[], float] | None = None,
) -> Row:
    rate = closed.tx_per_s / 2
    count = max(1, math.ceil(rate * config.seconds))
    with status.status(f"{channel}: preparing {count:,} requests"):
        requests = send_money_requests(platform, channel, count, msisdns, rng, numbers)
        gaps = [rng.expovariate(rate) for _ in requests]
    gc.collect()
    samples = _Samples()
    tasks: set[asyncio.Task[None]] = set()
    two_phase = channel == "api"
    with status.status(f"{channel}: open loop at {rate:,.0f}/s, {config.seconds:g} s"):
        samples.start_clock(children_cpu)
        started = time.perf_counter()
        due = started
        for request, gap in zip(requests, gaps, strict=True):
            due += gap
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(_transact(platform, request, two_phase, due, samples))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.wait_for(asyncio.gather(*tasks), request_timeout_s)
        elapsed = time.perf_counter() - started
    _check(samples)
    return _row(config, form, channel, "open", samples, elapsed, rate)


# -- reporting --------------------------------------------------------------------------------


def _check(samples: _Samples) -> None:
    if samples.failures:
        raise BenchError(f"{len(samples.failures)} requests failed, e.g. {samples.failures[:3]}")


def _row(
    config: Config,
    form: Form,
    channel: str,
    mode: str,
    samples: _Samples,
    elapsed: float,
    offered: float,
) -> Row:
    """The loop's figures (``round``, the ratio and the core's CPU are the caller's to fill)."""
    answered = sorted(samples.answered)
    settled = sorted(samples.settled)
    done = max(1, len(settled))
    children_ms = None
    if samples.children_cpu is not None:
        children_ms = (samples.children_cpu() - samples.children_started) * 1000 / done
    return Row(
        channel=channel,
        mode=mode,
        clients=config.clients if mode == "closed" else 0,
        store=form.store,
        processes=form.processes,
        form=form.name,
        round=0,
        customers=config.customers,
        transactions=len(settled),
        risk_decided=samples.risk_decided,
        seconds=elapsed,
        tx_per_s=len(settled) / elapsed,
        offered_per_s=offered,
        p50_ms=percentile(answered, 0.50) * 1000,
        p99_ms=percentile(answered, 0.99) * 1000,
        settled_p50_ms=percentile(settled, 0.50) * 1000,
        settled_p99_ms=percentile(settled, 0.99) * 1000,
        max_ms=(settled[-1] if settled else 0.0) * 1000,
        cpu_ms_per_tx=(cpu_s() - samples.cpu_started) * 1000 / done,
        rss_mb=peak_rss_mb(),
        children_cpu_ms_per_tx=children_ms,
    )
