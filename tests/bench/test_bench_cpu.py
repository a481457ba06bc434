"""What the Daraja benchmark says of CPU: the machine's busy time, split per round trip."""

from __future__ import annotations

import time

from mkoba.bench.daraja_phases import Phase
from mkoba.bench.measure import cpu_s, machine_busy_s


def test_the_machine_busy_time_counts_this_process_working() -> None:
    before, mine = machine_busy_s(), cpu_s()
    assert before is not None  # Linux: /proc/stat
    # Work until this process has had 0.3 s of CPU (other processes may share the cores).
    deadline = time.perf_counter() + 30
    while cpu_s() - mine < 0.3 and time.perf_counter() < deadline:
        pass
    after = machine_busy_s()
    assert after is not None
    spent = cpu_s() - mine
    assert spent >= 0.3
    # The machine was busy at least while this process was (ticks are 10 ms).
    assert after - before >= spent - 0.05


def test_cpu_per_round_trip_splits_the_generator_from_the_rest() -> None:
    phase = Phase("saturation", 10.0, done=1_000, generator_cpu_s=0.5, machine_cpu_s=2.5)
    assert phase.cpu_ms_per_round_trip() == (2.0, 0.5)
    assert Phase("x", 1.0, done=0, machine_cpu_s=1.0).cpu_ms_per_round_trip() is None
    assert Phase("x", 1.0, done=5).cpu_ms_per_round_trip() is None
