"""Times as each language writes them, from the neutral 24-hour form the processor gives.

A message's ``time`` arrives as ``HH:MM`` (24-hour, local) and ``sent`` as
``DD/MM/YY HH:MM``; this is the one place that words them:

- English as M-Pesa does: ``12:28 AM``, and ``05/12/26 at 12:28 AM``;
- Swahili in Swahili time, as Kenyans say and write it in Swahili: the day's hours
  count from sunrise (06:00 is ``saa 12``, 07:00 ``saa 1``, midnight ``saa 6``), and
  the part of the day always follows, so the hour is never mistaken for a Western
  one: ``6:28 usiku`` (00:28), ``2:15 asubuhi`` (08:15), ``10:05 jioni`` (16:05).
  Templates say ``saa {time}``; ``sent`` is ``05/12/26 saa 6:28 usiku``.

A value in any other form is left as it is (a message is never refused for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DATE_TIME = re.compile(r"^([0-9]{2}/[0-9]{2}/[0-9]{2}) ([0-9]{2}:[0-9]{2})$")

# The parts of the day in Swahili, by the first 24-hour hour of each.
_SWAHILI_PARTS = (
    (0, "usiku"),  # 00:00-03:59, saa 6 to saa 9 of the night
    (4, "alfajiri"),  # 04:00-05:59, dawn
    (6, "asubuhi"),  # 06:00-11:59, saa 12 to saa 5 of the morning
    (12, "mchana"),  # 12:00-15:59, saa 6 to saa 9 of the day
    (16, "jioni"),  # 16:00-18:59, saa 10 to saa 12 of the evening
    (19, "usiku"),  # 19:00-23:59, saa 1 to saa 5 of the night
)


def english(hour: int, minute: int) -> str:
    """``12:28 AM``: M-Pesa's English confirmations."""
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def swahili(hour: int, minute: int) -> str:
    """``6:28 usiku``: Swahili time, with the part of the day."""
    part = next(name for first, name in reversed(_SWAHILI_PARTS) if hour >= first)
    return f"{(hour - 6) % 12 or 12}:{minute:02d} {part}"


_CLOCKS: dict[str, tuple[Callable[[int, int], str], str]] = {
    # The clock and the word between a date and a time ("on {sent}" / "tarehe {sent}").
    "en": (english, "at"),
    "sw": (swahili, "saa"),
}


def time_in(language: str, neutral: str) -> str:
    """``neutral`` (``HH:MM``) as ``language`` writes it; unchanged if not in that form."""
    found = _TIME.match(neutral)
    if found is None or language not in _CLOCKS:
        return neutral
    clock, _ = _CLOCKS[language]
    return clock(int(found[1]), int(found[2]))


def date_time_in(language: str, neutral: str) -> str:
    """``neutral`` (``DD/MM/YY HH:MM``) as ``language`` writes it; unchanged otherwise."""
    found = _DATE_TIME.match(neutral)
    if found is None or language not in _CLOCKS:
        return neutral
    _, joint = _CLOCKS[language]
    return f"{found[1]} {joint} {time_in(language, found[2])}"


# The parameters that carry a time, and how each is worded.
_WORDED = {"time": time_in, "sent": date_time_in}


def worded(params: Mapping[str, str], language: str) -> Mapping[str, str]:
    """``params`` with their times in ``language``'s words (the rest as they are)."""
    if not any(name in params for name in _WORDED):
        return params
    out = dict(params)
    for name, word in _WORDED.items():
        if name in out:
            out[name] = word(language, out[name])
    return out
