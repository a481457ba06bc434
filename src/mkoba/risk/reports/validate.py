"""Checking the XML we write: well-formed always, and valid against our own schema.

``goaml_subset.xsd`` is mkoba's schema, written from goAML's public structure: it is
not UNODC's nor an FIU's (each FIU publishes its own customisation). Schema checks need
lxml (the test extra pins it); without it only well-formedness is checked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from importlib import resources

SCHEMA_NAME = "goaml_subset.xsd"


def schema_text() -> bytes:
    """Our own XSD for the goAML-style reports, as bytes."""
    return resources.files(__package__).joinpath(SCHEMA_NAME).read_bytes()


def problems(xml: bytes, *, schema: bool = True) -> list[str]:
    """What is wrong with ``xml`` (empty: nothing): not well-formed, or not our schema's.

    ``schema``: check against ``goaml_subset.xsd`` too (needs lxml; an ImportError when
    it is not installed, rather than a silent pass).
    """
    try:
        ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        return [f"not well-formed: {error}"]
    if not schema:
        return []
    from lxml import etree

    checker = etree.XMLSchema(etree.fromstring(schema_text()))
    document = etree.fromstring(xml)
    if checker.validate(document):
        return []
    return [f"line {entry.line}: {entry.message}" for entry in checker.error_log]
