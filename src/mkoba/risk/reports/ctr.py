"""The weekly cash-transaction report (CTR): agents' cash-ins and cash-outs at or above
the threshold, Monday 00:00 to Sunday 24:00 in the profile's time zone.

Kenya's FRC wants cash transactions of USD 15,000 or more (or the equivalent) reported
weekly through goAML; for a mobile-money operator the cash crosses an agent's counter,
so the events are deposits (cash-in) and withdrawals (cash-out). The threshold comes
from the caller in minor units (the profile's), as the equivalent moves with the rate.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from mkoba.processor.history import Readable, completed_from_amount
from mkoba.risk.reports.csv_rows import ctr_csv
from mkoba.risk.reports.goaml import Filer, Header, report_xml
from mkoba.risk.reports.records import (
    CASH_IN_PRODUCTS,
    CASH_OUT_PRODUCTS,
    Line,
    PartyLookup,
    line_of,
)

Format = Literal["xml", "csv"]
# Receipts read per query while walking a week.
page_size = 1000


def week_window(week_start: date, zone: ZoneInfo) -> tuple[int, int]:
    """The week from Monday ``week_start`` 00:00 to the next Monday 00:00 in ``zone``, in ns.

    Local midnights, so a week across a daylight-saving change is still Monday to Sunday.
    """
    if week_start.weekday() != 0:
        raise ValueError(f"week_start: {week_start.isoformat()} is not a Monday")
    start = datetime.combine(week_start, time(0), tzinfo=zone)
    end = datetime.combine(week_start + timedelta(days=7), time(0), tzinfo=zone)
    return _ns(start), _ns(end)


def _ns(moment: datetime) -> int:
    # Whole seconds: exact in integers, where a float timestamp would round.
    delta = moment - datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000


def ctr_lines(
    store: Readable, parties: PartyLookup, zone: ZoneInfo, week_start: date, threshold_minor: int
) -> list[Line]:
    """Every completed agent cash-in and cash-out of the week at or above the threshold.

    Oldest first (by completion, then receipt). A blocking read: run it in a thread
    from the event loop, ideally on one snapshot of the store.
    """
    if threshold_minor <= 0:
        raise ValueError("threshold_minor: a positive amount in minor units")
    start, end = week_window(week_start, zone)
    products = (*CASH_IN_PRODUCTS, *CASH_OUT_PRODUCTS)
    lines: list[Line] = []
    after = (0, "")
    while True:
        page = completed_from_amount(store, products, start, end, threshold_minor, page_size, after)
        lines.extend(line_of(receipt, parties) for receipt in page)
        if len(page) < page_size:
            break
        after = (page[-1].completed, page[-1].receipt)
    assert all(start <= line.completed < end for line in lines)
    assert all(line.amount >= threshold_minor for line in lines)
    return lines


def ctr_reference(week_start: date) -> str:
    """The report's own reference: ``CTR-`` and the ISO week (``CTR-2026-W49``)."""
    year, week, _ = week_start.isocalendar()
    return f"CTR-{year}-W{week:02d}"


def export_ctr(
    store: Readable,
    parties: PartyLookup,
    filer: Filer,
    week_start: date,
    threshold_minor: int,
    fmt: Format,
    generated: datetime,
) -> bytes:
    """The week's CTR as goAML-style XML (report code CTR) or CSV, read-only.

    ``generated`` (aware) is the submission date written in the XML; the CSV has none,
    so the same week gives the same CSV bytes whenever it is asked for.
    """
    lines = ctr_lines(store, parties, filer.zone, week_start, threshold_minor)
    if fmt == "csv":
        return ctr_csv(filer, lines)
    if fmt != "xml":
        raise ValueError(f"fmt: xml or csv, not {fmt!r}")
    header = Header("CTR", ctr_reference(week_start), generated)
    return report_xml(filer, header, lines)
