"""Checking the XML we write: well-formed always, and valid against our own schema.

``goaml_subset.xsd`` is mkoba's schema, written from goAML's public structure: it is
not UNODC's nor an FIU's (each FIU publishes its own customisation). Schema checks use
lxml (a dependency); ``schema=False`` checks well-formedness only (stdlib).
"""

from __future__ import annotations

from importlib import resources
from xml.etree import ElementTree

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
        # Meant for the bytes this package wrote; expat neither fetches external entities
        # nor expands nested ones past its amplification limit.
        ElementTree.fromstring(xml)  # noqa: S314
    except ElementTree.ParseError as error:
        return [f"not well-formed: {error}"]
    if not schema:
        return []
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    checker = etree.XMLSchema(etree.fromstring(schema_text(), parser))
    document = etree.fromstring(xml, parser)
    if checker.validate(document):
        return []
    return [f"line {entry.line}: {entry.message}" for entry in checker.error_log]
