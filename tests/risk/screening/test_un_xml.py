"""The UN consolidated list's XML: read into entries, and refused when it tries entity tricks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mkoba.risk.screening.entries import Kind, ScreeningListError, Subject
from mkoba.risk.screening.lists import load_list
from mkoba.risk.screening.matcher import Screener
from mkoba.risk.screening.un_xml import parse_un_xml

# The list's shape in miniature, with fictional people: names split over numbered
# elements, a placeholder alias, a year-only and a span-of-years birth, an entity.
UN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-11-30T08:00:00">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>6900001</DATAID>
      <VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>BARAKA</FIRST_NAME>
      <SECOND_NAME>NDEGE</SECOND_NAME>
      <THIRD_NAME>MWAKILEMA</THIRD_NAME>
      <UN_LIST_TYPE>Fictional</UN_LIST_TYPE>
      <REFERENCE_NUMBER>FXi.001</REFERENCE_NUMBER>
      <NATIONALITY><VALUE>Kenya</VALUE></NATIONALITY>
      <INDIVIDUAL_ALIAS>
        <QUALITY>Good</QUALITY><ALIAS_NAME>MWAKILEMA, Colonel Baraka</ALIAS_NAME>
      </INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY/><ALIAS_NAME/></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1971-03-14</DATE></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><YEAR>1972</YEAR></INDIVIDUAL_DATE_OF_BIRTH>
    </INDIVIDUAL>
    <INDIVIDUAL>
      <DATAID>6900002</DATAID>
      <FIRST_NAME>Jérôme</FIRST_NAME>
      <SECOND_NAME>SSEMANDA</SECOND_NAME>
      <UN_LIST_TYPE>Fictional</UN_LIST_TYPE>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE>\
<YEAR>1980</YEAR></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1974</FROM_YEAR><TO_YEAR>1976</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>110001</DATAID>
      <FIRST_NAME>JABALI TRADING COMPANY</FIRST_NAME>
      <UN_LIST_TYPE>Fictional</UN_LIST_TYPE>
      <ENTITY_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>Jabali Traders</ALIAS_NAME></ENTITY_ALIAS>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>
""".encode()


def test_individuals_and_entities_become_entries(tmp_path: Path) -> None:
    path = tmp_path / "consolidated.xml"
    path.write_bytes(UN_XML)
    loaded = load_list(path)
    assert (loaded.format, loaded.version) == ("un-xml", "2026-11-30T08:00:00")
    baraka, jerome, jabali = loaded.entries
    assert (baraka.id, baraka.name) == ("6900001", "BARAKA NDEGE MWAKILEMA")
    assert baraka.aliases == ("MWAKILEMA, Colonel Baraka",)
    assert baraka.dates_of_birth == ("1971-03-14", "1972")
    assert (baraka.kind, baraka.source, baraka.country) == (Kind.SANCTION, "UN Fictional", "Kenya")
    assert jerome.dates_of_birth == ("1979", "1980", "1981", "1974", "1975", "1976")
    assert (jabali.subject, jabali.aliases) == (Subject.ENTITY, ("Jabali Traders",))


def test_a_un_listed_name_is_found_by_its_alias_and_its_birth_year() -> None:
    screener = Screener.from_list(parse_un_xml(UN_XML, "consolidated.xml"))
    [match] = screener.screen("Baraka Mwakilema", "1971-03-14")
    assert (match.entry_id, match.listed_name) == ("6900001", "MWAKILEMA, Colonel Baraka")
    assert match.list_version == "2026-11-30T08:00:00"
    assert [m.entry_id for m in screener.screen("Jerome Ssemanda", "1975-06-01")] == ["6900002"]
    assert screener.screen("Jerome Ssemanda", "1980-06-01")  # about 1980
    assert screener.screen("Jerome Ssemanda", "1983-06-01") == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>
<FIRST_NAME>&lol3;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>
"""


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(ScreeningListError, match="declares a DTD"):
        parse_un_xml(BILLION_LAUGHS, "evil.xml")


def test_an_external_entity_is_refused_before_any_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Baraka Mwakilema", encoding="utf-8")
    evil = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY name SYSTEM "file://{secret}">]>'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>"
        "<FIRST_NAME>&name;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    ).encode()
    with pytest.raises(ScreeningListError, match="declares a DTD") as caught:
        parse_un_xml(evil, "evil.xml")
    assert "Mwakilema" not in str(caught.value)


def test_broken_xml_is_refused_with_its_line() -> None:
    broken = b"<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<INDIVIDUAL>\n</INDIVIDUALS>\n"
    with pytest.raises(ScreeningListError, match="line 4: not well-formed XML"):
        parse_un_xml(broken, "broken.xml")


def test_a_record_without_a_dataid_or_a_name_is_refused_by_position() -> None:
    bad = (
        b"<CONSOLIDATED_LIST><INDIVIDUALS>"
        b"<INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>A</FIRST_NAME><SECOND_NAME>B</SECOND_NAME></INDIVIDUAL>"
        b"<INDIVIDUAL><FIRST_NAME>No Id</FIRST_NAME></INDIVIDUAL>"
        b"<INDIVIDUAL><DATAID>3</DATAID><FIRST_NAME/></INDIVIDUAL>"
        b"</INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(ScreeningListError) as caught:
        parse_un_xml(bad, "bad.xml")
    assert [str(problem) for problem in caught.value.problems] == [
        "individual #2: no DATAID",
        "individual #3 (DATAID 3): no name",
    ]


def test_another_root_is_not_the_un_list() -> None:
    with pytest.raises(ScreeningListError, match="not <CONSOLIDATED_LIST>"):
        parse_un_xml(b"<export><sanctionEntity/></export>", "eu.xml")
