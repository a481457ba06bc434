"""SMSC delivery receipts: which message, and did it reach the phone.

Receipts say it twice, in TLVs (``receipted_message_id``, ``message_state``)
and in the SMPP 3.4 Appendix B text (``id:… stat:DELIVRD err:000 …``); SMSCs
differ in which they fill, so both are read, TLVs first. Message ids come back
in hex on some SMSCs and in decimal on others: ``id_forms`` gives every form
an id may take so the lookup finds it.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

from mkoba.channels.sms.esme import Inbound


class Fate(enum.StrEnum):
    """What a receipt says happened to a message."""

    DELIVERED = "delivered"
    FAILED = "failed"
    # Not final yet (enroute, accepted, unknown): wait for the next receipt.
    PENDING = "pending"


# message_state TLV values (SMPP 3.4 §5.2.28).
_STATES = {
    1: Fate.PENDING,  # ENROUTE
    2: Fate.DELIVERED,
    3: Fate.FAILED,  # EXPIRED
    4: Fate.FAILED,  # DELETED
    5: Fate.FAILED,  # UNDELIVERABLE
    6: Fate.PENDING,  # ACCEPTED
    7: Fate.PENDING,  # UNKNOWN
    8: Fate.FAILED,  # REJECTED
}
_STATS = {
    "DELIVRD": Fate.DELIVERED,
    "EXPIRED": Fate.FAILED,
    "DELETED": Fate.FAILED,
    "UNDELIV": Fate.FAILED,
    "REJECTD": Fate.FAILED,
    "ACCEPTD": Fate.PENDING,
    "UNKNOWN": Fate.PENDING,
    "ENROUTE": Fate.PENDING,
}
_ID = re.compile(r"\bid:(?P<id>[0-9A-Za-z_-]{1,65})")
_STAT = re.compile(r"\bstat:(?P<stat>[A-Z]{7})")
_ERR = re.compile(r"\berr:(?P<err>[0-9A-Za-z]{1,3})")


class Receipt(NamedTuple):
    """A delivery receipt, read."""

    message_id: str
    fate: Fate
    stat: str
    error: str


def read(inbound: Inbound) -> Receipt | None:
    """The receipt in a deliver_sm, or None if it does not say which message."""
    text = inbound.short_message.decode("latin-1", errors="replace")
    message_id = inbound.receipted_message_id.strip()
    if not message_id:
        found = _ID.search(text)
        if found is None:
            return None
        message_id = found["id"]
    stat_match = _STAT.search(text)
    stat = stat_match["stat"] if stat_match else ""
    if inbound.message_state in _STATES:
        fate = _STATES[inbound.message_state]
    else:
        fate = _STATS.get(stat, Fate.PENDING)
    error = _ERR.search(text)
    return Receipt(normal_id(message_id), fate, stat, error["err"] if error else "")


def normal_id(message_id: str) -> str:
    """One spelling of a message id (upper case, no leading zeros)."""
    text = message_id.strip().upper()
    return text.lstrip("0") or "0"


def id_forms(message_id: str) -> list[str]:
    """The spellings an SMSC may use for the same id: as given, hex<->decimal."""
    text = normal_id(message_id)
    forms = [text]
    if re.fullmatch(r"[0-9]{1,20}", text):
        forms.append(normal_id(format(int(text), "X")))
    if re.fullmatch(r"[0-9A-F]{1,16}", text):
        forms.append(normal_id(str(int(text, 16))))
    return list(dict.fromkeys(forms))
