"""What ``mkoba bench ledger`` measures: its options (``Config``), its knobs and its ``Row``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from mkoba.bench import workload
from mkoba.ledger import limits

STORES = ("sqlite", "postgresql")
WORKLOADS = ("uniform", "hot", "naive")
# Transfers in flight at once: about one full batch, and never fewer than two submits,
# so that the writer always has a batch to decide while the previous one commits.
window_transfers = limits.batch_transfers_max
window_submits_min = 2
# The most transfers one measurement pre-generates (about 200 bytes each in memory).
measurement_transfers_max = 2_000_000
# The rate is estimated on this many windows, and the measurement pre-generates this
# many times what the estimate says ``seconds`` needs (it stops at ``seconds``).
warm_up_windows = 2
generate_margin = 2.0
# The naive baseline warms up on this many payments, then draws from a pool sized for
# this rate (far above what a transaction per payment reaches) and stops at ``seconds``.
naive_warmup_payments = 200
naive_payments_per_s_max = 20_000
naive_clients_postgres = 8
# A submit not acknowledged within this long means the writer is stuck: stop loudly.
ack_timeout_s = 120.0
seed = 254_712_345_678
# Targets of the issue, checked in the summary (never in unit tests).
target_batch = limits.batch_transfers_max
target_sqlite_transfers_per_s = 100_000
target_hot_vs_uniform = 0.9
target_vs_naive = 50.0


@dataclass(frozen=True, slots=True)
class Config:
    """What to measure: built by the command line from its options."""

    stores: list[str]
    batches: list[int]
    workloads: list[str]
    accounts: int
    seconds: float
    postgres_url: str

    def problems(self) -> list[str]:
        """Why this configuration cannot run; empty when it can."""
        problems = [f"unknown store {name!r}" for name in self.stores if name not in STORES]
        problems += [
            f"unknown workload {name!r}" for name in self.workloads if name not in WORKLOADS
        ]
        problems += [
            f"batch {size} is outside 1..{limits.batch_transfers_max}"
            for size in self.batches
            if not 0 < size <= limits.batch_transfers_max
        ]
        if not 2 <= self.accounts <= workload.wallets_max:
            problems.append(f"accounts must be 2..{workload.wallets_max:,}")
        if not 0 < self.seconds <= 600:
            problems.append("seconds must be above 0 and at most 600")
        if not self.stores or not self.workloads:
            problems.append("give at least one store and one workload")
        if any(name in ("uniform", "hot") for name in self.workloads) and not self.batches:
            problems.append("give at least one batch size")
        return problems

    def shapes(self) -> list[str]:
        """The transfer shapes to measure: the ledger workloads, or uniform for naive alone."""
        shapes = [shape for shape in workload.SHAPES if shape in self.workloads]
        return shapes or ["uniform"]


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement, as printed in the table and as one JSON line."""

    store: str
    mode: str
    shape: str
    batch: int
    submit_transfers: int
    window: int
    clients: int
    accounts: int
    transfers: int
    commits: int
    retries: int
    seconds: float
    transfers_per_s: float
    rss_mb: float
    # The machine's one-minute load average as the measurement ended: above the core
    # count, something else competed for the CPU and the figure is low.
    load_1m: float
    hot_vs_uniform: float | None = None
    vs_naive: float | None = None

    def as_json(self) -> str:
        """One line of JSON, figures rounded to what they mean."""
        fields = dataclasses.asdict(self)
        fields["seconds"] = round(self.seconds, 4)
        fields["transfers_per_s"] = round(self.transfers_per_s, 1)
        fields["rss_mb"] = round(self.rss_mb, 1)
        fields["load_1m"] = round(self.load_1m, 2)
        for name in ("hot_vs_uniform", "vs_naive"):
            if fields[name] is not None:
                fields[name] = round(fields[name], 3)
        return json.dumps(fields)
