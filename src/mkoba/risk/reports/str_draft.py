"""A suspicious-transaction report (STR) draft for compliance to complete and file.

An alert names a subject (a party), the receipts that raised it and a summary; Kenya's
FRC wants the STR within 2 days of the suspicion arising, whatever the amount. This
builds the draft from those: goAML-style XML (report code STR) or CSV, with the
deadline the caller computed written on it. A draft is never filed from here: the
compliance officer reviews it, adds what mkoba does not hold (the ID document number,
addresses), and uploads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mkoba.processor.history import Readable, receipt
from mkoba.risk.reports.csv_rows import str_csv
from mkoba.risk.reports.ctr import Format
from mkoba.risk.reports.goaml import Filer, Header, report_xml
from mkoba.risk.reports.records import Line, PartyLookup, line_of, named

# Receipts one draft may carry (an alert's evidence, not a statement).
receipts_max = 500
# Kenya: an STR is due within 2 days after the suspicion arises (operator.md §5.1; calendar
# days as far as the secondary sources say: confirm against the POCAMLA text).
due_days = 2


def due_by(suspected: datetime, days: int = due_days) -> datetime:
    """When an STR about a suspicion that arose at ``suspected`` (aware) is due."""
    if suspected.tzinfo is None:
        raise ValueError("suspected: an aware datetime")
    return suspected + timedelta(days=days)


def str_lines(store: Readable, parties: PartyLookup, receipts: Sequence[str]) -> list[Line]:
    """The named receipts as report lines, oldest first; ValueError naming any unknown."""
    if not receipts:
        raise ValueError("receipts: an STR draft needs at least one transaction")
    if len(receipts) > receipts_max:
        raise ValueError(f"receipts: at most {receipts_max} in one draft")
    found = []
    missing = []
    for receipt_id in dict.fromkeys(receipts):
        row = receipt(store, receipt_id)
        if row is None:
            missing.append(receipt_id)
        else:
            found.append(row)
    if missing:
        raise ValueError(f"receipts not found: {', '.join(missing)}")
    found.sort(key=lambda row: (row.completed, row.receipt))
    return [line_of(row, parties) for row in found]


def str_reference(subject_id: int, generated: datetime) -> str:
    """A draft's own reference: ``STR-``, the subject's id and when it was drafted (UTC)."""
    return f"STR-{subject_id}-{generated.astimezone(UTC).strftime('%Y%m%d%H%M%S')}"


def export_str(
    store: Readable,
    parties: PartyLookup,
    filer: Filer,
    subject_id: int,
    receipts: Sequence[str],
    reason: str,
    deadline: datetime,
    fmt: Format,
    generated: datetime,
    *,
    reference: str = "",
    indicators: Sequence[str] = (),
) -> bytes:
    """An STR draft about party ``subject_id`` holding ``receipts``, as XML or CSV, read-only.

    ``reason`` is the alert's summary (goAML's ``reason``); ``deadline`` (aware) is when
    the report is due with the FIU, noted in ``action`` and in the CSV's ``deadline``.
    """
    if not reason.strip():
        raise ValueError("reason: why the transactions are suspicious")
    if deadline.tzinfo is None or generated.tzinfo is None:
        raise ValueError("deadline and generated: aware datetimes")
    lines = str_lines(store, parties, receipts)
    subject = named(parties, subject_id)
    reference = reference or str_reference(subject_id, generated)
    due = deadline.astimezone(filer.zone).isoformat()
    if fmt == "csv":
        return str_csv(filer, reference, subject, due, reason, lines)
    if fmt != "xml":
        raise ValueError(f"fmt: xml or csv, not {fmt!r}")
    action = (
        f"DRAFT, not filed. Due with the FIU by {due}. Subject: {subject.name},"
        f" mkoba party {subject.party_id}, phone {subject.msisdn or 'none'}."
    )
    header = Header("STR", reference, generated, reason, action, tuple(indicators))
    return report_xml(filer, header, lines)
