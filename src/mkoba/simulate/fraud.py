"""``mkoba simulate fraud``: normal traffic and injected fraud through the real processor.

A platform on a scratch SQLite store with the demo's population (agents, merchants,
billers, a thousand customers and their three weeks of history), the shipped profile
and its risk rules on, and a SIM-swap feed the simulation records into. Then ``days``
simulated days of normal traffic from ``customers`` of the demo's customers, with
``cases`` of each typology (``typologies.py``) spread over the days, all played in
time order on the platform's own clock. The alerts are read from the compliance queue
once the stream rules have had their say, and the matrix is scored (``score.py``).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkoba.parties import PartyKind, Role
from mkoba.risk.alert_schema import Alert
from mkoba.risk.engine import RiskEngine
from mkoba.risk.simswap import RecordedSimSwap
from mkoba.simulate import background
from mkoba.simulate.driver import DAY_NS, HOUR_NS, Driver, moment
from mkoba.simulate.score import Matrix, score
from mkoba.simulate.typologies import TYPOLOGIES, Case, Scene

settle_s = 0.3  # the stream rules raise in the background: wait until the queue is still
settle_rounds_max = 50


@dataclass(frozen=True)
class Config:
    """One simulation's shape."""

    seed: int = 19
    customers: int = 200
    days: int = 7
    cases: int = 20  # per typology
    swap_rate: float = 0.1  # honest SIM swaps: the share of customers a year
    profile: str = "kenya"


@dataclass
class Outcome:
    """What a simulation made and found."""

    config: Config
    matrix: Matrix
    requests: int
    seconds: float
    honest_swaps: int = 0

    def overall(self) -> dict[str, Any]:
        """The totals, with the run's shape."""
        config = self.config
        return {
            "seed": config.seed,
            "customers": config.customers,
            "days": config.days,
            "cases_per_typology": config.cases,
            "swap_rate": config.swap_rate,
            "honest_swaps": self.honest_swaps,
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            **self.matrix.overall(),
        }


def run(config: Config, progress: Callable[[str], None] | None = None) -> Outcome:
    """Run one simulation on a scratch store (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="mkoba-simulate-") as folder:
        return asyncio.run(_run(config, Path(folder), progress or (lambda _: None)))


def _settings(folder: Path, profile: str) -> Any:
    from mkoba.settings import Settings

    return Settings.model_validate(
        {
            "db": str(folder / "simulate.db"),
            "keys_dir": folder / "keys",
            "demo": True,
            "risk_rules": True,
            "profile": profile,
            "bus": "memory",
        }
    )


async def _run(config: Config, folder: Path, progress: Callable[[str], None]) -> Outcome:
    from mkoba.app import Platform

    started = time.perf_counter()
    platform = Platform(_settings(folder, config.profile))
    progress("starting the platform and loading the demo population")
    await platform.start()
    try:
        engine = platform.services.risk
        if not isinstance(engine, RiskEngine):
            raise RuntimeError("the platform runs no risk rules")
        swaps = RecordedSimSwap(now=lambda: moment(platform.clock()))
        engine.swaps = swaps
        driver = Driver(platform, random.Random(config.seed))
        cases, normal_parties, swapped = await _schedule(driver, config, swaps)
        progress(f"playing {config.days} simulated days")
        await driver.run(lambda played: progress(f"{played:,} actions played"))
        alerts = await _settled_alerts(platform)
        matrix = score(driver, cases, alerts, normal_parties)
        seconds = time.perf_counter() - started
        return Outcome(config, matrix, len(driver.asked), seconds, swapped)
    finally:
        platform.clock.fixed = None
        await platform.stop()


async def _schedule(
    driver: Driver, config: Config, swaps: RecordedSimSwap
) -> tuple[list[Case], set[int], int]:
    """The background and the cases on the timeline: the cases, the normal customers and
    how many of them change SIM honestly."""
    platform = driver.platform
    directory = platform.services.directory
    demo = sorted(
        (p for p in directory.of_kind(PartyKind.CUSTOMER) if p.msisdn),
        key=lambda party: party.id,
    )
    if config.customers > len(demo):
        raise ValueError(f"the demo has {len(demo)} customers; ask for at most that many")
    customers = demo[: config.customers]
    stores = driver.stores()
    await driver.stock(stores, 5_000_000 + 3_000_000 * config.cases)
    tills = driver.numbers(PartyKind.MERCHANT, Role.MERCHANT)
    billers = driver.numbers(PartyKind.ORGANISATION, Role.BILLER)
    # The first simulated day starts at the next midnight UTC after the demo's history.
    start = (platform.clock() // DAY_NS + 1) * DAY_NS
    habits = background.habits(customers, stores, tills, billers, driver.rng)
    background.schedule(driver, habits, start, config.days)
    swapped = background.honest_swaps(driver, habits, swaps, start, config.days, config.swap_rate)
    scene = Scene(driver, stores, platform.services.profile(start), swaps)
    cases: list[Case] = []
    for typology, (rule, inject) in TYPOLOGIES.items():
        for index in range(config.cases):
            case = Case(typology, rule, index)
            # On day 1 or later (day 0 is the cases' setup), in the day's working hours.
            day = driver.rng.randrange(1, config.days) if config.days > 1 else 1
            when = start + day * DAY_NS + driver.rng.randrange(8 * HOUR_NS, 14 * HOUR_NS)
            inject(scene, case, when)
            cases.append(case)
    return cases, {party.id for party in customers}, swapped


async def _settled_alerts(platform: Any) -> list[Alert]:
    """Every alert in the queue, once no new one has come for ``settle_s``."""
    alerts = platform.alerts
    if alerts is None:
        return []
    seen = -1
    found: list[Alert] = []
    for _ in range(settle_rounds_max):
        found = await _all_alerts(alerts)
        if len(found) == seen:
            break
        seen = len(found)
        await asyncio.sleep(settle_s)
    return found


async def _all_alerts(alerts: Any) -> list[Alert]:
    page = 200
    found: list[Alert] = []
    while True:
        batch = await alerts.list(limit=page, offset=len(found))
        found.extend(batch)
        if len(batch) < page:
            return found
