"""goAML-style XML: the ``<report>`` an FIU's goAML portal takes, as far as it is public.

goAML is UNODC's reporting system; Kenya's FRC, among many FIUs, takes CTRs and STRs
through it. Its XML follows a published structure (``report`` > ``transaction`` >
``t_from_my_client`` / ``t_to_my_client`` > ``from_person``...), but each FIU customises
the schema and publishes its own lookup codes (funds, transmission modes, phone
types). So the element names and their order here follow the public schema, and every
code is a setting (``Codes``) to be taken from the FIU's own lookup tables; the
defaults are placeholders (docs/risk-reports.md says which were seen where).

The output is deterministic: the same lines and the same ``generated`` time give the
same bytes (no attribute order, no clock read here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from mkoba.money import Currency
from mkoba.risk.reports.records import Cash, Line, Named, local_time, major

# goAML's dates: local wall-clock time, to the second, without an offset.
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The public schema's length limits on the free-text fields we fill.
reason_chars_max = 4000
description_chars_max = 4000
name_chars_max = 100


@dataclass(frozen=True, slots=True)
class Codes:
    """The FIU's lookup codes this report uses (placeholders until set from its tables)."""

    # Electronic submission ("E"; "M" is manual) - Kenya's list has both.
    submission: str = "E"
    # Funds types: cash over the counter, and e-money in a wallet.
    funds_cash: str = "K"
    funds_emoney: str = "E"
    # Transmission modes: at an agent's counter, and wallet to wallet.
    transmode_agent: str = "MM01"
    transmode_wallet: str = "MM01"
    # A phone's contact type (private) and communication type (mobile).
    phone_contact: str = "P"
    phone_communication: str = "M"


@dataclass(frozen=True, slots=True)
class ReportingPerson:
    """The compliance officer (MLRO) who files, as goAML's ``reporting_person``."""

    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    occupation: str = "Money Laundering Reporting Officer"


@dataclass(frozen=True, slots=True)
class Filer:
    """Who files, and the profile facts a report needs (its money, country and time zone)."""

    # The reporting entity's id, issued by the FIU when the operator registered on goAML.
    rentity_id: str
    currency: Currency
    # ISO 3166 alpha-2 (the profile's ``country``).
    country: str
    zone: ZoneInfo
    rentity_branch: str = ""
    reporting_person: ReportingPerson | None = None
    codes: Codes = field(default_factory=Codes)


@dataclass(frozen=True, slots=True)
class Header:
    """What one report says about itself."""

    report_code: str
    entity_reference: str
    generated: datetime
    reason: str = ""
    action: str = ""
    indicators: tuple[str, ...] = ()


def _text(parent: ElementTree.Element, tag: str, value: str) -> None:
    """Add ``<tag>value</tag>``; empty values are left out, as goAML wants."""
    if value:
        ElementTree.SubElement(parent, tag).text = value


def split_name(name: str) -> tuple[str, str]:
    """A registered name as goAML's first and last name (the last word is the last name)."""
    words = name.split()
    if not words:
        return "UNKNOWN", "UNKNOWN"
    if len(words) == 1:
        return words[0][:name_chars_max], words[0][:name_chars_max]
    return " ".join(words[:-1])[:name_chars_max], words[-1][:name_chars_max]


def _phones(parent: ElementTree.Element, msisdn: str, codes: Codes) -> None:
    if not msisdn:
        return
    phone = ElementTree.SubElement(ElementTree.SubElement(parent, "phones"), "phone")
    _text(phone, "tph_contact_type", codes.phone_contact)
    _text(phone, "tph_communication_type", codes.phone_communication)
    _text(phone, "tph_number", msisdn)


def _party(parent: ElementTree.Element, side: str, who: Named, codes: Codes) -> None:
    """``from_person`` / ``to_entity``...: a party, with its mkoba id in ``comments``."""
    if who.person:
        element = ElementTree.SubElement(parent, f"{side}_person")
        first, last = split_name(who.name)
        _text(element, "first_name", first)
        _text(element, "last_name", last)
        _phones(element, who.msisdn, codes)
    else:
        element = ElementTree.SubElement(parent, f"{side}_entity")
        _text(element, "name", who.name[:255] or f"party {who.party_id}")
        _text(element, "business", who.kind.replace("_", " "))
        _phones(element, who.msisdn, codes)
    detail = f"mkoba party {who.party_id}"
    _text(element, "comments", f"{detail}, number {who.number}" if who.number else detail)


def _side(
    transaction: ElementTree.Element, side: str, funds: str, who: Named, filer: Filer
) -> None:
    """``t_from_my_client`` or ``t_to_my_client``: every mkoba party is the operator's client."""
    element = ElementTree.SubElement(transaction, f"t_{side}_my_client")
    _text(element, f"{side}_funds_code", funds)
    _party(element, side, who, filer.codes)
    _text(element, f"{side}_country", filer.country)


def _description(line: Line) -> str:
    if line.cash is Cash.IN:
        return f"Cash-in (deposit) at agent {line.agent.number} {line.agent.name}"
    if line.cash is Cash.OUT:
        return f"Cash-out (withdrawal) at agent {line.agent.number} {line.agent.name}"
    return f"{line.product.replace('_', ' ').capitalize()} (mobile money)"


def _transaction(report: ElementTree.Element, line: Line, filer: Filer) -> None:
    codes = filer.codes
    transaction = ElementTree.SubElement(report, "transaction")
    _text(transaction, "transactionnumber", line.receipt)
    _text(transaction, "internal_ref_number", line.receipt)
    if line.cash is not Cash.NONE:
        _text(transaction, "transaction_location", f"Agent {line.agent.number} {line.agent.name}")
    _text(transaction, "transaction_description", _description(line)[:description_chars_max])
    when = local_time(line.completed, filer.zone).strftime(DATE_FORMAT)
    _text(transaction, "date_transaction", when)
    _text(transaction, "value_date", when)
    cash = line.cash is not Cash.NONE
    _text(transaction, "transmode_code", codes.transmode_agent if cash else codes.transmode_wallet)
    _text(transaction, "amount_local", major(line.amount, filer.currency))
    # A cash line is the customer on both sides (cash on one, their wallet on the other),
    # the agent being where it happened; any other line is payer to payee in e-money.
    if line.cash is Cash.IN:
        sides = ((codes.funds_cash, line.customer), (codes.funds_emoney, line.customer))
    elif line.cash is Cash.OUT:
        sides = ((codes.funds_emoney, line.customer), (codes.funds_cash, line.customer))
    else:
        sides = ((codes.funds_emoney, line.payer), (codes.funds_emoney, line.payee))
    _side(transaction, "from", sides[0][0], sides[0][1], filer)
    _side(transaction, "to", sides[1][0], sides[1][1], filer)
    if line.cash is not Cash.NONE:
        agent = line.agent
        _text(
            transaction,
            "comments",
            f"Agent store mkoba party {agent.party_id}, number {agent.number},"
            f" phone {agent.msisdn or 'none'}",
        )


def _reporting_person(report: ElementTree.Element, person: ReportingPerson, codes: Codes) -> None:
    element = ElementTree.SubElement(report, "reporting_person")
    _text(element, "first_name", person.first_name)
    _text(element, "last_name", person.last_name)
    _phones(element, person.phone, codes)
    _text(element, "email", person.email)
    _text(element, "occupation", person.occupation)


def report_xml(filer: Filer, header: Header, lines: Sequence[Line]) -> bytes:
    """One goAML-style ``<report>`` holding ``lines`` as its transactions, as UTF-8 bytes."""
    assert filer.rentity_id, "the reporting entity's goAML id is required"
    assert header.generated.tzinfo is not None, "generated: an aware datetime"
    report = ElementTree.Element("report")
    _text(report, "rentity_id", filer.rentity_id)
    _text(report, "rentity_branch", filer.rentity_branch)
    _text(report, "submission_code", filer.codes.submission)
    _text(report, "report_code", header.report_code)
    _text(report, "entity_reference", header.entity_reference)
    generated = header.generated.astimezone(filer.zone).strftime(DATE_FORMAT)
    _text(report, "submission_date", generated)
    _text(report, "currency_code_local", filer.currency.code)
    if filer.reporting_person is not None:
        _reporting_person(report, filer.reporting_person, filer.codes)
    _text(report, "reason", header.reason[:reason_chars_max])
    _text(report, "action", header.action[:reason_chars_max])
    for line in lines:
        _transaction(report, line, filer)
    if header.indicators:
        indicators = ElementTree.SubElement(report, "report_indicators")
        for indicator in header.indicators:
            _text(indicators, "indicator", indicator)
    ElementTree.indent(report, space="  ")
    body: bytes = ElementTree.tostring(report, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
