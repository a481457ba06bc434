"""Our CSV list format: read as documented, and a bad file refused whole with its line numbers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mkoba.risk.screening.entries import Kind, ScreeningListError, Subject
from mkoba.risk.screening.lists import load_list, parse_csv

HEADER = "id,name,aliases,kind,list,date_of_birth,country,subject\n"


def refused(text: str) -> list[str]:
    """The problems a CSV list is refused with, as ``line N: message`` strings."""
    with pytest.raises(ScreeningListError) as caught:
        parse_csv(text.encode(), "test.csv")
    return [str(problem) for problem in caught.value.problems]


def test_a_good_file_gives_its_entries_version_and_digest(tmp_path: Path) -> None:
    text = (
        "# a comment\n# version: 2026-12-01\n"
        + HEADER
        + "S-1,Baraka Mwakilema,B. Mwakilema;Baraka M,sanction,"
        "Test list,1971-03-14;1972,Kenya,\n"
        'P-1,"Hon. Naliaka Khisa",,pep,Test PEPs,,,\n'
        "E-1,Jabali Traders,,SANCTION,Test list,,,entity\n"
    )
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    loaded = load_list(path)
    assert (loaded.format, loaded.version, loaded.source) == ("csv", "2026-12-01", "list.csv")
    assert loaded.digest == hashlib.sha256(text.encode()).hexdigest()
    first, second, third = loaded.entries
    assert first.aliases == ("B. Mwakilema", "Baraka M")
    assert first.dates_of_birth == ("1971-03-14", "1972")
    assert (first.kind, first.country, first.subject) == (
        Kind.SANCTION,
        "Kenya",
        Subject.INDIVIDUAL,
    )
    assert (second.kind, second.aliases, second.dates_of_birth) == (Kind.PEP, (), ())
    assert (third.kind, third.subject) == (Kind.SANCTION, Subject.ENTITY)


def test_without_a_version_line_the_digest_names_the_version() -> None:
    data = b"id,name,aliases,kind,list\nS-1,Baraka Mwakilema,,sanction,Test list\n"
    loaded = parse_csv(data, "test.csv")
    assert loaded.version == hashlib.sha256(data).hexdigest()[:12]


def test_every_bad_row_is_named_by_its_line() -> None:
    problems = refused(
        "# version: 1\n"
        + HEADER
        + "S-1,Baraka Mwakilema,,sanction,Test list,,,\n"  # line 3: fine
        + "S-2,Zawadi Gachanja,,sanctioned,Test list,,,\n"  # line 4: kind
        + "\n"  # line 5: blank, skipped
        + "S-3,Kipruto Chemweno,,pep,Test list,1959-02-30,,\n"  # line 6: no such day
        + ",Naliaka Khisa,,pep,Test list,,,\n"  # line 7: no id
        + "S-1,Faith Tanui,,pep,Test list,,,\n"  # line 8: repeated id
        + "S-5,Said Bakari,,pep\n"  # line 9: too few fields
        + "S-6,Mr.,,pep,Test list,,,\n"  # line 10: a title alone is still a name
        + "S-7,--,,pep,Test list,,,person\n"  # line 11: no name, bad subject
    )
    assert problems == [
        "line 4: kind must be sanction or pep, not 'sanctioned'",
        "line 6: date_of_birth '1959-02-30' is not YYYY-MM-DD or YYYY",
        "line 7: id is empty",
        "line 8: id 'S-1' repeats line 3",
        "line 9: 4 fields, the header has 8",
        "line 11: name has no letters or digits",
        "line 11: subject must be individual or entity, not 'person'",
    ]


def test_a_quoted_field_over_two_lines_keeps_the_count_right() -> None:
    problems = refused(
        HEADER + 'S-1,"Baraka\nMwakilema",,sanction,Test list,,,\nS-2,Zawadi,,x,Test list,,,\n'
    )
    assert problems == ["line 4: kind must be sanction or pep, not 'x'"]


def test_a_header_missing_or_inventing_columns_is_refused() -> None:
    assert refused("id,name,kind,list,nickname\nS-1,A B,sanction,L,x\n") == [
        "line 1: header lacks column(s) aliases",
        "line 1: header has unknown column(s) nickname",
    ]


def test_an_empty_list_or_a_non_utf8_file_is_refused() -> None:
    assert refused("id,name,aliases,kind,list\n") == ["the list has no entries"]
    assert refused("") == ["no header row"]
    with pytest.raises(ScreeningListError, match="line 2: not UTF-8"):
        parse_csv(b"id,name,aliases,kind,list\nS-1,Ren\xe9,,pep,L\n", "test.csv")


def test_the_error_message_names_the_file() -> None:
    with pytest.raises(ScreeningListError, match=r"^screening list test.csv refused: line 2"):
        parse_csv(b"id,name,aliases,kind,list\nS-1,A B,,nope,L\n", "test.csv")
