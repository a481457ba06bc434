"""Identifiers shaped like Daraja's: checkout, merchant request, conversation ids.

The shapes are copied (daraja.md §2.3); the values are ours. Checkout ids carry
the moment and a per-process sequence, so two pushes never share one. They are
names, not secrets (a PIN is what guards a prompt), so their random parts come
from a fast generator seeded from the OS, not from ``secrets``: an STK push
makes four of them.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import random
from zoneinfo import ZoneInfo

# Daraja's clock: its timestamps are East Africa Time.
EAT = ZoneInfo("Africa/Nairobi")
_DAYS = "123456789ABCDEFGHIJKLMNOPQRSTUV"
_random = random.Random(os.urandom(16))
_sequence = itertools.count(_random.randrange(10**6))


def now_eat(now_ns: int) -> dt.datetime:
    """``now_ns`` as East Africa Time."""
    return dt.datetime.fromtimestamp(now_ns / 1e9, EAT)


@functools.lru_cache(maxsize=8)
def _second(second: int, pattern: str) -> str:
    """One whole second in EAT, formatted: pushes of the same second share the work."""
    return dt.datetime.fromtimestamp(second, EAT).strftime(pattern)


def timestamp(now_ns: int) -> str:
    """``YYYYMMDDHHmmss`` in EAT, as Daraja stamps results."""
    return _second(now_ns // 1_000_000_000, "%Y%m%d%H%M%S")


def checkout_id(now_ns: int) -> str:
    """``ws_CO_`` + ``DDMMYYYYHHmmss`` + milliseconds, a sequence and random digits."""
    millis = now_ns // 1_000_000 % 1000
    sequence = next(_sequence) % 10**6
    return (
        f"ws_CO_{_second(now_ns // 1_000_000_000, '%d%m%Y%H%M%S')}{millis:03d}{sequence:06d}"
        f"{_random.randrange(10**4):04d}"
    )


def _hex(digits: int) -> str:
    return f"{_random.getrandbits(digits * 4):0{digits}x}"


def merchant_request_id() -> str:
    """The new style: a uuid fragment and digits (``2654-4b64-97ff-b827b542881d3130``)."""
    text = _hex(24)
    return f"{text[:4]}-{text[4:8]}-{text[8:12]}-{text[12:24]}{_random.randrange(10**7):07d}"


def conversation_id(now_ns: int) -> str:
    """``AG_`` + ``YYYYMMDD`` + ``_`` + 20 hex digits."""
    return f"AG_{now_eat(now_ns).strftime('%Y%m%d')}_{_hex(20)}"


def originator_id() -> str:
    """An ``OriginatorConversationID`` when the client gives none."""
    return merchant_request_id()


def null_receipt(now_ns: int) -> str:
    """The ``TransactionID`` of a result that moved no money: date letters + ``0000000``."""
    when = now_eat(now_ns)
    year = chr(ord("A") + (when.year - 2006) % 26)
    month = chr(ord("A") + when.month - 1)
    return f"{year}{month}{_DAYS[when.day - 1]}0000000"
