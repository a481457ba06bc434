"""Screening names against sanctions and PEP lists, with fuzzy matching (docs/risk-screening.md).

Load a list once (``load_list``), build a ``Screener`` over it, and call ``screen`` for
each new registration or paybill/till owner; every ``Match`` is for compliance to review.
"""

from __future__ import annotations

from pathlib import Path

from mkoba.risk.screening.entries import (
    Entry,
    Kind,
    Problem,
    ScreeningList,
    ScreeningListError,
    Subject,
)
from mkoba.risk.screening.lists import load_list, parse_csv
from mkoba.risk.screening.matcher import Match, Screener, threshold_default
from mkoba.risk.screening.names import normalise
from mkoba.risk.screening.un_xml import parse_un_xml

# A small fictional list shipped for demos and tests; no demo party is on it.
SAMPLE_LIST = Path(__file__).parent / "sample-list.csv"

__all__ = [
    "SAMPLE_LIST",
    "Entry",
    "Kind",
    "Match",
    "Problem",
    "Screener",
    "ScreeningList",
    "ScreeningListError",
    "Subject",
    "load_list",
    "normalise",
    "parse_csv",
    "parse_un_xml",
    "threshold_default",
]
