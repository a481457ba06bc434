"""Customer 360 and the audit trail over the staff API.

Method: the console's own app in process on a running platform (both stores), staff
signed in per role. Customers register through TranProc and pay each other; care
finds them by phone, ID number and receipt and sees them masked or whole as the
role allows; each look is in the audit trail, which the auditor browses and checks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import local_msisdn
from tests.channels.console.staff import sign_in
from tests.conftest import MakePlatform
from tests.world import CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-customers")


async def test_care_finds_a_customer_by_phone_id_and_receipt_and_sees_them_masked(
    platform: Platform, world: World
) -> None:
    payer = await world.customer(2_000, name="Wanjiku Kamau Njoroge")
    payee = await world.customer(0, name="Otieno Odhiambo")
    assert payer.msisdn and payee.msisdn
    sent = await world.ask("send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="500")
    assert sent.code is Code.OK and sent.receipt
    care = await sign_in(platform, "care_l1")
    by_phone = await care.get("/customers", by="phone", q=local_msisdn(payer.msisdn))
    assert by_phone.status_code == 200, by_phone.text
    (found,) = by_phone.json()
    assert found["id"] == payer.id and found["name"] == "WANJIKU K**** N******"
    assert found["phone"].count("*") == 3 and payer.msisdn not in by_phone.text
    by_id = (await care.get("/customers", by="id", q=world.id_number(payer.msisdn))).json()
    assert [match["id"] for match in by_id] == [payer.id]
    by_receipt = (await care.get("/customers", by="receipt", q=sent.receipt.lower())).json()
    assert {match["id"] for match in by_receipt} == {payer.id, payee.id}
    whole = (await care.get(f"/customers/{payer.id}")).json()
    assert whole["unmasked"] is False and whole["name"] == found["name"]
    assert whole["pin"] == "Open, 0 wrong tries" and whole["id_on_record"] is True
    (wallet,) = [a for a in whole["accounts"] if a["purpose"] == "wallet"]
    assert wallet["balance"] == await world.available(wallet["account"])
    assert wallet["balance"] < 1_500 * KSH  # 2,000 less 500 and the fee
    assert sent.receipt in [line["receipt"] for line in whole["statement"]]
    # The back office sees them whole.
    l2 = await sign_in(platform, "care_l2")
    unmasked = (await l2.get(f"/customers/{payer.id}")).json()
    assert unmasked["unmasked"] is True and unmasked["name"] == "Wanjiku Kamau Njoroge"
    assert unmasked["phone"] == local_msisdn(payer.msisdn)
    # Each look is audited, with whom it showed.
    looks = platform.services.store.query(
        "SELECT actor, action, entity FROM staff_audit"
        " WHERE action IN ('customer.search', 'customer.view')"
        " AND actor IN (?, ?) ORDER BY seq",
        (care.username, l2.username),
    )
    assert [row[1] for row in looks] == ["customer.search"] * 3 + ["customer.view"] * 2
    assert looks[-1] == (l2.username, "customer.view", f"party:{payer.id}")


async def test_who_may_not_look_customers_up_is_refused_and_bad_queries_are_answered(
    platform: Platform, world: World
) -> None:
    admin = await sign_in(platform, "sysadmin")
    assert (await admin.get("/customers", by="phone", q="0712000001")).status_code == 403
    care = await sign_in(platform, "care_l1")
    for params in (
        {"by": "phone", "q": "12"},
        {"by": "name", "q": "x"},
        {"by": "phone", "q": "0712'000"},
        {"by": "id", "q": "x" * 100},
    ):
        answer = await care.get("/customers", **params)
        assert answer.status_code == 422, (params, answer.text)
        assert set(answer.json()) == {"error"}
    assert (await care.get("/customers", by="receipt", q="NOSUCHCODE")).json() == []
    assert (await care.get("/customers/999999999")).status_code == 404
    assert (await care.get("/customers/1")).status_code == 404  # the operator is not a customer


async def test_the_auditor_browses_filters_and_checks_the_trail_and_a_tampered_row_shows(
    platform: Platform, world: World
) -> None:
    care = await sign_in(platform, "care_l1")
    await care.get("/customers", by="receipt", q="NOSUCHCODE")
    auditor = await sign_in(platform, "auditor")
    mine = (await auditor.get("/audit", actor=care.username)).json()
    assert [entry["action"] for entry in mine] == ["customer.search", "sign_in"]
    assert all(entry["actor"] == care.username for entry in mine)
    page = (await auditor.get("/audit", limit=2)).json()
    older = (await auditor.get("/audit", limit=2, before=page[-1]["seq"])).json()
    assert older[0]["seq"] < page[-1]["seq"]
    assert (await care.get("/audit")).status_code == 403
    compliance = await sign_in(platform, "compliance")
    assert (await compliance.get("/audit", action="sign_in")).status_code == 200
    assert (await compliance.post("/audit/verify")).status_code == 403
    verified = (await auditor.post("/audit/verify")).json()
    assert verified["broken_seq"] is None and verified["checked"] >= len(page)
    # Someone with the database edits an entry: the chain names it.
    seq = mine[0]["seq"]
    store = platform.services.store
    store.execute("UPDATE staff_audit SET outcome = 'forged' WHERE seq = ?", (seq,))
    try:
        broken = (await auditor.post("/audit/verify")).json()
        assert broken["broken_seq"] == seq and "does not match" in broken["reason"]
    finally:
        store.execute("UPDATE staff_audit SET outcome = 'ok' WHERE seq = ?", (seq,))
    assert (await auditor.post("/audit/verify")).json()["broken_seq"] is None


async def test_a_full_statement_for_a_range_as_csv_and_pdf(
    platform: Platform, world: World
) -> None:
    payer = await world.customer(3_000, name="Akinyi Otieno")
    payee = await world.customer(0)
    assert payer.msisdn and payee.msisdn
    receipts = []
    for amount in ("100", "250"):
        sent = await world.ask(
            "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount=amount
        )
        assert sent.receipt
        receipts.append(sent.receipt)
    l2 = await sign_in(platform, "care_l2")
    zone = world.services.profile(platform.clock()).timezone
    today = dt.datetime.fromtimestamp(platform.clock() / 1e9, zone).date()
    day = today.isoformat()
    answer = await l2.get(f"/customers/{payer.id}/statement", start=day, end=day)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"statement-{payer.id}-{day}-{day}.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["Statement", "Akinyi Otieno", local_msisdn(payer.msisdn)]
    lines = {row[1]: row for row in rows[4:-1]}
    assert set(receipts) <= set(lines)
    # Withdrawn, in shillings: the 250 sent and its fee.
    assert Decimal("250.00") < Decimal(lines[receipts[1]][4]) < Decimal("300.00")
    assert lines[receipts[1]][2].startswith("Sent to")
    closing = Decimal(rows[-1][1])
    (wallet,) = (await l2.get(f"/customers/{payer.id}")).json()["accounts"]
    assert closing * 100 == wallet["balance"]
    # The opening balance plus the lines is the closing one.
    moved = sum(Decimal(row[3] or "0") - Decimal(row[4] or "0") for row in rows[4:-1])
    assert Decimal(rows[2][1]) + moved == closing
    pdf = await l2.get(f"/customers/{payer.id}/statement", start=day, end=day, format="pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # First-line care gets it masked; a range too long or backwards is refused.
    care = await sign_in(platform, "care_l1")
    masked = await care.get(f"/customers/{payer.id}/statement", start=day, end=day)
    assert "Akinyi Otieno" not in masked.text and payer.msisdn[-9:] not in masked.text
    year_ago = (today - dt.timedelta(days=400)).isoformat()
    assert (
        await care.get(f"/customers/{payer.id}/statement", start=year_ago, end=day)
    ).status_code == 422
    later = (today + dt.timedelta(days=1)).isoformat()
    assert (
        await care.get(f"/customers/{payer.id}/statement", start=later, end=day)
    ).status_code == 422
    looks = platform.services.store.query(
        "SELECT detail FROM staff_audit WHERE action = 'customer.statement' AND actor = ?",
        (l2.username,),
    )
    assert [json.loads(row[0])["format"] for row in looks] == ["csv", "pdf"]
