"""What ``mkoba bench processor`` measures: its options (``Config``), its forms and its ``Row``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

CHANNELS = ("api", "system")
STORES = ("sqlite", "postgresql")
PIN = "1357"
# Every customer starts with this much e-money (shillings): sends never run dry.
opening_balance_ksh = 100_000
amount_ksh_min, amount_ksh_max = 10, 2_000
first_msisdn = 254_720_000_000
customers_max = 1_000_000
warm_up_s = 2.0
# Requests generated ahead of a run: the estimated need times this, at most this many.
generate_margin = 1.5
requests_max = 2_000_000
# A request not answered within this long means TranProc is stuck: stop loudly.
request_timeout_s = 60.0
seed = 20_250_601
# The targets (checked in the summary, never in unit tests).
target_tx_per_s = 6_000
target_p99_ms = 50.0


@dataclass(frozen=True, slots=True)
class Form:
    """One way to run the platform: on a store, in one process or split over NATS."""

    store: str
    # False: everything in the bench's process. True: a core (``mkoba serve --role core``,
    # a process of its own) decides; the bench's process is a front on the NATS bus.
    split: bool
    # The profile's fraud and AML rules run (``MKOBA_RISK_RULES``).
    rules: bool = False

    @property
    def name(self) -> str:
        """What a row says it measured: ``sqlite, one process`` or ``... core + front``."""
        where = "core + front on NATS" if self.split else "one process"
        return f"{self.store}, {where}{', rules on' if self.rules else ''}"

    @property
    def processes(self) -> str:
        """``one`` or ``split``, as the JSON rows say it."""
        return "split" if self.split else "one"


@dataclass(frozen=True, slots=True)
class Config:
    """What to measure: built by the command line from its options."""

    customers: int
    clients: int
    seconds: float
    channels: list[str]
    # Each store is measured in turn (comma-separated on the command line).
    stores: list[str]
    postgres_url: str
    loop: str
    reconcile: bool
    # The one-process form's bus: memory, or NATS JetStream (prefix mkoba-bench unless given).
    bus: str = "memory"
    # A NATS server: each store is measured split too (a core process and a front).
    split: str | None = None
    # Every form measured this many times, interleaved: ratios are of the sums.
    rounds: int = 1
    # The fraud and AML rules off, on, or both (each store measured each way, interleaved).
    rules: tuple[bool, ...] = (False,)

    def forms(self) -> list[Form]:
        """What to measure, in order: each store in one process, then each split."""
        ones = [Form(store, False, rules) for store in self.stores for rules in self.rules]
        if not self.split:
            return ones
        return ones + [Form(store, True, rules) for store in self.stores for rules in self.rules]

    def problems(self) -> list[str]:
        """Why this configuration cannot run; empty when it can."""
        problems = [f"unknown channel {name!r}" for name in self.channels if name not in CHANNELS]
        if not self.channels:
            problems.append("give at least one channel")
        problems += [f"unknown store {name!r}" for name in self.stores if name not in STORES]
        if not self.stores:
            problems.append(f"give at least one store of {', '.join(STORES)}")
        if len(set(self.stores)) != len(self.stores):
            problems.append("give each store once")
        if not self.rules or len(set(self.rules)) != len(self.rules):
            problems.append("rules: off, on, or off,on")
        if not 1 <= self.rounds <= 20:
            problems.append("rounds must be 1..20")
        if not 2 <= self.customers <= customers_max:
            problems.append(f"customers must be 2..{customers_max:,}")
        if not 1 <= self.clients <= 4096:
            problems.append("clients must be 1..4096")
        if not 0 < self.seconds <= 600:
            problems.append("seconds must be above 0 and at most 600")
        from mkoba.bus import parse_nats_url

        for option, url in (("bus", self.bus), ("split", self.split)):
            if url is None or url == "memory":
                continue
            try:
                parse_nats_url(url)
            except ValueError as problem:
                problems.append(f"{option}: {problem}")
        if self.loop not in ("uvloop", "asyncio"):
            problems.append("loop must be uvloop or asyncio")
        return problems


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement, as printed in the table and as one JSON line."""

    channel: str
    mode: str
    clients: int
    store: str
    # ``one`` (one process) or ``split`` (a core process and a front on NATS); ``form``
    # says both in words; ``round`` counts from 1.
    processes: str
    form: str
    round: int
    customers: int
    transactions: int
    seconds: float
    # Payments the risk rules held or asked to confirm (decided, counted as done).
    risk_decided: int
    tx_per_s: float
    offered_per_s: float
    p50_ms: float
    p99_ms: float
    settled_p50_ms: float
    settled_p99_ms: float
    max_ms: float
    # Process CPU time (all threads, user + system) per transaction: what bounds a
    # GIL-bound process, and less disturbed by other load on the machine than tx/s.
    cpu_ms_per_tx: float
    rss_mb: float
    # The processes the bench started, per transaction: the commit process (one
    # process), the core and its commit process (split). With ``cpu_ms_per_tx``, all of
    # mkoba's CPU (not the database's or NATS's).
    children_cpu_ms_per_tx: float | None = None
    # This row's tx/s over the first form's, same round, channel and mode.
    form_ratio: float | None = None

    def as_json(self) -> str:
        """One line of JSON, figures rounded to what they mean."""
        fields = dataclasses.asdict(self)
        for name, value in fields.items():
            if isinstance(value, float):
                fields[name] = round(value, 3 if "_ms" in name or name == "form_ratio" else 1)
        return json.dumps(fields)
