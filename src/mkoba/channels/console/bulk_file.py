"""A bulk disbursement file: CSV of payees and amounts, read and checked row by row.

The first line names the columns: ``phone`` and ``amount`` are required, ``reference``
and ``name`` optional, in any order. Each later line is one payee. Every line is
checked and every problem reported with its line number; a file with any problem is
refused whole, so the maker fixes it and uploads it again (no half-paid file).

A phone is read for the profile's country (``0712 345 678``, ``+254712345678``); an
amount is in major units with at most the currency's decimals (``1500``, ``1,500.50``),
within the B2C tariff's range; a phone may appear twice only with different
references (two payments to one person must say why). Text must be storable.
"""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

from mkoba.catalog import Profile
from mkoba.money import format_amount, parse_amount
from mkoba.parties.msisdn import InvalidMsisdn, normalize_msisdn
from mkoba.text import text_problem

# A file has at most this many payees and this many bytes (under the console's 64 KiB body).
rows_max = 1000
bytes_max = 48 * 1024
# A reference and a name are at most this long.
reference_chars_max = 40
name_chars_max = 80
# The B2C tariff's product: its range is a row's.
PRODUCT = "b2c"
COLUMNS = ("phone", "amount", "reference", "name")
REQUIRED = ("phone", "amount")
# Report at most this many problems (a file of 1,000 bad lines needs no 1,000 lines back).
problems_max = 100


class Payee(NamedTuple):
    """One good line: who is paid, how much (minor units), the B2C fee, and why."""

    line: int
    phone: str
    amount: int
    fee: int
    reference: str
    name: str


class Problem(NamedTuple):
    """What is wrong with one line of the file (line 0: the file as a whole)."""

    line: int
    problem: str


class BadFile(Exception):
    """A file refused, with every problem found (up to ``problems_max``)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def read(text: str, profile: Profile) -> list[Payee]:
    """The payees of a file, or ``BadFile`` naming each bad line and why."""
    if len(text.encode("utf-8", errors="surrogatepass")) > bytes_max:
        raise BadFile([Problem(0, f"the file is larger than {bytes_max // 1024} KiB")])
    text = text.removeprefix("\ufeff")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    header = [cell.strip().lower() for cell in lines[0]] if lines else []
    problems = _header(header)
    if problems:
        raise BadFile(problems)
    body = [(number, cells) for number, cells in enumerate(lines[1:], 2) if any(cells)]
    if not body:
        raise BadFile([Problem(0, "the file has no payees")])
    if len(body) > rows_max:
        raise BadFile([Problem(0, f"a file has at most {rows_max} payees, this one {len(body)}")])
    payees: list[Payee] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in body:
        found = _payee(number, cells, header, profile)
        if isinstance(found, Problem):
            problems.append(found)
            continue
        key = (found.phone, found.reference)
        if key in seen:
            problems.append(Problem(number, f"the same phone and reference as line {seen[key]}"))
            continue
        seen[key] = number
        payees.append(found)
    if problems:
        raise BadFile(problems[:problems_max])
    return payees


def _header(header: list[str]) -> list[Problem]:
    if not header:
        return [Problem(1, f"the first line names the columns: {', '.join(COLUMNS)}")]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        known = ", ".join(COLUMNS)
        return [Problem(1, f"unknown column {unknown[0][:40]!r}: the columns are {known}")]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return [Problem(1, f"the file has no {missing[0]} column")]
    if len(set(header)) != len(header):
        return [Problem(1, "a column is named twice")]
    return []


def _payee(number: int, cells: list[str], header: list[str], profile: Profile) -> Payee | Problem:
    if len(cells) != len(header):
        return Problem(number, f"{len(header)} columns expected, {len(cells)} found")
    for cell in cells:
        problem = text_problem(cell)
        if problem is not None:
            return Problem(number, f"text {problem}")
    values = dict(zip(header, (cell.strip() for cell in cells), strict=True))
    try:
        phone = normalize_msisdn(values["phone"], profile.country)
    except InvalidMsisdn as error:
        return Problem(number, f"phone: {error}")
    amount = _amount(values["amount"], profile)
    if isinstance(amount, str):
        return Problem(number, f"amount: {amount}")
    reference = values.get("reference", "")
    if len(reference) > reference_chars_max:
        return Problem(number, f"reference: at most {reference_chars_max} characters")
    name = values.get("name", "")
    if len(name) > name_chars_max:
        return Problem(number, f"name: at most {name_chars_max} characters")
    fee = profile.fee(PRODUCT, amount).business
    return Payee(number, phone, amount, fee, reference, name)


def _amount(text: str, profile: Profile) -> int | str:
    """Minor units, or why ``text`` is no amount this file may pay."""
    if not text:
        return "give an amount"
    try:
        minor = parse_amount(text, profile.currency)
    except ValueError as error:
        return str(error)
    if minor <= 0:
        return "must be more than zero"
    low, high = profile.minimum(PRODUCT), profile.maximum(PRODUCT)
    if minor < low:
        return f"at least {format_amount(low, profile.currency)}"
    if minor > high:
        return f"at most {format_amount(high, profile.currency)}"
    return minor
