"""``mkoba bench app`` pays codes through the app beside native sends, and says so in JSON.

No speed is checked here (bench/RESULTS.md holds the figures): every payment of
every mode succeeds, each mode prints its object, and the last object is the
ratio of the two the issue compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
COMMAND = [sys.executable, "-c", "from mkoba.cli import main; main()"]


def test_the_app_bench_pays_every_code_and_prints_the_ratio() -> None:
    done = subprocess.run(
        [*COMMAND, "bench", "app", "--users", "2", "--seconds", "1", "--rounds", "1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_mode = {line["mode"]: line for line in lines if "mode" in line}
    assert set(by_mode) == {"native", "app", "app_flow"}
    for mode, line in by_mode.items():
        assert line["failed"] == 0, (mode, line["failures"])
        assert line["tx_per_s"] > 0 and line["p99_ms"] >= line["p50_ms"] > 0, line
    ratio = lines[-1]["app_vs_native"]
    expected = by_mode["app"]["tx_per_s"] / by_mode["native"]["tx_per_s"]
    assert ratio == pytest.approx(expected, abs=0.001)
