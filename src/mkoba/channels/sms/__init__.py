"""The SMS channel: an SMPP v3.4 ESME, delivery receipts, inbound commands, replies.

``SmsChannel`` (``channel.py``) is built by the composition root: SMPP when
``MKOBA_SMPP`` is set, the in-memory SMSC otherwise; its ``mount`` adds the
developer route that plays an inbound SMS. See docs/sms.md.
"""

from __future__ import annotations

from mkoba.channels.sms.channel import SmsChannel

__all__ = ["SmsChannel"]
