"""The double-entry ledger: accounts, transfers, pending reservations, two stores.

It knows nothing of phones or products and imports nothing of mkoba but
``money``. See docs/ledger.md for the model and its guarantees.
"""

from __future__ import annotations

from mkoba.ledger.account import Account, AccountFlags, AccountKind, Balance
from mkoba.ledger.commands import WriterError
from mkoba.ledger.engine import Engine
from mkoba.ledger.results import AccountResult, TransferResult
from mkoba.ledger.store import Snapshot, Store, StoreError, Write, WriteMode, open_store
from mkoba.ledger.transfer import (
    AMOUNT_PENDING_FULL,
    Transfer,
    TransferFlags,
    TransferRecord,
    reversal_of,
)
from mkoba.ledger.writer import LedgerWriter

__all__ = [
    "AMOUNT_PENDING_FULL",
    "Account",
    "AccountFlags",
    "AccountKind",
    "AccountResult",
    "Balance",
    "Engine",
    "LedgerWriter",
    "Snapshot",
    "Store",
    "StoreError",
    "Transfer",
    "TransferFlags",
    "TransferRecord",
    "TransferResult",
    "Write",
    "WriteMode",
    "WriterError",
    "open_store",
    "reversal_of",
]
