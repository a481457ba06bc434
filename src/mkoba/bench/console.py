"""``mkoba bench console``: the operator console on a big store, as staff use it.

Method (bench/RESULTS.md records the figures):

- The store: ``--customers`` customers and ``--transactions`` transactions over the
  past year (``console_world``: deposits, send money and withdrawals, built through the
  ledger writer with a progress bar). ``--store DIR`` keeps it, and a later run with the
  same sizes reuses it instead of building again.
- A real ``mkoba serve`` on that store (SQLite, the console on its own port), started
  here; how long it takes to answer is ``start_s`` (it loads the directory and replays
  the ledger).
- Two members of staff of the demo world sign in with password and TOTP over the staff
  API: care (L2, who sees personal data) and finance.
- One keep-alive client, one request at a time, each audited as in production:
  ``--lookups`` searches by phone, searches by receipt and customer-360 views of random
  customers (p50/p99); the one-year full statement (PDF and CSV) of the customer with
  the most transactions; the finance pack of the store's last full day.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from mkoba.bench.console_world import Built, build
from mkoba.bench.console_year import msisdn_of
from mkoba.bench.errors import BenchError
from mkoba.bench.measure import phase_percentile
from mkoba.bench.servers import free_port
from mkoba.bench.stores import kept_or_scratch
from mkoba.staff.credentials import totp_now, totp_step_s

PASSWORD = "mkoba demo 2026"  # noqa: S105 (the demo world's staff password, in the README)
CARE, FINANCE = "care_l2", "finance"
MARKER = "built.json"
start_timeout_s = 1800.0
# Runs of the statement and the pack (the median is the figure).
slow_runs = 5
targets = {"search_p99_ms": 100.0, "customer360_p99_ms": 100.0}
target_statement_s = 1.0
target_pack_s = 5.0


@dataclass(frozen=True)
class Config:
    """One run's sizes."""

    customers: int
    transactions: int
    lookups: int
    store: Path | None


def run(config: Config, *, console: Console, json_lines: bool = False) -> dict[str, Any]:
    """Build (or reuse) the store, serve it, measure; print a table or one JSON object."""
    with kept_or_scratch(config.store, "mkoba-bench-console-") as folder:
        built = _built(folder, config, console)
        figures = _measure(folder, built, config, console)
    if json_lines:
        print(json.dumps(figures))
    else:
        _print(figures, console)
    return figures


def _built(folder: Path, config: Config, console: Console) -> Built:
    """The store in ``folder``: reused when it was built with these sizes, else built now."""
    marker = folder / MARKER
    if marker.exists():
        found = json.loads(marker.read_text())
        if (found["customers"], found["asked"]) == (config.customers, config.transactions):
            console.print(f"[dim]reusing the store in {folder}[/dim]")
            found.pop("asked")
            return Built(**found)
        console.print(f"[dim]{folder} holds another size: building again[/dim]")
    for name in ("mkoba.db", "mkoba.db-wal", "mkoba.db-shm", "keys", MARKER):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    started = time.perf_counter()
    built = asyncio.run(_build(folder, config, console))
    console.print(
        f"[dim]built {built.customers:,} customers and {built.transactions:,} transactions"
        f" in {time.perf_counter() - started:,.0f} s[/dim]"
    )
    marker.write_text(json.dumps({**asdict(built), "asked": config.transactions}))
    return built


async def _build(folder: Path, config: Config, console: Console) -> Built:
    from mkoba.app import Platform
    from mkoba.settings import Settings

    settings = Settings.model_validate(
        {"db": str(folder / "mkoba.db"), "keys_dir": folder / "keys", "demo": True}
    )
    platform = Platform(settings)
    await platform.start()
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            people = progress.add_task("customers", total=config.customers)
            money = progress.add_task("transactions", total=config.transactions)
            return await build(
                platform,
                config.customers,
                config.transactions,
                lambda n: progress.advance(people, n),
                lambda n: progress.advance(money, n),
            )
    finally:
        await platform.stop()


@contextlib.contextmanager
def _serving(folder: Path, console: Console) -> Iterator[tuple[str, float]]:
    """``mkoba serve`` on the store; the console's URL and how long it took to answer."""
    port, console_port = free_port(), free_port()
    env = dict(
        os.environ,
        MKOBA_KEYS_DIR=str(folder / "keys"),
        MKOBA_LOG_LEVEL="warning",
        MKOBA_CONSOLE_PORT=str(console_port),
    )
    command = [
        sys.executable,
        "-c",
        "from mkoba.cli import main; main()",
        "serve",
        "--db",
        str(folder / "mkoba.db"),
        "--port",
        str(port),
    ]
    url = f"http://127.0.0.1:{console_port}"
    with open(folder / "serve.log", "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    started = time.perf_counter()
    try:
        with console.status("mkoba serve is loading the store"):
            _wait_up(f"http://127.0.0.1:{port}/health", process)
        yield url, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"mkoba serve exited with {process.returncode} (see serve.log)")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.5)
    raise BenchError("mkoba serve did not come up")


def _signed_in(url: str, folder: Path, username: str) -> httpx.Client:
    """A client with ``username``'s session: password and a fresh TOTP code."""
    from mkoba.ledger import open_store
    from mkoba.staff import accounts

    store = open_store(str(folder / "mkoba.db"))
    try:
        account = accounts.by_username(store, accounts.staff_key(folder / "keys"), username)
    finally:
        store.close()
    if account is None:
        raise BenchError(f"the store has no member of staff {username!r}")
    code = _fresh_code(account.state.totp_secret, account.state.last_step)
    client = httpx.Client(base_url=url, timeout=60.0)
    answer = client.post(
        "/staff/v1/sign-in", json={"username": username, "password": PASSWORD, "code": code}
    )
    if answer.status_code != 200:
        raise BenchError(f"{username} could not sign in: {answer.status_code} {answer.text}")
    return client


def _fresh_code(secret: str, last_step: int) -> str:
    """A code of a step later than the last one accepted (each code signs in once)."""
    while True:
        now = int(time.time() // totp_step_s)
        step = max(now - 1, last_step + 1)
        if step <= now + 1:
            return totp_now(secret, step * totp_step_s)
        time.sleep(1.0)


def _timed(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise BenchError(f"GET {path} {params}: {answer.status_code} {answer.text[:200]}")
    return elapsed, answer


def _p(latencies: list[float], fraction: float) -> float:
    return round(phase_percentile([s * 1000 for s in latencies], fraction), 2)


def _measure(folder: Path, built: Built, config: Config, console: Console) -> dict[str, Any]:
    rng = random.Random(7)
    with (
        _serving(folder, console) as (url, start_s),
        contextlib.closing(_signed_in(url, folder, CARE)) as care,
        contextlib.closing(_signed_in(url, folder, FINANCE)) as finance,
    ):
        lookups = config.lookups
        indexes = [rng.randrange(built.customers) for _ in range(lookups)]
        by_phone: list[float] = []
        with console.status(f"{lookups:,} searches by phone"):
            for index in indexes:
                took, answer = _timed(
                    care, "/staff/v1/customers", {"by": "phone", "q": msisdn_of(index)}
                )
                if answer.json()[0]["id"] != built.first_customer_id + index:
                    raise BenchError(f"search by phone found the wrong customer for {index}")
                by_phone.append(took)
        by_receipt: list[float] = []
        receipts = [rng.choice(built.receipts) for _ in range(lookups)]
        with console.status(f"{lookups:,} searches by receipt"):
            for receipt in receipts:
                took, answer = _timed(care, "/staff/v1/customers", {"by": "receipt", "q": receipt})
                if not answer.json():
                    raise BenchError(f"search by receipt found nobody for {receipt}")
                by_receipt.append(took)
        views: list[float] = []
        with console.status(f"{lookups:,} customer 360 views"):
            for index in indexes:
                took, answer = _timed(
                    care, f"/staff/v1/customers/{built.first_customer_id + index}", {}
                )
                views.append(took)
        statement = _statement(care, built, console)
        pack_s, pack_transactions = _pack(finance, built, console)
    search = sorted(by_phone + by_receipt)
    return {
        "customers": built.customers,
        "transactions": built.transactions,
        "start_s": round(start_s, 1),
        "lookups": lookups,
        "search_phone_p50_ms": _p(by_phone, 0.5),
        "search_phone_p99_ms": _p(by_phone, 0.99),
        "search_receipt_p50_ms": _p(by_receipt, 0.5),
        "search_receipt_p99_ms": _p(by_receipt, 0.99),
        "search_p99_ms": _p(search, 0.99),
        "customer360_p50_ms": _p(views, 0.5),
        "customer360_p99_ms": _p(views, 0.99),
        **statement,
        "finance_pack_s": pack_s,
        "finance_pack_transactions": pack_transactions,
    }


def _year(built: Built) -> tuple[dt.date, dt.date]:
    """The local days of the store's year, ending with its last full day."""
    end = dt.datetime.fromtimestamp(built.end_ns / 1e9, ZoneInfo("Africa/Nairobi")).date()
    return end - dt.timedelta(days=365), end - dt.timedelta(days=1)


def _statement(client: httpx.Client, built: Built, console: Console) -> dict[str, Any]:
    """The busiest customer's one-year statement, PDF and CSV: the median of the runs."""
    start, end = _year(built)
    path = f"/staff/v1/customers/{built.busiest_id}/statement"
    figures: dict[str, Any] = {"statement_lines": 0, "busiest_customer_lines": built.busiest_lines}
    for kind in ("pdf", "csv"):
        runs = []
        with console.status(f"one-year {kind.upper()} statements"):
            for _ in range(slow_runs):
                params = {"start": start.isoformat(), "end": end.isoformat(), "format": kind}
                took, answer = _timed(client, path, params)
                runs.append(took)
                if kind == "csv":
                    # Four heading rows and the closing balance around the lines.
                    figures["statement_lines"] = answer.text.count("\n") - 5
        figures[f"statement_year_{kind}_s"] = round(statistics.median(runs), 3)
    figures["statement_year_s"] = max(
        figures["statement_year_pdf_s"], figures["statement_year_csv_s"]
    )
    return figures


def _pack(client: httpx.Client, built: Built, console: Console) -> tuple[float, int]:
    """The finance pack of the store's last full day: the median of the runs, and its count."""
    _, day = _year(built)
    runs = []
    count = 0
    with console.status("finance packs"):
        for _ in range(slow_runs):
            took, answer = _timed(client, "/staff/v1/finance/pack", {"day": day.isoformat()})
            runs.append(took)
            count = sum(line["transactions"] for line in answer.json()["volumes"])
    return round(statistics.median(runs), 3), count


def _print(figures: dict[str, Any], console: Console) -> None:
    table = Table(
        title=(
            f"mkoba bench console: {figures['customers']:,} customers,"
            f" {figures['transactions']:,} transactions (served in {figures['start_s']} s)"
        )
    )
    for column in ("figure", "measured", "target", "verdict"):
        table.add_column(column, justify="left" if column == "figure" else "right")

    def row(name: str, value: float, target: float | None, unit: str) -> None:
        verdict = "" if target is None else ("met" if value <= target else "NOT met")
        shown_target = "" if target is None else f"≤ {target:g} {unit}"
        table.add_row(name, f"{value:,} {unit}", shown_target, verdict)

    row("search by phone p50", figures["search_phone_p50_ms"], None, "ms")
    row("search by receipt p50", figures["search_receipt_p50_ms"], None, "ms")
    row("search p99", figures["search_p99_ms"], targets["search_p99_ms"], "ms")
    row("customer 360 p50", figures["customer360_p50_ms"], None, "ms")
    row("customer 360 p99", figures["customer360_p99_ms"], targets["customer360_p99_ms"], "ms")
    row(
        f"one-year statement PDF ({figures['statement_lines']:,} lines)",
        figures["statement_year_pdf_s"],
        target_statement_s,
        "s",
    )
    row("one-year statement CSV", figures["statement_year_csv_s"], target_statement_s, "s")
    row(
        f"finance pack ({figures['finance_pack_transactions']:,} transactions that day)",
        figures["finance_pack_s"],
        target_pack_s,
        "s",
    )
    console.print(table)
