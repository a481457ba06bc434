"""The one way a benchmark stops: ``BenchError``, when it could not measure what it set out to."""

from __future__ import annotations


class BenchError(Exception):
    """A run could not measure what it set out to: a failed request, an unbalanced ledger."""
