"""Text the platform can store, show and send: one definition, checked at every edge.

Every channel turns what it receives into ``str``, and everything it keeps ends up
in a database (SQLite, PostgreSQL), a log, an SMS or a screen. Some strings can
reach none of them: a lone UTF-16 surrogate (``"\\ud800"``, which JSON and
``bytes.decode(..., "surrogateescape")`` can produce) cannot be encoded as UTF-8;
PostgreSQL refuses NUL in text; other control characters corrupt screens, logs and
SMS. Such text is refused where it comes in, with a message that says where.
"""

from __future__ import annotations

import re

# C0 and C1 control characters except tab, line feed and carriage return; DEL; and
# UTF-16 surrogates, which are never characters on their own.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or shown, or None if it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return f"contains an unpaired surrogate (U+{ord(char):04X}) at position {found.start()}"
    return f"contains a control character (U+{ord(char):04X}) at position {found.start()}"


def check_text(value: str) -> str:
    """``value`` if it can be stored and shown; ``ValueError`` saying why not."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def storable(value: object) -> bool:
    """Whether ``value`` (a string) can be stored and shown."""
    return isinstance(value, str) and _UNSTORABLE.search(value) is None
