"""Benchmarks behind ``mkoba bench``; results are recorded in bench/RESULTS.md."""
