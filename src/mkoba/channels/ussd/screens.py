"""Putting texts on a USSD screen: values in, GSM-7 only, never longer than a screen.

Values typed by people or coming from the directory (names) go through
``gsm7.plain`` so a screen stays GSM-7; a screen longer than the limit is cut
where it hurts least (a menu is split into pages, a prompt keeps its last line,
the question the user must answer).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

from mkoba.channels.ussd.definition import screen_chars_max
from mkoba.messages import gsm7

_SPACES = re.compile(r" {2,}")
_ELLIPSIS = "..."


class _Values(dict[str, str]):
    """Placeholder values; a missing one renders empty (a path that skipped it)."""

    def __missing__(self, key: str) -> str:
        return ""


_FORMATTER = string.Formatter()


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders filled by GSM-7-safe values."""
    safe = _Values({name: gsm7.plain(value) for name, value in values.items()})
    filled = _FORMATTER.vformat(text, (), safe)
    lines = [_SPACES.sub(" ", line).strip() for line in filled.split("\n")]
    return "\n".join(line.replace(" ?", "?").replace(" .", ".") for line in lines)


def cut(text: str, limit: int = screen_chars_max) -> str:
    """``text`` cut to ``limit`` septets, with an ellipsis when something was cut."""
    assert limit > len(_ELLIPSIS)
    if gsm7.septets(text) <= limit:
        return text
    out = []
    used = 0
    for char in text:
        size = gsm7.septets(char)
        if used + size > limit - len(_ELLIPSIS):
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + _ELLIPSIS


def fit(text: str, limit: int = screen_chars_max) -> str:
    """``text`` on one screen, keeping its last line (the question) whole if it can."""
    if gsm7.septets(text) <= limit:
        return text
    head, _, tail = text.rpartition("\n")
    room = limit - gsm7.septets(tail) - 1
    if head and room > len(_ELLIPSIS) + 4:
        return cut(head, room) + "\n" + tail
    return cut(text, limit)


def pages(
    title: str,
    options: Sequence[tuple[str, str]],
    footer: str,
    more: str,
    limit: int = screen_chars_max,
) -> list[str]:
    """A menu as screens: the title, as many options as fit, then ``more`` or the footer."""
    lines = [f"{key} {label}" for key, label in options]
    whole = "\n".join([title, *lines, *([footer] if footer else [])])
    if gsm7.septets(whole) <= limit:
        return [whole]
    result: list[str] = []
    current: list[str] = [title] if title else []
    for line in lines:
        trial = "\n".join([*current, line, more])
        if gsm7.septets(trial) > limit and len(current) > (1 if title and not result else 0):
            result.append("\n".join([*current, more]))
            current = []
        current.append(line)
    closing = "\n".join([*current, *([footer] if footer else [])])
    result.append(fit(closing, limit))
    return [fit(page, limit) for page in result]
