"""A party's registered email address: where its full statements are sent.

An address is registered only after its owner proved both ends: the code mkoba emailed
to it, typed on the phone with the PIN (``products/email_statements.py``). The address
lives in its own table (``party_emails``), committed with the directory's other changes
(``Change.emails``) and held in memory with them.

Addresses are checked at the edge with a deliberately strict rule (what a keypad can
type, what every mail server takes): ASCII letters, digits and ``._%+-`` before the
``@``, a domain of at least two dot-separated labels and an alphabetic top level.
"""

from __future__ import annotations

import re

SCHEMA = """
CREATE TABLE IF NOT EXISTS party_emails (
    party_id BIGINT PRIMARY KEY,
    address TEXT NOT NULL,
    verified BIGINT NOT NULL
);
"""
MIGRATION = "parties-0002-emails"

# RFC 5321's limits: the whole path, and the part before the @.
address_chars_max = 254
local_chars_max = 64
# Matched whole (``fullmatch``: ``$`` would let a trailing newline through).
_LOCAL = re.compile(r"[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP = re.compile(r"[A-Za-z]{2,63}")


class InvalidEmail(ValueError):
    """Text that is not an address mkoba will send to; the message says why."""


def normalize_email(text: str) -> str:
    """The address as stored (domain in lower case); ``InvalidEmail`` when it is not one."""
    address = text.strip()
    if not address:
        raise InvalidEmail("enter an email address")
    if len(address) > address_chars_max:
        raise InvalidEmail(f"an email address has at most {address_chars_max} characters")
    if address.count("@") != 1:
        raise InvalidEmail("an email address is name@domain")
    local, domain = address.split("@")
    if not local or len(local) > local_chars_max or not _LOCAL.fullmatch(local):
        raise InvalidEmail("the part before @ may hold letters, digits and . _ % + -")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidEmail("the part after @ is a domain such as example.com")
    if not _TOP.fullmatch(labels[-1]):
        raise InvalidEmail("the part after @ ends in a domain such as .com")
    return f"{local}@{domain.lower()}"


def mask_email(address: str) -> str:
    """An address as an SMS or a screen shows it: ``j***@example.com``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"
