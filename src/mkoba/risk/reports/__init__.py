"""Regulatory reports: the weekly cash-transaction report and suspicious-transaction drafts.

``export_ctr`` and ``export_str`` read receipts (``processor.history``) and the directory,
read-only, and return goAML-style XML or CSV bytes (docs/risk-reports.md).
"""

from __future__ import annotations

from mkoba.risk.reports.ctr import Format, ctr_lines, ctr_reference, export_ctr, week_window
from mkoba.risk.reports.goaml import Codes, Filer, ReportingPerson
from mkoba.risk.reports.records import Cash, Line, Named, PartyLookup
from mkoba.risk.reports.str_draft import due_by, export_str, str_lines
from mkoba.risk.reports.validate import problems, schema_text

__all__ = [
    "Cash",
    "Codes",
    "Filer",
    "Format",
    "Line",
    "Named",
    "PartyLookup",
    "ReportingPerson",
    "ctr_lines",
    "ctr_reference",
    "due_by",
    "export_ctr",
    "export_str",
    "problems",
    "schema_text",
    "str_lines",
    "week_window",
]
