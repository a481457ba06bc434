"""Load a screening list file: our own CSV format, or the UN Security Council consolidated list.

Our CSV (UTF-8, a header row, one entry a row; lines starting with ``#`` before the
header are comments, and ``# version: TEXT`` names the list's version)::

    # version: 2026-12-01
    id,name,aliases,kind,list,date_of_birth,country,subject
    S-001,Baraka Ndege Mwakilema,Baraka Mwakilema;B. Mwakilema,sanction,Fictional,1970,Kenya,

``id``, ``name``, ``aliases`` (``;``-separated, may be empty), ``kind`` (``sanction`` or
``pep``) and ``list`` are required columns; ``date_of_birth`` (``YYYY-MM-DD`` or ``YYYY``,
several ``;``-separated), ``country`` and ``subject`` (``individual``, the default, or
``entity``) are optional. A file with any bad row is refused whole, with every problem's
line number: screening against half a list is a compliance hole nobody sees.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

from mkoba.risk.screening.entries import (
    Entry,
    Kind,
    Problem,
    ScreeningList,
    ScreeningListError,
    Subject,
    is_date_of_birth,
)
from mkoba.risk.screening.names import normalise

REQUIRED_COLUMNS = ("id", "name", "aliases", "kind", "list")
OPTIONAL_COLUMNS = ("date_of_birth", "country", "subject")
# A list file larger than this is refused unread (the UN list is a few MB).
list_bytes_max = 64 * 1024 * 1024
_VERSION_PREFIX = "# version:"


def load_list(path: str | Path) -> ScreeningList:
    """Read and check the list at ``path``: ``.xml`` is the UN format, anything else our CSV."""
    path = Path(path)
    with path.open("rb") as file:
        data = file.read(list_bytes_max + 1)
    if len(data) > list_bytes_max:
        raise ScreeningListError(path.name, [Problem(0, f"over {list_bytes_max} bytes")])
    if path.suffix.lower() == ".xml" or data.lstrip()[:1] == b"<":
        from mkoba.risk.screening.un_xml import parse_un_xml

        return parse_un_xml(data, path.name)
    return parse_csv(data, path.name)


def digest(data: bytes) -> str:
    """The SHA-256 of a list file's bytes, hex: which copy was screened against."""
    return hashlib.sha256(data).hexdigest()


def parse_csv(data: bytes, source: str) -> ScreeningList:
    """Our CSV list from its bytes; raises ``ScreeningListError`` listing every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ScreeningListError(source, [Problem(line, "not UTF-8 text")]) from None
    lines = text.splitlines(keepends=True)
    version = ""
    skipped = 0
    while skipped < len(lines) and lines[skipped].lstrip().startswith("#"):
        comment = lines[skipped].strip()
        if comment.lower().startswith(_VERSION_PREFIX):
            version = comment[len(_VERSION_PREFIX) :].strip()
        skipped += 1
    problems: list[Problem] = []
    entries = _rows(lines[skipped:], skipped, problems)
    if not problems and not entries:
        problems.append(Problem(0, "the list has no entries"))
    if problems:
        raise ScreeningListError(source, problems)
    hexdigest = digest(data)
    return ScreeningList(tuple(entries), source, "csv", version or hexdigest[:12], hexdigest)


def _rows(lines: list[str], offset: int, problems: list[Problem]) -> list[Entry]:
    """The entries of the CSV body; problems are appended with their file line numbers."""
    reader = csv.reader(io.StringIO("".join(lines), newline=""), strict=True)
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        problems.append(Problem(0, "no header row"))
        return []
    except csv.Error as error:
        problems.append(Problem(offset + 1, f"header: {error}"))
        return []
    if not _header_ok(header, offset + 1, problems):
        return []
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    end = reader.line_num
    while True:
        start = offset + end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(Problem(start, str(error)))
            break
        end = reader.line_num
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(start, f"{len(row)} fields, the header has {len(header)}"))
            continue
        entry = _entry(
            dict(zip(header, (field.strip() for field in row), strict=True)), start, problems
        )
        if entry is None:
            continue
        if entry.id in seen:
            problems.append(Problem(start, f"id {entry.id!r} repeats line {seen[entry.id]}"))
            continue
        seen[entry.id] = start
        entries.append(entry)
    return entries


def _header_ok(header: list[str], line: int, problems: list[Problem]) -> bool:
    """True if the header names every required column, and only known ones, once each."""
    before = len(problems)
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    unknown = [column for column in header if column not in known]
    if missing:
        problems.append(Problem(line, f"header lacks column(s) {', '.join(missing)}"))
    if unknown:
        problems.append(Problem(line, f"header has unknown column(s) {', '.join(unknown)}"))
    if len(set(header)) != len(header):
        problems.append(Problem(line, "header repeats a column"))
    return len(problems) == before


def _entry(row: dict[str, str], line: int, problems: list[Problem]) -> Entry | None:
    """One row as an entry, or None with its problems appended."""
    before = len(problems)
    if not row["id"]:
        problems.append(Problem(line, "id is empty"))
    if not normalise(row["name"]):
        problems.append(Problem(line, "name has no letters or digits"))
    if not row["list"]:
        problems.append(Problem(line, "list is empty (say which list or programme)"))
    aliases = tuple(alias.strip() for alias in row["aliases"].split(";") if alias.strip())
    if any(not normalise(alias) for alias in aliases):
        problems.append(Problem(line, "an alias has no letters or digits"))
    kinds = {kind.value: kind for kind in Kind}
    if row["kind"].lower() not in kinds:
        problems.append(Problem(line, f"kind must be sanction or pep, not {row['kind']!r}"))
    subjects = {subject.value: subject for subject in Subject}
    subject_text = row.get("subject", "").lower() or Subject.INDIVIDUAL.value
    if subject_text not in subjects:
        problems.append(
            Problem(line, f"subject must be individual or entity, not {subject_text!r}")
        )
    dates = tuple(date.strip() for date in row.get("date_of_birth", "").split(";") if date.strip())
    for date in dates:
        if not valid_date_of_birth(date):
            problems.append(Problem(line, f"date_of_birth {date!r} is not YYYY-MM-DD or YYYY"))
    if len(problems) > before:
        return None
    return Entry(
        row["id"],
        row["name"],
        aliases,
        kinds[row["kind"].lower()],
        row["list"],
        dates,
        row.get("country", ""),
        subjects[subject_text],
    )


def valid_date_of_birth(text: str) -> bool:
    """True for a real calendar date "YYYY-MM-DD", or a year "YYYY"."""
    if not is_date_of_birth(text):
        return False
    if len(text) == 4:
        return True
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
