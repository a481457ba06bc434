"""An STR draft from an alert's receipts, through a running platform, on both stores.

Method: a customer takes cash in at an agent and sends most of it on in two sends (the
pattern an alert would summarise); compliance drafts an STR about that customer from
the three receipts with the alert's summary and its 2-day deadline, and reads it as
XML and as CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from mkoba.risk.reports import Format, due_by, export_str, problems
from tests.risk.reports.filer import FILER, NAIROBI
from tests.world import CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio

REASON = "Cash-in of KES 60,000.00 sent on to two new recipients within the hour."


async def test_a_draft_holds_the_alerts_transactions_its_reason_and_its_deadline(
    world: World,
) -> None:
    subject = await world.customer(name="Juma Hassan")
    friends = [await world.customer(name=name) for name in ("Neema Atieno", "Kiprop")]
    deposited = await world.deposit(subject, 60_000 * KSH)
    assert subject.msisdn and deposited.receipt
    sends = []
    for friend, amount in zip(friends, ("25000", "30000.50"), strict=True):
        assert friend.msisdn
        sent = await world.ask(
            "send_money", subject.msisdn, CUSTOMER_PIN, to=friend.msisdn, amount=amount
        )
        assert sent.ok and sent.receipt, sent
        sends.append(sent.receipt)
    receipts = [*reversed(sends), deposited.receipt]
    suspected = datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
    deadline = due_by(suspected)
    store, directory = world.services.store, world.services.directory

    def draft(fmt: Format) -> bytes:
        return export_str(
            store, directory, FILER, subject.id, receipts, REASON, deadline, fmt, suspected
        )

    body = draft("xml")
    assert problems(body) == []
    assert draft("xml") == body
    report = ElementTree.fromstring(body)
    assert report.findtext("report_code") == "STR"
    assert report.findtext("reason") == REASON
    action = str(report.findtext("action"))
    assert "DRAFT" in action
    assert deadline.astimezone(NAIROBI).isoformat() in action
    assert "2026-12-07T11:30:00+03:00" in action
    # Oldest first: the cash-in, then the two sends, with the amounts sent.
    transactions = report.findall("transaction")
    assert [t.findtext("transactionnumber") for t in transactions] == [
        deposited.receipt,
        *sends,
    ]
    assert [t.findtext("amount_local") for t in transactions] == [
        "60000.00",
        "25000.00",
        "30000.50",
    ]
    assert transactions[0].findtext("t_from_my_client/from_funds_code") == "K"
    first_send = transactions[1]
    assert first_send.findtext("t_from_my_client/from_person/last_name") == "Hassan"
    assert first_send.findtext("t_to_my_client/to_person/last_name") == "Atieno"

    rows = list(csv.DictReader(io.StringIO(draft("csv").decode("utf-8"))))
    assert [row["receipt"] for row in rows] == [deposited.receipt, *sends]
    assert {row["deadline"] for row in rows} == {"2026-12-07T11:30:00+03:00"}
    assert {row["reason"] for row in rows} == {REASON}
    assert {row["subject_party_id"] for row in rows} == {str(subject.id)}
    assert [row["payee_name"] for row in rows[1:]] == ["Neema Atieno", "Kiprop"]


async def test_a_draft_names_a_receipt_it_cannot_find(world: World) -> None:
    subject = await world.customer(name="Juma Hassan")
    with pytest.raises(ValueError, match="receipts not found: NOSUCH1"):
        export_str(
            world.services.store,
            world.services.directory,
            FILER,
            subject.id,
            ["NOSUCH1"],
            REASON,
            datetime(2026, 12, 7, tzinfo=UTC),
            "xml",
            datetime(2026, 12, 5, tzinfo=UTC),
        )
