"""``mkoba bench daraja``: STK push to callback round trips, beside the stateless daraja-mock.

Method (bench/RESULTS.md records the figures):

- A real ``mkoba serve`` (uvicorn, SQLite in a temporary directory, demo data),
  started here on a free port, the sandbox answering every demo customer's
  prompt at once (``daraja_sandbox_msisdns=2547120*``, no delay) with the PIN.
- Each virtual client is one demo customer with money and one keep-alive
  connection: it pushes KES 1 to paybill 174379 and waits for the
  ``stkCallback`` at a loopback listener in this process. A round trip is
  push sent to callback received: HTTP, OAuth-checked push, the prompt stored,
  the PIN checked by TranProc, the payment committed and posted, the callback
  rendered in the commit, sent from the outbox, received.
- Phase 1 (saturation): ``--clients`` clients back to back: round trips per second.
- Phase 2 (half load): paced to half that rate; p99 there is the service figure.
- The peer, daraja-mock 1.0.5 (from PyPI, installed only as a peer into
  ``var/bench-peers``; its licence forbids copying its code), runs the same
  clients. It stores nothing and sends no callback, so a client learns a
  push's outcome by querying: its round trip is the push and the STK query
  (``tx_per_s``); its push answers alone are reported too (``push_per_s``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop
from rich.console import Console
from rich.table import Table

CUSTOMERS = 1000
FIRST_CUSTOMER = 254712000001
PIN = "1357"
SHORTCODE = "174379"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
CONSUMER_KEY = "mkobaSandboxConsumerKey0000000000000000000000001"
CONSUMER_SECRET = "mkobaSandboxConsumerSecret000000000000000000000000000000000000001"  # noqa: S105
PEER = "daraja-mock==1.0.5"
PEERS_DIR = Path("var/bench-peers/daraja-mock-1.0.5")
# A client holds at least this (minor units): thousands of KES 1 pushes.
FUNDS_MIN = 500_000
start_timeout_s = 90.0
callback_timeout_s = 10.0
header_bytes_max = 16 * 1024
_RESULT_CODE = re.compile(rb'"ResultCode"\s*:\s*"?(-?[0-9]+)')


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    seconds: float
    done: int = 0
    failed: int = 0
    pushes: int = 0
    # Why round trips failed, and how often ("push HTTP 500", "callback ResultCode 1", ...).
    failures: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def per_s(self) -> float:
        """Round trips completed per second."""
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def pushes_per_s(self) -> float:
        """STK pushes answered per second."""
        return self.pushes / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """A latency percentile (ms)."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_up(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + path, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path, url: str, path: str
) -> Iterator[str]:
    with open(log, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_up(url, process, path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serve_mkoba(folder: Path, role: str = "all", bus: str = "memory") -> Iterator[str]:
    """``mkoba serve`` answering the demo customers' prompts at once."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MKOBA_")}
    env.update(
        MKOBA_KEYS_DIR=str(folder / "keys"),
        MKOBA_LOG_LEVEL="warning",
        MKOBA_DARAJA_SANDBOX_MSISDNS="2547120*",
        MKOBA_DARAJA_AUTO_ANSWER_S="0",
        MKOBA_BUS=bus,
        MKOBA_ROLE=role,
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
    log = folder / f"serve-{role}.log"
    with _process(command, env, log, f"http://127.0.0.1:{port}", "/health") as url:
        yield url


@contextlib.contextmanager
def serve_split(folder: Path, server: str) -> Iterator[str]:
    """A core and a front on a NATS bus of the run's own (its stream deleted after)."""
    bus = f"{server.rstrip('/')}/mkoba-bench-{os.getpid()}"
    try:
        with serve_mkoba(folder, "core", bus), serve_mkoba(folder, "front", bus) as url:
            yield url
    finally:
        uvloop.run(_drop_stream(bus))


async def _drop_stream(url: str) -> None:
    from mkoba.bus.jetstream import NatsBus

    bus = NatsBus(url)
    await bus.connect()
    try:
        await bus.client.jetstream().delete_stream(bus.stream)
    finally:
        await bus.close()


def peer_python(console: Console) -> Path:
    """The peer's interpreter: a venv of its own under var/, made on first use."""
    python = PEERS_DIR / "bin" / "python"
    if python.exists():
        return python
    console.print(f"[dim]installing {PEER} into {PEERS_DIR} (a benchmark peer only)[/dim]")
    PEERS_DIR.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_DIR)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [str(python), "-m", "pip", "install", "--quiet", PEER], check=True
    )
    return python


@contextlib.contextmanager
def serve_peer(folder: Path, console: Console) -> Iterator[str]:
    """daraja-mock on a free port."""
    python = peer_python(console)
    port = _free_port()
    command = [str(python), "-m", "daraja_mock", "--port", str(port)]
    env = dict(os.environ)
    with _process(command, env, folder / "peer.log", f"http://127.0.0.1:{port}", "/health") as url:
        yield url


class Listener:
    """The businesses' callback receiver: one waiter per client, by path ``/cb/<client>``."""

    def __init__(self) -> None:
        self.waiters: dict[int, asyncio.Future[str]] = {}
        self.early: dict[int, str] = {}
        self.server: asyncio.Server | None = None
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening, and hang up on the server's open connections."""
        for writer in list(self._writers):
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def expect(self, client: int) -> asyncio.Future[str]:
        """A future for the ResultCode of the client's next callback ("0": paid)."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if client in self.early:
            future.set_result(self.early.pop(client))
        else:
            self.waiters[client] = future
        return future

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 36\r\n\r\n{"ResultCode":0,"ResultDesc":"Done"}'
                )
                client = int(path.rsplit("/", 1)[1])
                found = _RESULT_CODE.search(body)
                code = found.group(1).decode() if found else "missing"
                future = self.waiters.pop(client, None)
                if future is None:
                    self.early[client] = code
                elif not future.done():
                    future.set_result(code)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class Connection:
    """One keep-alive connection POSTing JSON with a bearer token."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        """Disconnect."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    async def post(self, path: str, body: bytes) -> int:
        """POST ``body``; the status (the answer is read and dropped)."""
        assert self.reader is not None and self.writer is not None
        if self.writer.is_closing():
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        if len(raw) > header_bytes_max:
            raise ConnectionError("headers too long")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
            await self.open()
        return status


def push_body(msisdn: int, callback: str) -> bytes:
    """A KES 1 push; any timestamp is valid with its own password, so one body serves all."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{SHORTCODE}{PASSKEY}{stamp}".encode()).decode()
    return json.dumps(
        {
            "BusinessShortCode": SHORTCODE,
            "Password": password,
            "Timestamp": stamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 1,
            "PartyA": str(msisdn),
            "PartyB": SHORTCODE,
            "PhoneNumber": str(msisdn),
            "CallBackURL": callback,
            "AccountReference": "BENCH",
            "TransactionDesc": "Bench",
        }
    ).encode()


def query_body() -> bytes:
    """An STK query (the peer answers any; it keeps no checkout ids)."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{SHORTCODE}{PASSKEY}{stamp}".encode()).decode()
    return json.dumps(
        {
            "BusinessShortCode": SHORTCODE,
            "Password": password,
            "Timestamp": stamp,
            "CheckoutRequestID": "ws_CO_000000000000000000000000000",
        }
    ).encode()


async def _client(
    index: int,
    msisdn: int,
    url: str,
    token: str,
    listener: Listener | None,
    phase: Phase,
    stop_at: float,
    interval_s: float,
    clients: int,
    ask: bool,
) -> None:
    """One customer pushing back to back (or paced) until ``stop_at``.

    With a listener the round trip ends at the callback; without one it ends at the
    STK query's answer (``ask``) or at the push's own answer.
    """
    host, port = url.split("//", 1)[1].split(":")
    connection = Connection(host, int(port), token)
    await connection.open()
    port_of_listener = listener.port if listener is not None else 1
    body = push_body(msisdn, f"http://127.0.0.1:{port_of_listener}/cb/{index}")
    query = query_body()
    # Paced clients start spread over one interval, so that they do not push in bursts.
    next_at = time.perf_counter() + interval_s * index / max(1, clients)
    try:
        while time.perf_counter() < stop_at:
            if interval_s:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at + interval_s, time.perf_counter() - interval_s)
            started = time.perf_counter()
            waiting = listener.expect(index) if listener is not None else None
            status = await connection.post("/mpesa/stkpush/v1/processrequest", body)
            phase.pushes += 1
            failure = None if status == 200 else f"push HTTP {status}"
            if waiting is not None and listener is not None:
                if failure is None:
                    try:
                        code = await asyncio.wait_for(waiting, callback_timeout_s)
                        failure = None if code == "0" else f"callback ResultCode {code}"
                    except TimeoutError:
                        failure = f"no callback in {callback_timeout_s:g} s"
                listener.waiters.pop(index, None)
            elif failure is None and ask:
                # No callback from this server: the client asks for the outcome instead.
                status = await connection.post("/mpesa/stkpushquery/v1/query", query)
                failure = None if status == 200 else f"query HTTP {status}"
            if failure is None:
                phase.done += 1
                phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                phase.failed += 1
                phase.failures[failure] += 1
                await asyncio.sleep(0.01)
    finally:
        await connection.close()


async def _phase(
    name: str,
    url: str,
    token: str,
    customers: list[int],
    callbacks: bool,
    seconds: float,
    rate: float,
    ask: bool = True,
) -> Phase:
    phase = Phase(name, seconds)
    listener = Listener() if callbacks else None
    if listener is not None:
        await listener.start()
    interval_s = len(customers) / rate if rate else 0.0
    started = time.perf_counter()
    try:
        await asyncio.gather(
            *(
                _client(
                    i,
                    msisdn,
                    url,
                    token,
                    listener,
                    phase,
                    started + seconds,
                    interval_s,
                    len(customers),
                    ask,
                )
                for i, msisdn in enumerate(customers)
            )
        )
    finally:
        if listener is not None:
            await listener.close()
    phase.seconds = time.perf_counter() - started
    return phase


async def _customers(url: str, count: int) -> list[int]:
    """Demo customers with money (read through the native API, untimed)."""
    found: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        for start in range(0, CUSTOMERS, 50):
            numbers = [FIRST_CUSTOMER + i for i in range(start, min(CUSTOMERS, start + 50))]
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/balance", json={"msisdn": str(n), "pin": PIN})
                    for n in numbers
                )
            )
            for number, answer in zip(numbers, answers, strict=True):
                ok = answer.status_code == 200
                if ok and answer.json()["data"]["balance_minor"] >= FUNDS_MIN:
                    found.append(number)
            if len(found) >= count:
                return found[:count]
    if not found:
        raise RuntimeError("no demo customer has money")
    return found


def _token(url: str) -> str:
    answer = httpx.get(
        f"{url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
        timeout=10.0,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _measure(
    url: str, token: str, customers: list[int], callbacks: bool, seconds: float
) -> tuple[Phase, Phase, Phase | None]:
    uvloop.run(_phase("warm-up", url, token, customers, callbacks, min(2.0, seconds), 0.0))
    saturated = uvloop.run(_phase("saturation", url, token, customers, callbacks, seconds, 0.0))
    half = uvloop.run(
        _phase("half load", url, token, customers, callbacks, seconds, saturated.per_s / 2)
    )
    pushes = None
    if not callbacks:
        # The peer's push answers alone, for the record.
        pushes = uvloop.run(
            _phase("pushes only", url, token, customers, False, seconds, 0.0, ask=False)
        )
    return saturated, half, pushes


def _figures(saturated: Phase, half: Phase, pushes: Phase | None) -> dict[str, object]:
    return {
        "tx_per_s": round(saturated.per_s, 1),
        "push_per_s": round((pushes or saturated).pushes_per_s, 1),
        "p99_ms": round(half.percentile(0.99), 2),
        "p50_ms": round(half.percentile(0.50), 2),
        "half_load_tx_per_s": round(half.per_s, 1),
        "saturated_p50_ms": round(saturated.percentile(0.50), 2),
        "saturated_p99_ms": round(saturated.percentile(0.99), 2),
        "failed": saturated.failed + half.failed,
        "failures": dict(saturated.failures + half.failures),
    }


def run(
    seconds: float,
    clients: int,
    peer: bool,
    console: Console,
    json_lines: bool,
    split: str | None = None,
) -> dict[str, object]:
    """Both servers, both phases; the figures (also printed).

    ``split``: a NATS server URL; mkoba then runs as a core and a front process.
    """
    with tempfile.TemporaryDirectory(prefix="mkoba-bench-daraja-") as name:
        folder = Path(name)
        serving = serve_split(folder, split) if split else serve_mkoba(folder)
        with serving as url:
            customers = uvloop.run(_customers(url, clients))
            ours = _measure(url, _token(url), customers, True, seconds)
        theirs = None
        if peer:
            with serve_peer(folder, console) as url:
                theirs = _measure(url, "mock", customers, False, seconds)
    result: dict[str, object] = {
        "what": "STK push until the client knows the outcome: the callback (mkoba),"
        " the STK query after the push (daraja-mock, which sends none)",
        **_figures(*ours),
        "clients": len(customers),
        "seconds": seconds,
        "processes": "core + front on NATS" if split else "one",
    }
    if theirs is not None:
        peer_figures = _figures(*theirs)
        result["peer"] = {"name": PEER, **peer_figures}
        result["ratio"] = round(ours[0].per_s / max(theirs[0].per_s, 1e-9), 2)
        push_only = theirs[2] or theirs[0]
        result["ratio_to_push_answers"] = round(
            ours[0].per_s / max(push_only.pushes_per_s, 1e-9), 2
        )
    if json_lines:
        print(json.dumps(result))
        return result
    table = Table(
        title="STK push until the outcome is known: mkoba (callback), daraja-mock (query)"
    )
    for column in ("server", "phase", "round trips/s", "pushes/s", "p50 ms", "p99 ms", "failed"):
        table.add_column(column, justify="right")
    for server, phases in (("mkoba", ours), (PEER, theirs)):
        if phases is None:
            continue
        for phase in phases:
            if phase is None:
                continue
            table.add_row(
                server,
                phase.name,
                f"{phase.per_s:,.0f}",
                f"{phase.pushes_per_s:,.0f}",
                f"{phase.percentile(0.5):.1f}",
                f"{phase.percentile(0.99):.1f}",
                str(phase.failed),
            )
    console.print(table)
    for server, phases in (("mkoba", ours), (PEER, theirs)):
        failures: Counter[str] = sum(
            (phase.failures for phase in phases or () if phase is not None), Counter()
        )
        if failures:
            reasons = ", ".join(f"{reason}: {count}" for reason, count in failures.most_common())
            console.print(f"{server} failures: {reasons}")
    if "ratio" in result:
        console.print(
            f"mkoba / daraja-mock: {result['ratio']}x round trips"
            f" ({result['ratio_to_push_answers']}x its push answers alone)"
        )
    return result
