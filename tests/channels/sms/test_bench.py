"""``mkoba bench sms`` runs against the peer and matches every receipt (no speed check)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.channels.sms.peer import install

ROOT = Path(__file__).parents[3]
COMMAND = [sys.executable, "-c", "from mkoba.cli import main; main()"]


def test_the_sms_bench_matches_every_receipt() -> None:
    install()
    done = subprocess.run(
        [*COMMAND, "bench", "sms", "--messages", "300", "--window", "8", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["messages"] == result["receipts_matched"] == 300
    assert result["submit_per_s"] > 0 and result["p99_ms"] >= result["p50_ms"] > 0
