"""The UN Security Council consolidated list (XML) as screening entries.

The shape read (the list's own element names)::

    <CONSOLIDATED_LIST dateGenerated="...">
      <INDIVIDUALS><INDIVIDUAL>
        <DATAID/> <FIRST_NAME/> <SECOND_NAME/> <THIRD_NAME/> <FOURTH_NAME/>
        <UN_LIST_TYPE/> <NATIONALITY><VALUE/></NATIONALITY>
        <INDIVIDUAL_ALIAS><QUALITY/><ALIAS_NAME/></INDIVIDUAL_ALIAS> ...
        <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE/><DATE/> | <YEAR/> | <FROM_YEAR/><TO_YEAR/>
        </INDIVIDUAL_DATE_OF_BIRTH> ...
      </INDIVIDUAL> ...</INDIVIDUALS>
      <ENTITIES><ENTITY> <DATAID/> <FIRST_NAME/> <UN_LIST_TYPE/>
        <ENTITY_ALIAS><ALIAS_NAME/></ENTITY_ALIAS> ... </ENTITY> ...</ENTITIES>
    </CONSOLIDATED_LIST>

Every UN entry is a sanction. Empty alias placeholders (``<ALIAS_NAME/>``) are skipped.
A date of birth given as a span of years (``FROM_YEAR``..``TO_YEAR``) becomes each year
of the span; one given as ``APPROXIMATELY`` a year (or a date) becomes that year and
the years either side. The XML comes from outside, so it is parsed by defusedxml with DTDs
forbidden: no entity expansion (billion laughs) and no external entity (file or URL)
can be triggered by the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # only for the Element type and ParseError

import defusedxml
import defusedxml.ElementTree

from mkoba.risk.screening.entries import (
    Entry,
    Kind,
    Problem,
    ScreeningList,
    ScreeningListError,
    Subject,
)
from mkoba.risk.screening.lists import digest, valid_date_of_birth
from mkoba.risk.screening.names import normalise

# A span of birth years wider than this is not a date of birth worth comparing.
birth_year_span_max = 10


def parse_un_xml(data: bytes, source: str) -> ScreeningList:
    """The UN consolidated list from its bytes; raises ``ScreeningListError`` when refused."""
    try:
        root = defusedxml.ElementTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as error:
        problem = Problem(
            0, f"refused: the XML declares a DTD or entities ({type(error).__name__})"
        )
        raise ScreeningListError(source, [problem]) from None
    except ET.ParseError as error:
        line = error.position[0]
        raise ScreeningListError(source, [Problem(line, f"not well-formed XML: {error}")]) from None
    if root.tag != "CONSOLIDATED_LIST":
        raise ScreeningListError(
            source, [Problem(0, f"root is <{root.tag}>, not <CONSOLIDATED_LIST>")]
        )
    problems: list[Problem] = []
    entries: list[Entry] = []
    seen: set[str] = set()
    records = [(record, Subject.INDIVIDUAL) for record in root.iterfind("INDIVIDUALS/INDIVIDUAL")]
    records += [(record, Subject.ENTITY) for record in root.iterfind("ENTITIES/ENTITY")]
    for number, (record, subject) in enumerate(records, 1):
        entry = _entry(record, subject, number, problems)
        if entry is None:
            continue
        if entry.id in seen:
            problems.append(Problem(0, f"{subject.value} #{number}: DATAID {entry.id} repeats"))
            continue
        seen.add(entry.id)
        entries.append(entry)
    if not problems and not entries:
        problems.append(Problem(0, "the list has no INDIVIDUAL or ENTITY"))
    if problems:
        raise ScreeningListError(source, problems)
    hexdigest = digest(data)
    version = root.get("dateGenerated", "") or hexdigest[:12]
    return ScreeningList(tuple(entries), source, "un-xml", version, hexdigest)


def _text(record: ET.Element, path: str) -> str:
    """The stripped text at ``path`` under ``record``, '' when absent or empty."""
    found = record.find(path)
    return (found.text or "").strip() if found is not None else ""


def _entry(
    record: ET.Element, subject: Subject, number: int, problems: list[Problem]
) -> Entry | None:
    """One INDIVIDUAL or ENTITY as an entry, or None with its problems appended.

    The UN file carries no line numbers once parsed, so a problem names the record by
    its kind, its position in the file and its DATAID.
    """
    data_id = _text(record, "DATAID")
    where = f"{subject.value} #{number}" + (f" (DATAID {data_id})" if data_id else "")
    parts = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
    name = " ".join(part for part in (_text(record, tag) for tag in parts) if part)
    if not data_id:
        problems.append(Problem(0, f"{where}: no DATAID"))
    if not normalise(name):
        problems.append(Problem(0, f"{where}: no name"))
    if not data_id or not normalise(name):
        return None
    alias_tag = "INDIVIDUAL_ALIAS" if subject is Subject.INDIVIDUAL else "ENTITY_ALIAS"
    aliases = tuple(
        alias
        for alias in (_text(item, "ALIAS_NAME") for item in record.iterfind(alias_tag))
        if normalise(alias) and alias != name
    )
    dates: list[str] = []
    for birth in record.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
        dates.extend(_dates(birth))
    country = _text(record, "NATIONALITY/VALUE") or _text(record, "INDIVIDUAL_ADDRESS/COUNTRY")
    programme = _text(record, "UN_LIST_TYPE")
    source = f"UN {programme}" if programme else "UN"
    unique_dates = tuple(dict.fromkeys(dates))
    return Entry(
        data_id,
        name,
        tuple(dict.fromkeys(aliases)),
        Kind.SANCTION,
        source,
        unique_dates,
        country,
        subject,
    )


def _dates(birth: ET.Element) -> list[str]:
    """The dates of birth one INDIVIDUAL_DATE_OF_BIRTH gives ("YYYY-MM-DD" or "YYYY").

    A value that is not a date (the list has free text in places) is left out rather
    than refusing the list: a missing date only means it is not compared.
    """
    date = _text(birth, "DATE")[:10]
    year = _text(birth, "YEAR") or date[:4]
    if _text(birth, "TYPE_OF_DATE").upper() == "APPROXIMATELY" and valid_date_of_birth(year[:4]):
        # "About 1964": any of the years around it, never a day that excludes others.
        return [str(int(year[:4]) + offset) for offset in (-1, 0, 1)]
    if date and valid_date_of_birth(date):
        return [date]
    if year and valid_date_of_birth(year):
        return [year]
    first, last = _text(birth, "FROM_YEAR"), _text(birth, "TO_YEAR")
    if valid_date_of_birth(first) and valid_date_of_birth(last) and len(first) == len(last) == 4:
        span = range(int(first), int(last) + 1)
        if 0 < len(span) <= birth_year_span_max:
            return [str(year) for year in span]
    return []
