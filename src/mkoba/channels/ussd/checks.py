"""Checks of typed text that is neither money nor a number: an email address, a code, a name.

The engine keeps what these return (``None``: refused, the screen asks again with the
reason). The products check again, fully: a screen's check only spares a request.
"""

from __future__ import annotations

import re

from mkoba.parties.emails import InvalidEmail, normalize_email

# A one-time code someone was sent (the product checks its exact length and value).
_CODE = re.compile(r"[0-9]{4,8}")
# A person's name as a keypad types it: letters, spaces, ' - and . (the product checks it).
_NAME = re.compile(r"[^\W\d_]+(?:[ '.-]+[^\W\d_]+)*\.?")
name_chars_max = 80


def typed(check: str, text: str) -> str | None:
    """``text`` as kept for ``check`` (``email``, ``code``, ``name``), or None when not one."""
    if check == "email":
        try:
            return normalize_email(text)
        except InvalidEmail:
            return None
    if check == "code":
        return text if _CODE.fullmatch(text) else None
    if check == "name":
        name = " ".join(text.split())
        return name if len(name) <= name_chars_max and _NAME.fullmatch(name) else None
    raise ValueError(f"no check {check!r}")
