"""The load driver of ``mkoba bench daraja``: customers pushing, back to back or paced."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import uvloop

from mkoba.bench.daraja_wire import Connection, Listener, push_body, query_body
from mkoba.bench.measure import cpu_s, machine_busy_s, phase_percentile, process_tree_cpu_s

callback_timeout_s = 10.0


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
    # CPU seconds over the phase: this load generator's, and the whole machine's busy
    # time (None where the machine does not say), so the server's is the difference.
    generator_cpu_s: float = 0.0
    machine_cpu_s: float | None = None
    # The CPU seconds of the processes this bench started (the servers, their commit
    # processes) over the phase: theirs alone, whatever else the machine runs.
    servers_cpu_s: float | None = None

    def servers_cpu_ms_per_round_trip(self) -> float | None:
        """The servers' own CPU ms per round trip (None where /proc does not say)."""
        if self.servers_cpu_s is None or not self.done:
            return None
        return self.servers_cpu_s * 1000 / self.done

    def cpu_ms_per_round_trip(self) -> tuple[float, float] | None:
        """(the rest of the machine's, the load generator's) CPU ms per round trip."""
        if self.machine_cpu_s is None or not self.done:
            return None
        rest = max(0.0, self.machine_cpu_s - self.generator_cpu_s)
        return rest * 1000 / self.done, self.generator_cpu_s * 1000 / self.done

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
        return phase_percentile(self.latencies_ms, fraction)


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
    busy_before, cpu_before = machine_busy_s(), cpu_s()
    servers_before = process_tree_cpu_s(os.getpid(), itself=False)
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
    busy_after = machine_busy_s()
    phase.generator_cpu_s = cpu_s() - cpu_before
    servers_after = process_tree_cpu_s(os.getpid(), itself=False)
    if servers_before is not None and servers_after is not None:
        phase.servers_cpu_s = servers_after - servers_before
    if busy_before is not None and busy_after is not None:
        phase.machine_cpu_s = busy_after - busy_before
    return phase


def measure(
    url: str, token: str, customers: list[int], callbacks: bool, seconds: float
) -> tuple[Phase, Phase, Phase | None]:
    """A warm-up, then saturation, then half load; pushes alone too when there are no callbacks."""
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
