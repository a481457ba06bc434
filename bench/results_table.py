"""Turn ``mkoba bench ledger --json`` lines into the markdown table of bench/RESULTS.md.

python bench/results_table.py bench/out/ledger.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    "store",
    "workload",
    "batch",
    "submit",
    "window",
    "transfers",
    "seconds",
    "commits",
    "transfers/s",
    "hot/uniform",
    "vs naive",
    "peak RSS MB",
    "load 1m",
)


def cells(row: dict[str, object]) -> list[str]:
    """One table row from one JSON line."""
    naive = row["mode"] == "naive"

    def ratio(name: str) -> str:
        value = row.get(name)
        return "" if value is None else f"{value:.2f}x"

    return [
        str(row["store"]),
        f"naive {row['shape']}" if naive else str(row["mode"]),
        "-" if naive else str(row["batch"]),
        str(row["submit_transfers"]),
        f"{row['window']:,}",
        f"{row['transfers']:,}",
        f"{row['seconds']:.2f}",
        f"{row['commits']:,}",
        f"**{row['transfers_per_s']:,.0f}**",
        ratio("hot_vs_uniform"),
        ratio("vs_naive"),
        f"{row['rss_mb']:,.0f}",
        f"{row['load_1m']:.2f}",
    ]


def main(path: str) -> None:
    """Print the table for the JSON lines in ``path``."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|")
    for row in rows:
        print("| " + " | ".join(cells(row)) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
