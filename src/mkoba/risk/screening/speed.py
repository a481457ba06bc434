"""How fast screening is on a list of a realistic size: a function for a bench, not a test.

``measure(20_000)`` builds a synthetic list (made-up names from syllables, two or three
aliases each, like the UN list's shape), screens ``names`` names against it and returns
the timings. Nothing here is asserted: the lead calls it from ``bench/`` and records it.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

from mkoba.risk.screening.entries import Entry, Kind
from mkoba.risk.screening.matcher import Screener

_SYLLABLES = (
    "ka", "ma", "wa", "ni", "ji", "ku", "ta", "ri", "mo", "ha", "sa", "na", "di", "be", "lo",
    "ze", "fu", "go", "pi", "ye", "cha", "ngu", "mbi", "ste", "vla", "dim", "ser", "gei", "ab",
    "dul", "rah", "man", "al", "ib", "ra", "him", "ol", "ga", "ti", "mu",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Timing:
    """Screening speed on a synthetic list: build time and per-name latency in milliseconds."""

    entries: int
    names_screened: int
    build_ms: float
    median_ms: float
    p95_ms: float
    max_ms: float
    matches: int


def _word(chooser: random.Random) -> str:
    return "".join(chooser.choice(_SYLLABLES) for _ in range(chooser.randint(2, 4))).title()


def synthetic_entries(count: int, seed: int = 19) -> list[Entry]:
    """``count`` made-up entries of two to four tokens, most with aliases."""
    chooser = random.Random(seed)
    entries = []
    for index in range(count):
        name = " ".join(_word(chooser) for _ in range(chooser.randint(2, 4)))
        aliases = tuple(
            " ".join(_word(chooser) for _ in range(chooser.randint(2, 3)))
            for _ in range(chooser.randint(0, 3))
        )
        kind = Kind.PEP if index % 4 == 0 else Kind.SANCTION
        entries.append(Entry(f"SYN-{index}", name, aliases, kind, "synthetic"))
    return entries


def measure(count: int = 20_000, names: int = 500, seed: int = 19) -> Timing:
    """Build a screener over ``count`` synthetic entries and time ``names`` screenings.

    Half the names screened are listed names with one letter changed (they should match),
    half are fresh made-up names (they mostly should not).
    """
    entries = synthetic_entries(count, seed)
    started = time.perf_counter()
    screener = Screener(entries)
    build_ms = (time.perf_counter() - started) * 1000
    chooser = random.Random(seed + 1)
    queries = []
    for index in range(names):
        if index % 2:
            queries.append(" ".join(_word(chooser) for _ in range(chooser.randint(2, 3))))
            continue
        listed = chooser.choice(entries).name
        at = chooser.randrange(len(listed))
        queries.append(listed[:at] + "x" + listed[at + 1 :])
    latencies = []
    matches = 0
    for query in queries:
        started = time.perf_counter()
        matches += len(screener.screen(query))
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return Timing(
        count,
        names,
        round(build_ms, 1),
        round(statistics.median(latencies), 3),
        round(latencies[int(len(latencies) * 0.95) - 1], 3),
        round(latencies[-1], 3),
        matches,
    )
