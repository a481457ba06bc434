"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry()

requests_total = Counter(
    "mkoba_requests_total",
    "Requests decided by TranProc, by channel, product and result code.",
    ["channel", "product", "code"],
    registry=registry,
)
request_seconds = Histogram(
    "mkoba_request_seconds",
    "Time from a request reaching TranProc to its response.",
    ["product"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
    registry=registry,
)
deliveries_waiting = Gauge(
    "mkoba_deliveries_waiting",
    "Money-moving responses waiting for their delivery acknowledgement.",
    registry=registry,
)
outbox_sent_total = Counter(
    "mkoba_outbox_sent_total",
    "Messages delivered from the outbox, by channel.",
    ["channel"],
    registry=registry,
)
ledger_batches = Gauge(
    "mkoba_ledger_batches", "Batches the ledger writer has committed.", registry=registry
)
ledger_writer_failures = Gauge(
    "mkoba_ledger_writer_failures",
    "Commits the ledger writer could not make and recovered from (a store or data fault).",
    registry=registry,
)
ledger_writer_ok = Gauge(
    "mkoba_ledger_writer_ok",
    "1 while the ledger writer commits, 0 while it recovers, has failed or stopped.",
    registry=registry,
)
lease_takeovers_total = Counter(
    "mkoba_lease_takeovers_total",
    "Times this core took the ledger's lease over from an earlier holder (PostgreSQL).",
    registry=registry,
)
lease_token = Gauge(
    "mkoba_lease_token",
    "The ledger lease's fencing token, as this core last saw it (PostgreSQL).",
    registry=registry,
)
