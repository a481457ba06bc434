"""The CSV form of a report: one row per transaction, the same rows the XML holds.

For FIUs (or staff) who take a spreadsheet rather than goAML XML. Amounts are in major
units with the currency's decimals, times in the profile's zone with their offset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from mkoba.risk.reports.goaml import Filer
from mkoba.risk.reports.records import Line, Named, local_time, major

CTR_COLUMNS = (
    "receipt",
    "direction",
    "product",
    "completed",
    "amount",
    "currency",
    "customer_party_id",
    "customer_name",
    "customer_msisdn",
    "agent_party_id",
    "agent_number",
    "agent_name",
    "agent_msisdn",
)

STR_COLUMNS = (
    "entity_reference",
    "subject_party_id",
    "subject_name",
    "subject_msisdn",
    "deadline",
    "reason",
    "receipt",
    "product",
    "completed",
    "amount",
    "currency",
    "payer_party_id",
    "payer_name",
    "payer_msisdn",
    "payee_party_id",
    "payee_name",
    "payee_msisdn",
)


def _written(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    # RFC 4180 line ends; every field quoted only where it must be.
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _when(line: Line, filer: Filer) -> str:
    return local_time(line.completed, filer.zone).isoformat()


def _who(party: Named) -> tuple[str, str, str]:
    return str(party.party_id), party.name, party.msisdn


def ctr_csv(filer: Filer, lines: Sequence[Line]) -> bytes:
    """The weekly cash-transaction report as CSV."""
    rows = []
    for line in lines:
        agent = line.agent
        rows.append(
            (
                line.receipt,
                str(line.cash),
                line.product,
                _when(line, filer),
                major(line.amount, filer.currency),
                filer.currency.code,
                *_who(line.customer),
                str(agent.party_id),
                agent.number,
                agent.name,
                agent.msisdn,
            )
        )
    return _written(CTR_COLUMNS, rows)


def str_csv(
    filer: Filer, reference: str, subject: Named, deadline: str, reason: str, lines: Sequence[Line]
) -> bytes:
    """A suspicious-transaction report draft as CSV: the report's fields on every row."""
    head = (reference, *_who(subject), deadline, reason)
    rows = [
        (
            *head,
            line.receipt,
            line.product,
            _when(line, filer),
            major(line.amount, filer.currency),
            filer.currency.code,
            *_who(line.payer),
            *_who(line.payee),
        )
        for line in lines
    ]
    return _written(STR_COLUMNS, rows)
