"""The ledger's load driver: fund the accounts, then keep submits in flight and time them."""

from __future__ import annotations

import gc
import math
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future

from rich.progress import (
    Progress,
)

from mkoba.bench import workload
from mkoba.bench.errors import BenchError
from mkoba.bench.ledger_config import (
    Config,
    Row,
    ack_timeout_s,
    generate_margin,
    measurement_transfers_max,
    seed,
    warm_up_windows,
    window_submits_min,
    window_transfers,
)
from mkoba.bench.measure import peak_rss_mb
from mkoba.ledger import LedgerWriter, Transfer, TransferResult, limits


def setup_ledger(
    writer: LedgerWriter, store: str, wallets: int, ids: Iterator[int], progress: Progress
) -> None:
    """Create and fund the accounts (not timed)."""
    accounts = workload.accounts(wallets)
    funding = workload.funding(wallets, ids)
    step = limits.batch_transfers_max
    task = progress.add_task(
        f"{store}: create and fund {wallets:,} wallets", total=len(accounts) + len(funding)
    )
    created = [
        writer.create_accounts(accounts[i : i + step]) for i in range(0, len(accounts), step)
    ]
    for future in created:
        results = future.result(timeout=ack_timeout_s)
        if not all(result.ok for result in results):
            raise BenchError(f"{store}: creating accounts failed: {set(results)}")
        progress.advance(task, len(results))
    funded = [writer.submit(funding[i : i + step]) for i in range(0, len(funding), step)]
    _expect_ok(funded, f"{store} funding")
    progress.advance(task, len(funding))
    writer.checkpoint().result(timeout=ack_timeout_s)


def measure_ledger(
    writer: LedgerWriter,
    store: str,
    shape: str,
    batch: int,
    config: Config,
    ids: Iterator[int],
    progress: Progress,
) -> Row:
    """Time one (shape, batch) on the writer: a warm-up, then about ``seconds``."""
    submit_transfers = batch if shape == "uniform" else max(2, batch - batch % 2)
    in_flight = max(window_submits_min, window_transfers // submit_transfers)
    window = in_flight * submit_transfers
    rng = random.Random(f"{seed}-{shape}")
    warm_up = _requests(
        shape, warm_up_windows * window, submit_transfers, config.accounts, ids, rng
    )
    warm_up_s, warmed = _drive(writer, warm_up, in_flight, None, None)
    transfers = round(warmed / warm_up_s * config.seconds * generate_margin)
    transfers = min(max(transfers, window), measurement_transfers_max)
    requests = _requests(shape, transfers, submit_transfers, config.accounts, ids, rng)
    # The clock starts on a quiet writer: balances checkpointed, generation garbage gone.
    writer.checkpoint().result(timeout=ack_timeout_s)
    gc.collect()
    task = progress.add_task(
        f"{store} {shape} batch {batch}", total=len(requests) * submit_transfers
    )
    batches_before = writer.batches

    def advance(acknowledged: int) -> None:
        progress.update(task, completed=acknowledged)

    elapsed_s, transfers = _drive(writer, requests, in_flight, advance, config.seconds)
    assert 0 < transfers <= len(requests) * submit_transfers
    rate = transfers / elapsed_s
    progress.update(
        task,
        total=transfers,
        completed=transfers,
        description=f"{store} {shape} batch {batch}: {rate:,.0f}/s",
    )
    return Row(
        store=store,
        mode=shape,
        shape=shape,
        batch=batch,
        submit_transfers=submit_transfers,
        window=window,
        clients=1,
        accounts=config.accounts,
        transfers=transfers,
        commits=writer.batches - batches_before,
        retries=0,
        seconds=elapsed_s,
        transfers_per_s=rate,
        rss_mb=peak_rss_mb(),
        load_1m=os.getloadavg()[0],
    )


def _requests(
    shape: str,
    transfers: int,
    submit_transfers: int,
    wallets: int,
    ids: Iterator[int],
    rng: random.Random,
) -> list[list[Transfer]]:
    """Pre-generated transfers, cut into whole submits (a hot submit holds whole payments)."""
    transfers = max(submit_transfers, transfers - transfers % submit_transfers)
    made = workload.generate(shape, transfers, wallets, ids, rng)
    requests = [made[i : i + submit_transfers] for i in range(0, len(made), submit_transfers)]
    assert all(len(request) == submit_transfers for request in requests)
    return requests


def _drive(
    writer: LedgerWriter,
    requests: Sequence[list[Transfer]],
    in_flight: int,
    advance: Callable[[int], None] | None,
    seconds: float | None,
) -> tuple[float, int]:
    """Submit requests, ``in_flight`` outstanding, until done or ``seconds`` passed.

    Returns the seconds from the first submit to the last acknowledgement, and the
    transfers acknowledged (every submitted one: the last window is drained).
    """
    assert in_flight >= 1
    submit = writer.submit
    futures: deque[Future[list[TransferResult]]] = deque()
    acknowledged = 0
    started = time.perf_counter()
    stop_at = math.inf if seconds is None else started + seconds
    for number, request in enumerate(requests):
        if len(futures) >= in_flight:
            acknowledged += _acknowledged(futures.popleft())
            # Once a window: cheap enough at any batch size, fine enough at every rate.
            if number % in_flight == 0:
                if advance is not None:
                    advance(acknowledged)
                if time.perf_counter() >= stop_at:
                    break
        futures.append(submit(request))
    while futures:
        acknowledged += _acknowledged(futures.popleft())
    elapsed_s = time.perf_counter() - started
    assert elapsed_s > 0
    return elapsed_s, acknowledged


def _acknowledged(future: Future[list[TransferResult]]) -> int:
    """How many transfers a submit applied; ``BenchError`` unless every one is OK."""
    results = future.result(timeout=ack_timeout_s)
    if results.count(TransferResult.OK) != len(results):
        failed = next(result for result in results if result is not TransferResult.OK)
        raise BenchError(f"a transfer failed with {failed.name}: the benchmark expects none to")
    return len(results)


def _expect_ok(futures: Sequence[Future[list[TransferResult]]], what: str) -> None:
    for future in futures:
        try:
            _acknowledged(future)
        except BenchError as error:
            raise BenchError(f"{what}: {error}") from None
