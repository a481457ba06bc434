#!/usr/bin/env bash
# The ledger benchmark as recorded in bench/RESULTS.md.
#
#   bench/ledger.sh                      # every store, batch size and workload
#   bench/ledger.sh --stores sqlite      # any `mkoba bench ledger` option passes through
#
# Prints the machine, then the table; keeps the JSON lines in bench/out/ledger.jsonl
# and their markdown table (for RESULTS.md) in bench/out/ledger.md.
set -euo pipefail
cd "$(dirname "$0")/.."
make --quiet .venv/bin/mkoba
mkdir -p bench/out

{
    echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "python: $(.venv/bin/python -c 'import platform; print(platform.python_version())')"
    echo "sqlite: $(.venv/bin/python -c 'import sqlite3; print(sqlite3.sqlite_version)')"
    echo "postgresql: $(psql --version 2>/dev/null || echo 'client not installed')"
    echo "disk: $(df -h --output=source,size,fstype . | tail -1 | xargs)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee bench/out/machine.txt

.venv/bin/mkoba bench ledger --json "$@" | tee bench/out/ledger.jsonl
.venv/bin/python bench/results_table.py bench/out/ledger.jsonl | tee bench/out/ledger.md
