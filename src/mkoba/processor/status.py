"""Where a request and its receipt stand: one word, stored in both tables' ``status``."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """A request's (and its receipt's) state in TranProc's records."""

    # The money is reserved, waiting for the channel's delivery acknowledgement.
    PENDING = "pending"
    # Done: the money moved (or the record was kept).
    COMPLETED = "completed"
    # Refused when it was decided; nothing moved.
    FAILED = "failed"
    # Reserved, then voided: the answer was not delivered in time.
    ROLLED_BACK = "rolled_back"
