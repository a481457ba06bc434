"""``mkoba bench sms``: submit_sm per second to an SMSC, every delivery receipt matched.

Method (bench/RESULTS.md records the figures):

- The SMSC is the npm ``smpp`` server of the tests (tests/channels/sms/peer,
  ``npm ci`` there first), started here on a free port, or any SMSC given with
  ``--smsc smpp://user:password@host:port``.
- One ``Esme`` (the channel's own client: asyncio, smpplib PDUs) binds as a
  transceiver; ``--window`` submit_sm may await their response at once.
- Every message asks for a delivery receipt; the run ends when every receipt
  has come back and matched its message id (the peer sends them 200 ms later).
- Figures: submit_sm answered per second, messages fully done (receipt in) per
  second, and submit_sm round-trip percentiles.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from urllib.parse import unquote, urlsplit

import uvloop
from rich.console import Console
from rich.table import Table

from mkoba.app import smpp_client, smpp_message_id, smpp_single_part
from mkoba.bench.smsc_peer import start_peer, stop_peer

TEXT = (
    "UKO1CZ2IBW Confirmed. Ksh1,250.00 sent to WANJIKU KAMAU 0712345678 on 24/11/26 at"
    " 9:15 AM. New M-PESA balance is Ksh12,480.50. Transaction cost, Ksh13.00."
)
receipts_timeout_s = 60.0


def _start_peer() -> tuple[subprocess.Popen[str], str]:
    process, ports = start_peer()
    # The bench reads no message back: keep the peer's memory flat.
    import httpx

    httpx.post(f"{ports.control_url}/config", json={"keep": False}, timeout=5)
    return process, ports.smpp_url


async def _measure(url: str, messages: int, window: int) -> dict[str, float]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port and parts.username
    waiting: dict[str, float] = {}
    done: list[float] = []
    all_in = asyncio.Event()

    def on_receipt(message_id: str) -> None:
        if waiting.pop(message_id, None) is not None:
            done.append(time.perf_counter())
            if len(done) == messages:
                all_in.set()

    esme = smpp_client(
        parts.hostname,
        parts.port,
        unquote(parts.username),
        unquote(parts.password or ""),
        window,
        on_receipt,
    )
    esme.start()
    fields = {
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "source_addr": "MPESA",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "registered_delivery": 1,
        **smpp_single_part(TEXT),
    }
    latencies: list[float] = []
    refused: list[int] = []
    try:
        if not await esme.wait_bound(10):
            raise SystemExit(f"could not bind to {parts.hostname}:{parts.port}")
        queue = iter(range(messages))
        started = time.perf_counter()

        async def sender() -> None:
            for index in queue:
                sent = time.perf_counter()
                # 25471xxxxxxx: clear of the peer's always-throttled test number.
                destination = f"25471{index % 10_000_000:07d}"
                result = await esme.submit(destination_addr=destination, **fields)
                latencies.append((time.perf_counter() - sent) * 1000)
                if not result.ok:
                    refused.append(result.status)
                    continue
                waiting[smpp_message_id(result.message_id)] = sent

        await asyncio.gather(*(sender() for _ in range(window)))
        submitted = time.perf_counter()
        if refused:
            raise SystemExit(f"{len(refused)} submit_sm refused, e.g. status {refused[0]:#x}")
        await asyncio.wait_for(all_in.wait(), receipts_timeout_s)
        finished = time.perf_counter()
    finally:
        await esme.stop()
    latencies.sort()
    return {
        "messages": messages,
        "window": window,
        "submit_per_s": round(messages / (submitted - started), 1),
        "done_per_s": round(messages / (finished - started), 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 2),
        "receipts_matched": len(done),
    }


def run(
    messages: int, window: int, smsc: str | None, console: Console, json_lines: bool
) -> dict[str, float]:
    """One measurement; the figures (also printed)."""
    process = None
    url = smsc
    if url is None:
        process, url = _start_peer()
    try:
        result = uvloop.run(_measure(url, messages, window))
    finally:
        if process is not None:
            stop_peer(process)
    if json_lines:
        print(json.dumps(result))
        return result
    table = Table(title=f"SMPP submit_sm with delivery receipts ({messages:,} messages)")
    for column in ("window", "submit_sm/s", "done/s (receipt in)", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    table.add_row(
        str(window),
        f"{result['submit_per_s']:,.0f}",
        f"{result['done_per_s']:,.0f}",
        f"{result['p50_ms']:.1f}",
        f"{result['p99_ms']:.1f}",
    )
    console.print(table)
    return result
