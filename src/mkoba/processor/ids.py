"""Numbers the processor hands out: request numbers, ledger transfer ids, receipts.

Every request gets a number. Its ledger transfers, outbox messages and receipt
derive from that number, so a retried step always reuses the same ids and the
ledger's idempotency makes it happen at most once.
"""

from __future__ import annotations

import datetime as dt
import itertools

# Ledger transfer ids of request n: n * 32 + slot.
legs_max = 8
_SLOTS = 32
_PENDING, _POST, _VOID, _DIRECT = 0, 8, 16, 24
# Transfers not numbered by the processor (the Daraja demo's funding) take ids from here
# up, far above any request number's.
unnumbered_id_base = 1 << 61

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPACE = 36**7
# Multiplying by a number prime to 36**7 permutes the receipt space, so receipts
# look random to customers yet never repeat within 78 billion requests.
_SCRAMBLE = 1_000_003
_OFFSET = 48_271_337
_DAYS = "123456789ABCDEFGHIJKLMNOPQRSTUV"


def leg_id(number: int, leg: int, kind: str) -> int:
    """The ledger id of leg ``leg`` of request ``number``: pending, post, void or direct."""
    assert 0 <= leg < legs_max
    base = {"pending": _PENDING, "post": _POST, "void": _VOID, "direct": _DIRECT}[kind]
    return number * _SLOTS + base + leg


def receipt_id(number: int, when: dt.datetime) -> str:
    """An M-Pesa-style receipt: year, month and day letters, then seven scrambled characters.

    2024 receipts start with S, 2025 with T, 2026 with U, as M-Pesa's do.
    """
    year = chr(ord("A") + (when.year - 2006) % 26)
    month = chr(ord("A") + when.month - 1)
    day = _DAYS[when.day - 1]
    value = (number * _SCRAMBLE + _OFFSET) % _SPACE
    tail = []
    for _ in range(7):
        value, digit = divmod(value, 36)
        tail.append(_BASE36[digit])
    return year + month + day + "".join(reversed(tail))


def last_number(highest_request: int, highest_transfer_id: int) -> int:
    """The highest number used: by a stored request, or by money moved without one.

    Postings (float moves, demo history) take numbers without a request row; their
    transfers still carry them, so a restarted counter never hands one out again.
    """
    assert 0 <= highest_transfer_id < unnumbered_id_base
    return max(highest_request, highest_transfer_id // _SLOTS)


class Counter:
    """Request numbers: monotonic, starting after the highest one used."""

    def __init__(self, last: int) -> None:
        self._numbers = itertools.count(last + 1)

    def next(self) -> int:
        """The next request number."""
        return next(self._numbers)
