"""What ``/health``, ``/health/ready`` and ``/metrics`` say about a running platform.

Each part says whether it works: the bus (on a front: and whether a core serves
its ledger), and where this process holds the writer, the writer (and, on
SQLite, its commit process) and the outbox. A failed part makes the platform
"degraded" (HTTP 503), so a load balancer or an operator sees it instead of an
"ok" that is not true. A process that has not finished starting is not ready, nor
is a standby core.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mkoba import __version__, metrics

if TYPE_CHECKING:
    from mkoba.app import Platform


def parts(platform: Platform) -> dict[str, dict[str, object]]:
    """Each part's own report; ``state`` "ok" when it works."""
    found: dict[str, dict[str, object]] = {"bus": platform.bus.health()}
    if not platform.front:
        found["writer"] = platform.writer.health()
        found["outbox"] = platform.outbox.health()
    if not platform.started:
        found["platform"] = {"state": "starting"}
    return found


def report(platform: Platform) -> tuple[dict[str, Any], bool]:
    """What ``/health`` answers, and whether every part works.

    A standby core (``standby.py``) is alive but not ready: it serves nothing until it
    holds the ledger's lease, so a load balancer must not send it anything.
    """
    if not platform.front and not platform.standby.ready:
        return platform.standby.report(platform.settings.role), False
    found_parts = parts(platform)
    ok = all(part.get("state") == "ok" for part in found_parts.values())
    profile = platform.services.profile(platform.clock())
    found: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "role": platform.settings.role,
        "uptime_s": round(time.time() - platform.started, 3) if platform.started else 0.0,
        "profile": profile.version,
        # The zone the SMS and receipts name their times in (mkoba phone shows its SMS so).
        "timezone": profile.timezone.key,
        "parts": found_parts,
    }
    if not platform.front:
        found |= {
            "requests_handled": platform.processor.handled,
            "deliveries_waiting": len(platform.processor.deliveries),
            "ledger_batches": platform.writer.batches,
            "outbox_sent": platform.outbox.sent,
        }
    return found, ok


def refresh_metrics(platform: Platform) -> None:
    """Bring the gauges up to date before ``/metrics`` is read."""
    if not platform.front and platform.standby.ready:
        metrics.deliveries_waiting.set(len(platform.processor.deliveries))
        metrics.ledger_batches.set(platform.writer.batches)
        writer = platform.writer.health()
        metrics.ledger_writer_failures.set(platform.writer.recoveries)
        metrics.ledger_writer_ok.set(1 if writer.get("state") == "ok" else 0)
