"""The forms ``mkoba bench processor`` runs the platform in: one process, or split over NATS.

One process: a ``Platform`` in the bench's own process on a scratch store, as
``mkoba serve`` runs it. Split: the customers are created by such a platform,
stopped before the clock starts; then a core (``mkoba serve --role core``, a real
process of its own, on the same store and a NATS prefix of the run's own)
decides every request, and the bench's process drives a front ``Platform``
(``role=front``), whose requests and acknowledgements cross the bus as a Daraja
front's do. The CPU of the processes the bench started (a commit process, the
core) is read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from mkoba.bench.errors import BenchError
from mkoba.bench.measure import process_tree_cpu_s
from mkoba.bench.processor_config import Config, Form, Row, seed
from mkoba.bench.processor_loops import closed_loop, open_loop
from mkoba.bench.processor_world import populate
from mkoba.bench.servers import bench_bus, drop_stream, mkoba_serve
from mkoba.bench.stores import scratch_store


async def measure_form(
    config: Config, form: Form, channel: str, folder: Path, status: Console
) -> list[Row]:
    """The closed and the open loop of ``channel`` in ``form``, on a store of their own."""
    with scratch_store(form.store, config.postgres_url) as url:
        try:
            if form.split:
                assert config.split is not None
                rows = await _split(config, form, channel, folder, url, status)
            else:
                rows = await _one(config, form, channel, folder, url, status)
            if config.reconcile:
                with status.status("reconciling the books"):
                    await asyncio.to_thread(_reconcile, url)
        finally:
            # The next form starts from a clean heap too.
            gc.collect()
    return rows


def _settings(
    url: str, folder: Path, config: Config, bus: str, role: str, rules: bool = False
) -> Any:
    from mkoba.settings import Settings

    return Settings.model_validate(
        {
            "db": url,
            "keys_dir": folder / "keys",
            "demo": False,
            "workers": max(64, config.clients),
            "bus": bus,
            "role": role,
            "risk_rules": rules,
        }
    )


def _bus_url(url: str) -> str:
    """The bus for a bench platform: a prefix of its own, so no running mkoba takes its requests."""
    if url == "memory":
        return url
    from urllib.parse import urlsplit

    return url if urlsplit(url).path.strip("/") else url.rstrip("/") + "/mkoba-bench"


async def _one(
    config: Config, form: Form, channel: str, folder: Path, url: str, status: Console
) -> list[Row]:
    """Both loops on a platform in this process; no delivery left waiting afterwards."""
    from mkoba.app import Platform

    platform = Platform(_settings(url, folder, config, _bus_url(config.bus), "all", form.rules))
    await platform.start()
    try:
        with status.status(f"creating and funding {config.customers:,} customers"):
            msisdns = await populate(platform, config.customers)
        rows = await _loops(platform, config, form, channel, msisdns, status, _children_cpu)
        for held in platform.processor.deliveries.held():  # compliance lets them through
            await platform.processor.release(held, approve=True)
        if len(platform.processor.deliveries):
            raise BenchError(f"{len(platform.processor.deliveries)} deliveries still waiting")
    finally:
        await platform.stop()
    return rows


async def _split(
    config: Config, form: Form, channel: str, folder: Path, url: str, status: Console
) -> list[Row]:
    """Both loops through a front in this process and a core process, over NATS."""
    from mkoba.app import Platform

    assert config.split is not None
    maker = Platform(_settings(url, folder, config, "memory", "all"))
    await maker.start()
    try:
        with status.status(f"creating and funding {config.customers:,} customers"):
            msisdns = await populate(maker, config.customers)
    finally:
        await maker.stop()
    bus = bench_bus(config.split)
    core_env = {
        "MKOBA_DEMO": "false",
        "MKOBA_WORKERS": str(max(64, config.clients)),
        "MKOBA_RISK_RULES": "true" if form.rules else "false",
    }
    with contextlib.ExitStack() as stack:
        try:
            with status.status("starting the core process"):
                core = mkoba_serve(folder, url, "core", bus, core_env)
                await asyncio.to_thread(stack.enter_context, core)
            front = Platform(_settings(url, folder, config, bus, "front", form.rules))
            await front.start()
            try:
                return await _loops(front, config, form, channel, msisdns, status, _children_cpu)
            finally:
                await front.stop()
        finally:
            # The core stops (its queue drained) before its stream goes.
            await asyncio.to_thread(stack.close)
            await drop_stream(bus)


def _children_cpu() -> float:
    """CPU seconds so far of the processes this one started (and theirs), from /proc."""
    found = process_tree_cpu_s(os.getpid(), itself=False)
    if found is None:
        raise BenchError("/proc does not say what the processes started here spent")
    return found


async def _loops(
    platform: Any,
    config: Config,
    form: Form,
    channel: str,
    msisdns: list[str],
    status: Console,
    children_cpu: Callable[[], float] | None,
) -> list[Row]:
    rng = random.Random(seed)
    numbers = iter(range(1, 10**12))
    closed = await closed_loop(
        platform, config, form, channel, msisdns, rng, numbers, status, children_cpu
    )
    opened = await open_loop(
        platform, config, form, channel, closed, msisdns, rng, numbers, status, children_cpu
    )
    return [closed, opened]


def _reconcile(url: str) -> None:
    from mkoba.ledger import open_store
    from mkoba.ledger.reconcile import reconcile

    store = open_store(url)
    try:
        report = reconcile(store)
    finally:
        store.close()
    if not report.ok:
        wrong = [f"{check.name}: {check.problems[:3]}" for check in report.checks if not check.ok]
        raise BenchError(f"the books do not balance after the run: {wrong}")
