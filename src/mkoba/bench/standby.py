"""``mkoba bench standby``: how long a standby core takes to take over a large ledger.

Method (bench/RESULTS.md records the figures):

- The store: a PostgreSQL schema with ``--customers`` customers and
  ``--transactions`` transactions (``console_world``, built once through the ledger
  writer; ``--store DIR`` keeps its keys and a marker, and a later run of the same
  sizes reuses the schema).
- Real ``mkoba serve --role core`` processes on that schema and a NATS bus of the
  bench's own. The first core loads the ledger (its start is ``first_start_s``).
- Each takeover: a standby starts, cold (``MKOBA_STANDBY_WARM=false``: it loads
  only once it holds the lease, as before) or warm (it loads while standing by;
  ``warm_load_s`` is how long that took); once it stands by (warm: loaded), the
  active core sends ``--sends`` send-money requests that commit after the standby
  loaded, then is killed with SIGKILL. ``lease_s``: until the standby says it took
  the lease; ``takeover_s``: until a send-money through the standby succeeds. The
  standby is then the active core for the next takeover.
- Cold and warm alternate, ``--rounds`` of each, in one run: the ratio is of the
  sums of their ``takeover_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from mkoba.bench.console_world import PIN, build
from mkoba.bench.console_year import msisdn_of
from mkoba.bench.errors import BenchError
from mkoba.bench.servers import bench_bus, drop_stream, free_port
from mkoba.bench.stores import kept_or_scratch
from mkoba.parties.handsets import HandsetKey

MARKER = "standby.json"
# A core's start (cold, a large ledger) and a standby's warm load, at most.
start_timeout_s = 1800.0
# After the kill: a takeover must be done by then, or the run fails.
takeover_timeout_s = 600.0
poll_s = 0.05
FORMS = ("cold", "warm")


@dataclass(frozen=True)
class Config:
    """One run's sizes and servers."""

    customers: int
    transactions: int
    db: str  # postgresql://... (the schema is the bench's own)
    nats: str
    rounds: int
    sends: int
    store: Path | None


@dataclass
class Takeover:
    """One takeover's figures (seconds)."""

    form: str
    round: int
    warm_load_s: float
    lease_s: float
    takeover_s: float


def run(config: Config, *, console: Console, json_lines: bool = False) -> dict[str, Any]:
    """Build (or reuse) the schema, run the takeovers; print a table or one JSON object."""
    with kept_or_scratch(config.store, "mkoba-bench-standby-") as folder:
        schema = _built(folder, config, console)
        url = f"{config.db}{'&' if '?' in config.db else '?'}schema={schema}"
        figures = _measure(folder, url, config, console)
    if json_lines:
        print(json.dumps(figures))
    else:
        _print(figures, console)
    return figures


def _built(folder: Path, config: Config, console: Console) -> str:
    """The schema for these sizes: reused when ``folder`` says it was built, else built now."""
    marker = folder / MARKER
    sizes = {"customers": config.customers, "transactions": config.transactions}
    if marker.exists():
        found = json.loads(marker.read_text())
        if {key: found[key] for key in sizes} == sizes:
            console.print(f"[dim]reusing schema {found['schema']}[/dim]")
            return str(found["schema"])
    schema = f"bench_standby_{uuid.uuid4().hex[:8]}"
    url = f"{config.db}{'&' if '?' in config.db else '?'}schema={schema}"
    started = time.perf_counter()
    with console.status(f"building {config.customers:,} customers in {schema}"):
        made = asyncio.run(_build(folder, url, config))
    console.print(
        f"[dim]built {config.customers:,} customers and {made:,} transactions"
        f" in {time.perf_counter() - started:,.0f} s[/dim]"
    )
    marker.write_text(json.dumps({**sizes, "schema": schema}))
    return schema


async def _build(folder: Path, url: str, config: Config) -> int:
    from mkoba.app import Platform
    from mkoba.settings import Settings

    settings = Settings.model_validate({"db": url, "keys_dir": folder / "keys", "demo": True})
    platform = Platform(settings)
    await platform.start()
    try:
        built = await build(
            platform, config.customers, config.transactions, lambda _: None, lambda _: None
        )
    finally:
        await platform.stop()
    return built.transactions


@dataclass
class _Core:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def health(self) -> dict[str, Any]:
        try:
            return dict(httpx.get(f"{self.url}/health", timeout=2).json())
        except (httpx.HTTPError, ValueError):
            return {}

    def ready(self) -> bool:
        """What a load balancer asks (``/health/ready``): a standby is not ready."""
        try:
            return httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-1500:]
            raise BenchError(f"{self.name} exited with {self.process.returncode}: {tail}")


def _measure(folder: Path, url: str, config: Config, console: Console) -> dict[str, Any]:
    bus = bench_bus(config.nats)
    cores: list[_Core] = []
    try:
        started = time.perf_counter()
        active = _serve(folder, url, bus, "core-first", warm=True, cores=cores)
        with console.status("the first core loads the ledger"):
            _until_sends(folder, active, 1, time.monotonic() + start_timeout_s)
        first_start_s = time.perf_counter() - started
        takeovers: list[Takeover] = []
        for number in range(config.rounds):
            for form in FORMS:
                with console.status(f"round {number + 1}: {form} standby"):
                    standby, taken = _takeover(
                        folder, url, bus, active, form, number, config, cores
                    )
                takeovers.append(taken)
                console.print(f"[dim]{form}: {taken}[/dim]")
                active = standby
    finally:
        for core in cores:
            _end(core.process)
        with contextlib.suppress(Exception):
            asyncio.run(drop_stream(bus))
    return _figures(config, first_start_s, takeovers)


def _takeover(
    folder: Path,
    url: str,
    bus: str,
    active: _Core,
    form: str,
    number: int,
    config: Config,
    cores: list[_Core],
) -> tuple[_Core, Takeover]:
    """Start a standby of ``form``, let the active commit, kill it: the standby's figures."""
    standby = _serve(folder, url, bus, f"{form}-{number}", warm=form == "warm", cores=cores)
    deadline = time.monotonic() + start_timeout_s
    while not _standing_by(standby.health(), warm=form == "warm"):
        standby.alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{standby.name} never stood by")
        time.sleep(0.2)
    warm = standby.health()["parts"]["lease"].get("warm", {})
    _until_sends(folder, active, config.sends, time.monotonic() + 60)
    active.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    active.process.wait()
    lease_s = 0.0
    deadline = killed + takeover_timeout_s
    while not lease_s:
        standby.alive()
        state = standby.health()
        if state.get("status") != "standby" or state["parts"]["lease"]["state"] == "starting":
            lease_s = time.monotonic() - killed
        elif time.monotonic() > deadline:
            raise BenchError(f"{standby.name} never took the lease")
        else:
            time.sleep(poll_s)
    _until_sends(folder, standby, 1, deadline)
    taken = Takeover(
        form, number + 1, float(warm.get("load_s", 0.0)), lease_s, time.monotonic() - killed
    )
    return standby, taken


def _standing_by(health: dict[str, Any], *, warm: bool) -> bool:
    if health.get("status") != "standby":
        return False
    lease = health["parts"]["lease"]
    return not warm or lease.get("warm", {}).get("state") == "warm"


def _until_sends(folder: Path, core: _Core, count: int, deadline: float) -> None:
    """Until ``core`` is ready and ``count`` send-money requests through it have succeeded."""
    while not core.ready():
        core.alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{core.name} was not ready in time")
        time.sleep(poll_s)
    keys = HandsetKey.load_or_create(folder / "keys")
    payer, payee = msisdn_of(0), msisdn_of(1)
    header = keys.credential(payer).header()
    body = {"msisdn": payer, "pin": PIN, "to": payee, "amount": "1"}
    done = 0
    while done < count:
        core.alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{core.name}: send money did not succeed in time")
        try:
            answer = httpx.post(
                f"{core.url}/api/v1/send-money", json=body, headers=header, timeout=5
            )
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 200:
            done += 1
        elif answer is not None and answer.status_code not in (502, 503, 504):
            raise BenchError(f"send money through {core.name}: {answer.status_code} {answer.text}")
        else:
            time.sleep(poll_s)


def _serve(folder: Path, url: str, bus: str, name: str, *, warm: bool, cores: list[_Core]) -> _Core:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
    env |= {
        "MKOBA_KEYS_DIR": str(folder / "keys"),
        "MKOBA_MAIL_DIR": str(folder / "mail"),
        "MKOBA_CONSOLE_PORT": "0",
        "MKOBA_DEMO": "false",
        "MKOBA_LOG_LEVEL": "warning",
        "MKOBA_BUS": bus,
        "MKOBA_ROLE": "core",
        "MKOBA_STANDBY_WARM": "true" if warm else "false",
        "MKOBA_RISK_RULES": "false",  # the failover measured, not the rules
    }
    log = folder / f"{name}.log"
    command = [sys.executable, "-c", "from mkoba.cli import main; main()", "serve"]
    with open(log, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [*command, "--db", url, "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    core = _Core(name, f"http://127.0.0.1:{port}", process, log)
    cores.append(core)
    return core


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _figures(config: Config, first_start_s: float, takeovers: list[Takeover]) -> dict[str, Any]:
    sums = {form: sum(t.takeover_s for t in takeovers if t.form == form) for form in FORMS}
    return {
        "customers": config.customers,
        "transactions": config.transactions,
        "rounds": config.rounds,
        "first_start_s": round(first_start_s, 2),
        "takeovers": [asdict(t) for t in takeovers],
        "cold_takeover_s_median": statistics.median(
            t.takeover_s for t in takeovers if t.form == "cold"
        ),
        "warm_takeover_s_median": statistics.median(
            t.takeover_s for t in takeovers if t.form == "warm"
        ),
        "warm_over_cold": round(sums["warm"] / sums["cold"], 3) if sums["cold"] else None,
    }


def _print(figures: dict[str, Any], console: Console) -> None:
    table = Table(title=f"standby takeover, {figures['customers']:,} customers")
    for column in ("round", "form", "warm load s", "lease s", "takeover s"):
        table.add_column(column, justify="right")
    for taken in figures["takeovers"]:
        table.add_row(
            str(taken["round"]),
            taken["form"],
            f"{taken['warm_load_s']:.1f}",
            f"{taken['lease_s']:.2f}",
            f"{taken['takeover_s']:.2f}",
        )
    console.print(table)
    console.print(
        f"first core's start {figures['first_start_s']:.1f} s; warm / cold takeover"
        f" {figures['warm_over_cold']}"
    )
