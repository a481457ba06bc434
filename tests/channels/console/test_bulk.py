"""Bulk disbursement over the staff API: a file checked row by row, approved, paid as B2C.

Method: the console's own app in process on a running platform (both stores), staff
accounts as ``mkoba staff create`` makes them, an organisation (a SACCO) whose utility
account holds issued e-money, customers registered through TranProc. Money is checked
in the ledger, account by account, and each step in the audit trail.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import httpx
import pytest

from mkoba.app import Platform
from mkoba.channels.console.auth import Caller
from mkoba.channels.console.bulk_file import rows_max
from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind, Purpose, Role, account_id, local_msisdn
from mkoba.processor.request import Channel, Request, Staff
from mkoba.settings import Settings
from mkoba.staff import accounts, batches
from tests.channels.console.staff import Member, sign_in
from tests.conftest import MakePlatform
from tests.world import EXCISE, FEES, KSH, World, wallet

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-bulk")


async def sacco(world: World, float_ksh: int) -> tuple[Party, int]:
    """An organisation with ``float_ksh`` in its utility account, and that account."""
    party = await world.add_party(
        PartyKind.ORGANISATION,
        "Harambee SACCO",
        number=world.number(),
        purposes=(Purpose.UTILITY, Purpose.WORKING),
        roles=(Role.BILLER,),
        tariff="customer_bears",
    )
    utility = account_id(party.id, Purpose.UTILITY)
    if float_ksh:
        await world.issue(utility, float_ksh * KSH)
    return party, utility


def a_file(*lines: str, header: str = "phone,amount,reference,name") -> str:
    return "\n".join((header, *lines)) + "\n"


async def upload(member: Member, shortcode: str, text: str, note: str = "") -> dict[str, object]:
    answer = await member.post(
        "/bulk", {"shortcode": shortcode, "title": "Dividends 2026", "csv": text, "note": note}
    )
    return {"status": answer.status_code, **answer.json()}


async def batch_count(world: World) -> int:
    return int((await world.rows("SELECT COUNT(*) FROM staff_batch_rows"))[0][0])


async def test_a_file_with_bad_rows_is_refused_row_by_row_and_nothing_is_recorded(
    platform: Platform, world: World
) -> None:
    org, _ = await sacco(world, 10_000)
    good = await world.customer(0)
    assert org.number and good.msisdn
    maker = await sign_in(platform, "operations")
    rows_before = await batch_count(world)
    phone = local_msisdn(good.msisdn)
    text = a_file(
        f"{phone},1500,DIV-1,Good Row",  # line 2: good
        "0712,100,DIV-2,Short Number",  # 3
        f"{phone},100.005,DIV-3,Three Decimals",  # 4
        f"{phone},0,DIV-4,Zero",  # 5
        f"{phone},-50,DIV-5,Negative",  # 6
        f"{phone},lots,DIV-6,Not A Number",  # 7
        f"{phone},300000,DIV-7,Above B2C Maximum",  # 8
        f"{phone},1500,DIV-1,Same Phone And Reference",  # 9
        f"{phone},100,DIV-9",  # 10: a column short
        f"{phone},100,DIV-10,Bell\x07Name",  # 11: text that cannot be stored
        f"{phone},100,{'R' * 41},Long Reference",  # 12
        f"{phone},0.50,DIV-12,Below B2C Minimum",  # 13
    )
    refused = await upload(maker, org.number, text)
    assert refused["status"] == 422, refused
    assert "11 bad lines" in str(refused["error"]) and "nothing was recorded" in str(
        refused["error"]
    )
    problems = {row["line"]: row["problem"] for row in refused["rows"]}  # type: ignore[attr-defined]
    assert set(problems) == set(range(3, 14))
    assert problems[3].startswith("phone:")
    assert "2 decimal places" in problems[4]
    assert problems[5] == problems[6] == "amount: must be more than zero"
    assert "not an amount" in problems[7]
    assert problems[8] == "amount: at most Ksh250,000.00"
    assert problems[9] == "the same phone and reference as line 2"
    assert problems[10] == "4 columns expected, 3 found"
    assert "control character" in problems[11]
    assert problems[12] == "reference: at most 40 characters"
    assert problems[13] == "amount: at least Ksh1.00"
    # The file as a whole: its columns, its size, an empty one.
    no_amount = await upload(maker, org.number, a_file(f"{phone}", header="phone,name"))
    assert no_amount["status"] == 422
    assert no_amount["rows"] == [{"line": 1, "problem": "the file has no amount column"}]
    unknown = await upload(maker, org.number, a_file(f"{phone},1", header="phone,amount,iban"))
    (first,) = unknown["rows"]  # type: ignore[misc]
    assert first["line"] == 1 and "unknown column 'iban'" in first["problem"]
    empty = await upload(maker, org.number, a_file())
    assert empty["rows"] == [{"line": 0, "problem": "the file has no payees"}]
    many = a_file(
        *(f"{phone},101,R{index}" for index in range(rows_max + 1)), header="phone,amount,reference"
    )
    too_many = await upload(maker, org.number, many)
    assert too_many["status"] == 422 and f"at most {rows_max} payees" in str(too_many["rows"])
    nobody = await upload(maker, "999999999", a_file(f"{phone},1500,DIV-1,Good"))
    assert nobody["status"] == 422 and "no organisation" in str(nobody["error"])
    assert await batch_count(world) == rows_before
    refusals = await world.rows(
        "SELECT COUNT(*) FROM staff_audit WHERE action = 'bulk.upload' AND outcome = 'refused'"
        " AND actor = ?",
        (maker.username,),
    )
    assert refusals[0][0] >= 5


async def test_a_good_file_waits_for_a_checker_then_pays_each_row_as_b2c(
    platform: Platform, world: World
) -> None:
    org, utility = await sacco(world, 100_000)
    amina = await world.customer(0, name="Amina Wanjiru")
    baraka = await world.customer(0, name="Baraka Otieno")
    stranger = world.msisdn()  # not registered: its row fails, the rest go on
    assert org.number and amina.msisdn and baraka.msisdn
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    text = a_file(
        f"{local_msisdn(amina.msisdn)},1500,DIV-A,Amina Wanjiru",
        f'+{baraka.msisdn},"2,000.50",DIV-B,Baraka Otieno',
        f"{stranger},700,DIV-C,Nobody Yet",
        f"{local_msisdn(amina.msisdn)},120,DIV-A2,Amina again (another reference)",
    )
    before = await world.balances(utility, wallet(amina), wallet(baraka), FEES, EXCISE)
    made = await upload(maker, org.number, text, "dividends for 2026")
    assert made["status"] == 201, made
    total = (1500 + 2000 + 700 + 120) * KSH + 50
    assert made["rows"] == 4 and made["total"] == total and made["state"] == "waiting"
    profile = platform.services.profile(platform.clock())
    fees = sum(profile.fee("b2c", a).business for a in (150_000, 200_050, 70_000, 12_000))
    assert made["fees"] == fees
    command = (await checker.get(f"/commands/{made['command']}")).json()
    assert command["state"] == "pending" and command["action"] == "bulk_disbursement"
    assert command["may"] == ["approve", "reject"] and command["amount"] == total + fees
    view = {line["label"]: (line["before"], line["after"]) for line in command["view"]}
    assert view["Payments"] == ("", "4")
    assert view["Total paid"][1] == "Ksh4,320.50"
    held = before[0]
    assert view["Utility account"] == (
        f"Ksh{held // KSH:,}.00",
        _ksh(held - total - fees),
    )
    assert view["Payees not registered now (will fail)"] == ("1", "1")
    assert await world.balances(utility) == [held]  # nothing moved yet
    # The maker cannot approve their own batch, even with a good code.
    own = await maker.approve(command["id"])
    assert own.status_code == 403 and "another member of staff" in own.json()["error"]
    approved = await checker.approve(command["id"])
    assert approved.status_code == 200 and approved.json()["state"] == "done", approved.text
    assert platform.console is not None
    await platform.console.bulk.idle()
    batch = (await maker.get(f"/bulk/{made['id']}")).json()
    assert batch["state"] == "finished"
    assert batch["progress"] == {
        "paid": 3,
        "failed": 1,
        "remaining": 0,
        "paid_amount": total - 700 * KSH,
        "failed_amount": 700 * KSH,
    }
    rows = {row["line"]: row for row in (await maker.get(f"/bulk/{made['id']}/rows")).json()}
    assert rows[4]["state"] == "failed" and rows[4]["code"] == "recipient_not_registered"
    assert rows[4]["receipt"] == "" and "not registered" in rows[4]["message"]
    for line in (2, 3, 5):
        assert (
            rows[line]["state"] == "paid" and rows[line]["code"] == "ok" and rows[line]["receipt"]
        )
    # Each paid row is a B2C receipt of its own: amount, fee, reference.
    receipt = await world.receipt(rows[3]["receipt"])
    assert receipt["amount"] == 200_050 and receipt["product"] == "bulk_payment"
    # Money in = money out: the organisation paid exactly what the customers got and the fees.
    paid_fees = sum(profile.fee("b2c", a).business for a in (150_000, 200_050, 12_000))
    after = await world.balances(utility, wallet(amina), wallet(baraka), FEES, EXCISE)
    moved = [b - a for a, b in zip(before, after, strict=True)]
    assert moved[0] == -(150_000 + 200_050 + 12_000 + paid_fees)
    assert moved[1] == 150_000 + 12_000 and moved[2] == 200_050
    assert moved[3] + moved[4] == paid_fees and sum(moved) == 0
    world.check_books()
    # The result file: one line per row, with its state, receipt and result.
    result = await maker.client.get(f"/staff/v1/bulk/{made['id']}/result.csv")
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    assert "attachment" in result.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(result.text)))
    assert [row["line"] for row in table] == ["2", "3", "4", "5"]
    assert table[1]["amount"] == "2000.50" and table[1]["receipt"] == rows[3]["receipt"]
    assert table[2]["state"] == "failed" and table[2]["result_code"] == "recipient_not_registered"
    # Every step is in the audit trail.
    entity = f"bulk:{made['id']}"
    steps = [
        row[0]
        for row in await world.rows(
            "SELECT action FROM staff_audit WHERE entity = ? ORDER BY seq", (entity,)
        )
    ]
    assert steps[:4] == ["command.make", "bulk.upload", "command.approve", "command.run"]
    assert "bulk.finished" in steps and "bulk.view" in steps and "bulk.result" in steps


def _ksh(minor: int) -> str:
    return f"Ksh{minor // KSH:,}.{minor % KSH:02d}"


async def test_a_batch_the_account_cannot_pay_is_refused_before_anything_moves(
    platform: Platform, world: World
) -> None:
    org, utility = await sacco(world, 1_000)
    payee = await world.customer(0)
    assert org.number and payee.msisdn
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    short = await upload(maker, org.number, a_file(f"{payee.msisdn},1000,X1,Too Much"))
    assert short["status"] == 409 and "the batch needs" in str(short["error"])
    # Enough now, but not by the time the checker approves: TranProc refuses the batch.
    fits = await upload(maker, org.number, a_file(f"{payee.msisdn},900,X2,Fits"))
    assert fits["status"] == 201, fits
    drain = await upload(maker, org.number, a_file(f"{payee.msisdn},500,X3,First"))
    assert drain["status"] == 201
    assert (await checker.approve(int(drain["command"]))).json()["state"] == "done"  # type: ignore[call-overload]
    assert platform.console is not None
    await platform.console.bulk.idle()
    left = await world.balances(utility)
    failed = (await checker.approve(int(fits["command"]))).json()  # type: ignore[call-overload]
    assert failed["state"] == "failed" and "the batch needs" in failed["outcome"]["message"]
    batch = (await maker.get(f"/bulk/{fits['id']}")).json()
    assert batch["state"] == "closed" and batch["progress"]["paid"] == 0
    assert await world.balances(utility) == left
    # A rejected batch closes too, and pays nothing.
    other = await upload(maker, org.number, a_file(f"{payee.msisdn},100,X4,Small"))
    rejected = await checker.post(f"/commands/{other['command']}/reject", {"reason": "no minutes"})
    assert rejected.json()["state"] == "rejected"
    assert (await maker.get(f"/bulk/{other['id']}")).json()["state"] == "closed"


async def test_roles_without_a_part_may_neither_upload_nor_see_batches(
    platform: Platform, world: World
) -> None:
    org, _ = await sacco(world, 1_000)
    assert org.number
    text = a_file("0712000001,101,R1,Someone")
    for role in ("finance", "care_l1", "sysadmin", "auditor"):
        member = await sign_in(platform, role)
        refused = await member.post("/bulk", {"shortcode": org.number, "csv": text})
        assert refused.status_code == 403, (role, refused.text)
    auditor = await sign_in(platform, "auditor")
    assert (await auditor.get("/bulk")).status_code == 200
    care = await sign_in(platform, "care_l2")
    assert (await care.get("/bulk")).status_code == 403
    maker = await sign_in(platform, "operations")
    no_token = await maker.post("/bulk", {"shortcode": org.number, "csv": text}, csrf=False)
    assert no_token.status_code == 403


async def test_a_restart_pays_on_without_paying_a_row_twice(
    platform: Platform, world: World
) -> None:
    org, utility = await sacco(world, 10_000)
    one = await world.customer(0)
    two = await world.customer(0)
    assert org.number and one.msisdn and two.msisdn
    assert platform.console is not None
    bulk = platform.console.bulk
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    made = await upload(
        maker, org.number, a_file(f"{one.msisdn},1000,R1,One", f"{two.msisdn},2000,R2,Two")
    )
    # The console stops right after the approval, before paying (as a crash would).
    start = bulk._start
    bulk._start = lambda _batch_id: None  # type: ignore[method-assign]
    try:
        assert (await checker.approve(int(made["command"]))).json()["state"] == "done"  # type: ignore[call-overload]
    finally:
        bulk._start = start  # type: ignore[method-assign]
    batch_id = int(made["id"])  # type: ignore[call-overload]
    stored = await asyncio.to_thread(batches.get, platform.services.store, batch_id)
    assert stored is not None and stored.state == batches.PAYING
    # Row 2 had been sent and paid by TranProc; its answer was lost with the crash.
    (first, _) = await asyncio.to_thread(batches.rows_of, platform.services.store, batch_id)
    await platform.console.tables.submit(
        [batches.row_update(first._replace(state=batches.SENDING))]
    )
    staff = Staff(maker.username, "operations", checker.username)
    request = Request(
        first.request_id,
        Channel.STAFF,
        "bulk_payment",
        f"staff:{maker.username}",
        commands.BulkPayment(org.number, one.msisdn, first.amount, first.reference),
        staff=staff,
    )
    early = await platform.processor.handle(request)
    assert early.code is Code.OK and early.receipt
    before = await world.balances(utility, wallet(one), wallet(two))
    # The next start pays on: the sent row is answered as before, the other is paid.
    assert await bulk.resume() == 1
    await bulk.idle()
    rows = await asyncio.to_thread(batches.rows_of, platform.services.store, batch_id)
    assert [row.state for row in rows] == ["paid", "paid"]
    assert rows[0].receipt == early.receipt
    after = await world.balances(utility, wallet(one), wallet(two))
    assert after[1] == before[1]  # row 2 was not paid again
    assert after[2] == before[2] + 2000 * KSH
    fee = platform.services.profile(platform.clock()).fee("b2c", 2000 * KSH).business
    assert after[0] == before[0] - 2000 * KSH - fee
    again = await world.rows(
        "SELECT COUNT(*) FROM receipts WHERE product = 'bulk_payment' AND payee_id = ?", (one.id,)
    )
    assert again[0][0] == 1


async def test_a_profile_without_b2c_offers_no_bulk_disbursement(
    make_platform: MakePlatform, tmp_path: Path
) -> None:
    settings = Settings(
        db=str(tmp_path / "campus.db"), keys_dir=tmp_path / "keys", profile="campus"
    )
    campus = await make_platform(settings=settings)
    maker = await sign_in(campus, "operations")
    refused = await maker.post("/bulk", {"shortcode": "600000", "csv": a_file("0712000001,100")})
    assert refused.status_code == 409
    assert "offers no B2C payments, so no bulk disbursement" in refused.json()["error"]


async def test_the_pages_take_the_file_as_a_form_and_answer_with_its_bad_lines(
    platform: Platform, world: World
) -> None:
    org, _ = await sacco(world, 10_000)
    payee = await world.customer(0)
    assert org.number and payee.msisdn
    maker = await sign_in(platform, "operations")
    headers = {"X-CSRF-Token": maker.csrf, "HX-Request": "true"}

    async def post_form(text: str) -> httpx.Response:
        return await maker.client.post(
            "/staff/ui/bulk",
            data={"shortcode": org.number or "", "title": "Stipends <b>", "note": ""},
            files={"file": ("stipends.csv", text.encode("utf-8"), "text/csv")},
            headers=headers,
        )

    bad = await post_form(a_file(f"{payee.msisdn},1.001,S1,<script>x</script>"))
    assert bad.status_code == 422
    assert "The file has 1 bad line: nothing was recorded." in bad.text
    assert '<td class="num">2</td>' in bad.text and "2 decimal places" in bad.text
    not_utf8 = await maker.client.post(
        "/staff/ui/bulk",
        data={"shortcode": org.number},
        files={"file": ("s.csv", "phone,amount\n0712000001,100\n".encode("utf-16"), "text/csv")},
        headers=headers,
    )
    assert not_utf8.status_code == 422 and "not UTF-8" in not_utf8.text
    good = await post_form(a_file(f"{payee.msisdn},150,S1,<script>x</script>"))
    assert good.status_code == 204, good.text
    batch_url = good.headers["HX-Redirect"]
    assert re.fullmatch(r"/staff/bulk/\d+", batch_url)
    page = await maker.client.get(batch_url)
    assert page.status_code == 200
    # What the file said is shown as text, never as markup.
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
    assert "Stipends &lt;b&gt;" in page.text
    polled = await maker.client.get(f"{batch_url}/progress")
    assert 'hx-trigger="every 5s"' in polled.text and "waiting for a checker" in polled.text
    # Roles with no part in it do not see the page; the command form leads to the upload.
    care = await sign_in(platform, "care_l2")
    assert (await care.client.get(batch_url)).status_code == 403
    form = await maker.client.get("/staff/commands/new?product=bulk_disbursement")
    assert form.status_code == 303 and form.headers["location"] == "/staff/bulk"
    no_token = await maker.client.post(
        "/staff/ui/bulk", data={"shortcode": org.number}, files={"file": ("s.csv", b"x")}
    )
    assert no_token.status_code == 403


async def test_a_restart_settles_batches_a_stop_left_between_upload_and_payment(
    platform: Platform, world: World
) -> None:
    org, _ = await sacco(world, 10_000)
    payee = await world.customer(0)
    assert org.number and payee.msisdn and platform.console is not None
    bulk = platform.console.bulk
    store = platform.services.store
    maker = await sign_in(platform, "operations")
    checker = await sign_in(platform, "finance")
    made = await upload(maker, org.number, a_file(f"{payee.msisdn},300,K1,Kept"))
    batch_id = int(made["id"])  # type: ignore[call-overload]
    # Stopped after making the command but before keeping its id on the batch.
    await platform.console.tables.submit([batches.command_update(batch_id, 0, 1)])
    # And a file recorded whose command was never made at all.
    orphan = await bulk._record(
        (await _caller(platform, maker)), org.number, org.name, "orphan", []
    )
    await bulk.resume()
    kept = await asyncio.to_thread(batches.get, store, batch_id)
    assert kept is not None and kept.state == "waiting" and kept.command_id == made["command"]
    closed = await asyncio.to_thread(batches.get, store, orphan.id)
    assert closed is not None and closed.state == "closed"
    # The kept batch is approved and paid as any other.
    assert (await checker.approve(int(made["command"]))).json()["state"] == "done"  # type: ignore[call-overload]
    await bulk.idle()
    assert (await maker.get(f"/bulk/{batch_id}")).json()["progress"]["paid"] == 1


async def _caller(platform: Platform, member: Member) -> Caller:
    """The console's view of a signed-in member (as its routes resolve it)."""
    assert platform.console is not None
    account = await asyncio.to_thread(
        accounts.by_username, platform.services.store, platform.console.key, member.username
    )
    assert account is not None
    return Caller("", None, account)  # type: ignore[arg-type]
