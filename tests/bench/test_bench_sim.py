"""``mkoba bench sim`` carries secured SIM transactions end to end, and says so in JSON.

No speed is checked here (bench/RESULTS.md holds the figures): two SIMs send money
through the SMSC peer and a real ``mkoba serve`` for a second, every transaction
comes back with PoR OK and code ok, and the one JSON object has the figures the
issue asks for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.channels.sms.peer import install

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
COMMAND = [sys.executable, "-c", "from mkoba.cli import main; main()"]


def test_the_sim_bench_completes_every_transaction_and_prints_its_figures() -> None:
    install()  # the npm SMSC peer the bench starts
    done = subprocess.run(
        [*COMMAND, "bench", "sim", "--users", "2", "--seconds", "1", "--rounds", "1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (result,) = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert result["failed"] == 0, result["failures"]
    assert result["failures"] == {}
    assert result["done"] > 0 and result["users"] == 2
    assert result["tx_per_s"] > 0 and result["p99_ms"] >= result["p50_ms"] > 0, result
    # Each transaction went through the SMSC: the SIM's request in, its answer out.
    assert result["deliver_sm_per_tx"] >= 1 and result["submit_sm_per_tx"] >= 1, result
