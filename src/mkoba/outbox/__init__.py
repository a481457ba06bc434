"""The outbox: messages committed with the money, sent afterwards, delivery recorded.

``OutboxSender`` polls due rows, hands each to the gateway for its channel,
and records the outcome through the ledger writer (the one write path), with
retries and backoff. Gateways: the in-memory SMSC (embedded default; what
``mkoba phone`` and GET /api/v1/sms read), SMPP (channels/sms), HTTP callbacks
(channels/daraja).
"""

from __future__ import annotations

from mkoba.outbox.gateway import Delivery, Gateway, Message
from mkoba.outbox.memory import MemorySmsc
from mkoba.outbox.sender import OutboxSender

__all__ = ["Delivery", "Gateway", "MemorySmsc", "Message", "OutboxSender"]
