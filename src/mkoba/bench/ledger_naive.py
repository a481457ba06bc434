"""The naive baseline of ``mkoba bench ledger``: the same transfers, a transaction each."""

from __future__ import annotations

import gc
import math
import os
import random
import time
from collections.abc import Iterator, Sequence

from rich.progress import (
    Progress,
)

from mkoba.bench import workload
from mkoba.bench.ledger_config import (
    Config,
    Row,
    measurement_transfers_max,
    naive_clients_postgres,
    naive_payments_per_s_max,
    naive_warmup_payments,
    seed,
)
from mkoba.bench.measure import peak_rss_mb
from mkoba.bench.naive import NaiveLedger, Payment, PostgresNaive, SqliteNaive
from mkoba.ledger.store.postgres import split_url


def bench_naive(
    store: str, url: str, config: Config, ids: Iterator[int], progress: Progress
) -> list[Row]:
    """Measure the naive ledger on the same store, for each transfer shape asked for."""
    naive = _open_naive(store, url)
    try:
        balances = [(workload.FEE_ACCOUNT_ID, 0)]
        balances += [
            (id, workload.wallet_funding_minor) for id in workload.wallet_ids(config.accounts)
        ]
        naive.create(balances)
        return [
            _measure_naive(naive, store, shape, config, ids, progress) for shape in config.shapes()
        ]
    finally:
        naive.close()


def _open_naive(store: str, url: str) -> NaiveLedger:
    if store == "sqlite":
        return SqliteNaive(url)
    dsn, schema = split_url(url)
    assert schema is not None
    return PostgresNaive(dsn, schema, naive_clients_postgres)


def _measure_naive(
    naive: NaiveLedger,
    store: str,
    shape: str,
    config: Config,
    ids: Iterator[int],
    progress: Progress,
) -> Row:
    """The same transfers as the ledger's, each in a database transaction of its own.

    That is the issue's baseline: a payment's fee leg commits on its own, as it does
    in a SQL ledger without linked transfers.
    """
    legs = 1 if shape == "uniform" else 2
    rng = random.Random(f"{seed}-{shape}")
    warm_up = _singles(
        workload.payments(
            workload.generate(shape, naive_warmup_payments * legs, config.accounts, ids, rng)
        )
    )
    naive.apply(warm_up, lambda _: None, math.inf)
    count = round(naive_payments_per_s_max * config.seconds)
    count = min(max(count, naive_warmup_payments), measurement_transfers_max // legs)
    payments = _singles(
        workload.payments(workload.generate(shape, count * legs, config.accounts, ids, rng))
    )
    gc.collect()
    task = progress.add_task(f"{store} naive {shape}", total=len(payments))
    started = time.perf_counter()
    applied, retries = naive.apply(
        payments, lambda done: progress.advance(task, done), started + config.seconds
    )
    elapsed_s = time.perf_counter() - started
    assert 0 < applied <= len(payments)
    transfers = applied
    rate = transfers / elapsed_s
    progress.update(
        task, total=applied, completed=applied, description=f"{store} naive {shape}: {rate:,.0f}/s"
    )
    return Row(
        store=store,
        mode="naive",
        shape=shape,
        batch=1,
        submit_transfers=1,
        window=naive.clients,
        clients=naive.clients,
        accounts=config.accounts,
        transfers=transfers,
        commits=applied,
        retries=retries,
        seconds=elapsed_s,
        transfers_per_s=rate,
        rss_mb=peak_rss_mb(),
        load_1m=os.getloadavg()[0],
    )


def _singles(payments: Sequence[Payment]) -> list[Payment]:
    """Every transfer of ``payments`` as a payment of its own, in the same order."""
    return [(transfer,) for payment in payments for transfer in payment]
