"""Full statements: a party's lines for any date range, as CSV and as PDF.

The console serves them to staff (``channels/console/customers.py``) and the statement
deliverer emails them to customers (``delivery.py``); the rows come from TranProc's
statement lines (``history.statement_between``), each with the balance after it, so
the opening balance is the one before the first line. Dates are the profile's local
days: ``start`` from its midnight, ``end`` to the end of that day. A range is at most
a year and a day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from typing import NamedTuple

from fpdf import FPDF
from fpdf.enums import AccessPermission, EncryptionMethod

from mkoba.money import Currency, format_amount
from mkoba.processor.history import StatementLine

# The longest range one statement covers.
range_days_max = 366
# Lines one statement holds at most (a year of a busy agent's float fits).
lines_max = 200_000


def days_ns(zone: dt.tzinfo, first: dt.date, last: dt.date) -> tuple[int, int]:
    """From ``first``'s local midnight to the one after ``last``, in ns since the epoch."""
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return int(start.timestamp() * 1e9), int(end.timestamp() * 1e9)


class Statement(NamedTuple):
    """A party's statement for a range: who, when, the opening balance and the lines."""

    name: str
    phone: str
    start: dt.date
    end: dt.date
    opening: int
    lines: list[StatementLine]

    @property
    def closing(self) -> int:
        """The balance after the last line (the opening one when there is none)."""
        return self.lines[-1].balance if self.lines else self.opening


def as_csv(statement: Statement, unit: Currency, zone: dt.tzinfo) -> bytes:
    """The statement as CSV: one row per line, amounts in the currency's major units."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Statement", statement.name, statement.phone])
    writer.writerow(["From", statement.start.isoformat(), "To", statement.end.isoformat()])
    writer.writerow(["Opening balance", _major(statement.opening, unit)])
    writer.writerow(["Completed", "Receipt", "Details", "Paid in", "Withdrawn", "Balance"])
    for line in statement.lines:
        when = dt.datetime.fromtimestamp(line.at / 1e9, zone).strftime("%Y-%m-%d %H:%M:%S")
        paid_in = _major(line.amount, unit) if line.amount > 0 else ""
        withdrawn = _major(-line.amount, unit) if line.amount < 0 else ""
        writer.writerow(
            [
                when,
                line.receipt,
                _safe_cell(line.description),
                paid_in,
                withdrawn,
                _major(line.balance, unit),
            ]
        )
    writer.writerow(["Closing balance", _major(statement.closing, unit)])
    return out.getvalue().encode("utf-8")


def _major(minor: int, unit: Currency) -> str:
    """An amount in major units, no symbol and no separators: what a spreadsheet reads."""
    return format_amount(minor, unit, symbol=False).replace(",", "")


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The lines' layout: Courier 8 pt is 1.69 mm a character, 112 to the width of A4.
_FONT_PT = 8
_ROW_MM = 4.2
_PAGE_END_MM = 297 - 15
_DETAILS = 40
_ROW = "{:<16}  {:<10}  {:<40} {:>12} {:>12} {:>14}"
_HEADINGS = ("Completed", "Receipt", "Details", "Paid in", "Withdrawn", "Balance")


def as_pdf(
    statement: Statement, unit: Currency, zone: dt.tzinfo, operator: str, password: str = ""
) -> bytes:
    """The statement as a PDF: a header, the opening balance, the lines, the closing one.

    With ``password``, the file opens only with it (AES-256, as a customer's emailed copy).
    """
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    if password:
        pdf.set_encryption(
            owner_password=secrets.token_urlsafe(24),
            user_password=password,
            encryption_method=EncryptionMethod.AES_256,
            permissions=AccessPermission.PRINT_LOW_RES | AccessPermission.PRINT_HIGH_RES,
        )
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin(f"{operator} statement"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin(f"{statement.name}  {statement.phone}"), new_x="LMARGIN", new_y="NEXT")
    period = f"{statement.start.isoformat()} to {statement.end.isoformat()}"
    pdf.cell(0, 6, _latin(period), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0, 6, f"Opening balance: {_major(statement.opening, unit)}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(2)
    # One text run per line in a fixed-width font: a year of a busy wallet is thousands
    # of lines, and laying out each cell on its own took most of a second.
    y = pdf.get_y() + _ROW_MM
    y = _columns(pdf, y)
    pdf.set_font("Courier", "", _FONT_PT)
    for line in statement.lines:
        if y > _PAGE_END_MM:
            pdf.add_page()
            y = _columns(pdf, pdf.t_margin + _ROW_MM)
            pdf.set_font("Courier", "", _FONT_PT)
        when = dt.datetime.fromtimestamp(line.at / 1e9, zone).strftime("%Y-%m-%d %H:%M")
        paid_in = _major(line.amount, unit) if line.amount > 0 else ""
        withdrawn = _major(-line.amount, unit) if line.amount < 0 else ""
        text = _ROW.format(
            when,
            line.receipt,
            line.description[:_DETAILS],
            paid_in,
            withdrawn,
            _major(line.balance, unit),
        )
        pdf.text(pdf.l_margin, y, _latin(text))
        y += _ROW_MM
    pdf.set_y(y)
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(
        0, 6, f"Closing balance: {_major(statement.closing, unit)}", new_x="LMARGIN", new_y="NEXT"
    )
    return bytes(pdf.output())


def _columns(pdf: FPDF, y: float) -> float:
    """The column headings at ``y``, underlined; where the first line goes."""
    pdf.set_font("Courier", "B", _FONT_PT)
    pdf.text(pdf.l_margin, y, _ROW.format(*_HEADINGS))
    pdf.line(pdf.l_margin, y + 1.2, pdf.w - pdf.r_margin, y + 1.2)
    return y + _ROW_MM + 0.8


def _latin(text: str) -> str:
    """Text the PDF's core font can draw (others become '?')."""
    return text.encode("latin-1", errors="replace").decode("latin-1")
