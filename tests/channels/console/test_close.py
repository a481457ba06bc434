"""The daily close: finance signs ended days off in order, the pack is kept as it was.

Method: a running platform (both stores). E-money is issued three days ago (the
platform's clock set back, as the demo does) through the console's maker-checker;
finance closes that day with the bank's balance and a note, after a fresh code. The
stored close must hold that day's pack (the issue, the bank balance, the break), its
digests must check, and the rules must hold: only ended days, once each, in order,
only finance, a wrong code refused and audited. Then a stored close is changed behind
the console's back (even with the audit key), and the check names what is wrong.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest

from mkoba.app import Platform
from mkoba.staff import closes
from tests.channels.console.staff import Member, sign_in
from tests.conftest import MakePlatform
from tests.world import KSH, TRUST, World

pytestmark = pytest.mark.anyio
DAY_NS = 86_400 * 10**9


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-close")


def local_day(platform: Platform, world: World, at: int) -> dt.date:
    zone = world.services.profile(at).timezone
    return dt.datetime.fromtimestamp(at / 1e9, zone).date()


# A code for the sign-offs refused before any code is read (authenticator steps are few).
UNREAD = "000000"


async def sign_off(
    member: Member, day: dt.date, bank: int, note: str = "", code: str = ""
) -> object:
    body = {"day": day.isoformat(), "bank": bank, "note": note, "code": code or member.code()}
    return await member.post("/closes", body)


async def test_finance_closes_ended_days_in_order_and_the_pack_is_kept(
    platform: Platform, world: World
) -> None:
    ops = await sign_in(platform, "operations")
    finance = await sign_in(platform, "finance")
    back = platform.clock() - 3 * DAY_NS
    platform.clock.fixed = back
    try:
        made = (
            await ops.make("issue_emoney", kind="operator", amount="300", reference="FTCLOSE0001")
        ).json()
        assert (await finance.approve(made["id"])).json()["state"] == "done"
    finally:
        platform.clock.fixed = None
    first = local_day(platform, world, back)
    today = local_day(platform, world, platform.clock())
    (mirror,) = await asyncio.wrap_future(platform.writer.balances([TRUST]))
    assert mirror is not None
    bank = mirror.debits_posted - mirror.credits_posted + 7
    # Not a day that has not ended; not by operations.
    assert (await sign_off(finance, today, bank, code=UNREAD)).status_code == 409
    assert (await sign_off(ops, first, bank, code=UNREAD)).status_code == 403
    closed = await sign_off(finance, first, bank, "7 cents: a bank charge not yet booked")
    assert closed.status_code == 201, closed.text
    one = closed.json()
    assert (one["seq"], one["day"], one["staff"], one["bank_balance"]) == (
        1,
        first.isoformat(),
        finance.username,
        bank,
    )
    # The pack as it was: that day's issue, the bank's balance and the break.
    stored = (await ops.get(f"/closes/{first.isoformat()}")).json()
    pack = stored["pack"]
    assert pack["day"] == first.isoformat()
    assert pack["trust"]["bank_balance"] == bank and pack["trust"]["bank_difference"] == 7
    assert [m["reference"] for m in pack["trust"]["movements"]] == ["FTCLOSE0001"]
    volumes = {v["product"]: v for v in pack["volumes"]}
    assert volumes["issue_emoney"]["amount"] == 300 * KSH
    assert stored["note"] == "7 cents: a bank charge not yet booked"
    (row,) = await world.rows(
        "SELECT pack, pack_sha256 FROM staff_closes WHERE day = ?", (first.isoformat(),)
    )
    assert hashlib.sha256(str(row[0]).encode()).hexdigest() == row[1] == one["pack_sha256"]
    # Once each, in order, with a fresh code.
    assert (await sign_off(finance, first, bank, code=UNREAD)).status_code == 409
    skipped = await sign_off(finance, first + dt.timedelta(days=2), bank, code=UNREAD)
    assert skipped.status_code == 409
    assert (first + dt.timedelta(days=1)).isoformat() in skipped.json()["error"]
    # Another member of finance (an authenticator gives a few codes a minute).
    finance = await sign_in(platform, "finance")
    wrong = await sign_off(finance, first + dt.timedelta(days=1), bank, code=UNREAD)
    assert wrong.status_code == 401
    second = await sign_off(finance, first + dt.timedelta(days=1), bank)
    assert second.status_code == 201, second.text
    assert second.json()["seq"] == 2 and second.json()["prev_hash"] == one["hash"]
    listed = (await ops.get("/closes")).json()
    assert [c["seq"] for c in listed] == [2, 1] and all(
        "pack" not in c or c["pack"] is None for c in listed
    )
    care = await sign_in(platform, "care_l1")
    assert (await care.get("/closes")).status_code == 403
    # Audited: the close with its hash, and the wrong code.
    auditor = await sign_in(platform, "auditor")
    trail = (await auditor.get("/audit", action="reconciliation.close")).json()
    outcomes = {(e["actor"], e["outcome"], e["entity"]) for e in trail}
    assert (one["staff"], "ok", f"close:{first.isoformat()}") in outcomes
    assert (finance.username, "wrong_code", f"close:{second.json()['day']}") in outcomes
    assert any(one["hash"] in e["detail"] for e in trail)


async def test_the_auditor_checks_a_stored_close_and_finds_a_change(
    platform: Platform, world: World
) -> None:
    auditor = await sign_in(platform, "auditor")
    listed = (await auditor.get("/closes")).json()
    assert listed, "the test before closes days"
    days = [c["day"] for c in reversed(listed)]
    for day in days:
        checked = (await auditor.post(f"/closes/{day}/verify")).json()
        assert checked == {"day": day, "ok": True, "reason": ""}
    store = platform.services.store
    await asyncio.to_thread(
        store.execute, "UPDATE staff_closes SET note = 'nothing to see' WHERE day = ?", (days[0],)
    )
    changed = (await auditor.post(f"/closes/{days[0]}/verify")).json()
    assert changed["ok"] is False and "does not match its hash" in changed["reason"]
    await asyncio.to_thread(
        store.execute,
        "UPDATE staff_closes SET pack = replace(pack, 'FTCLOSE0001', 'FTCLOSE0002') WHERE day = ?",
        (days[0],),
    )
    forged = (await auditor.post(f"/closes/{days[0]}/verify")).json()
    assert forged["ok"] is False and "pack does not match" in forged["reason"]
    # Even someone with the audit key, making the digests again, disagrees with the trail.
    assert platform.console is not None
    key = platform.console.trail.key
    last = await asyncio.to_thread(closes.get, store, days[-1])
    assert last is not None
    before = await asyncio.to_thread(closes.by_seq, store, last.seq - 1)
    forged_close = closes.sealed(key, before, last._replace(note="rewritten with the key"))
    await asyncio.to_thread(
        store.execute,
        "UPDATE staff_closes SET note = ?, pack_sha256 = ?, hash = ? WHERE day = ?",
        (forged_close.note, forged_close.pack_sha256, forged_close.hash, days[-1]),
    )
    rewritten = (await auditor.post(f"/closes/{days[-1]}/verify")).json()
    assert rewritten["ok"] is False and "audit trail recorded" in rewritten["reason"]
    assert (await auditor.post("/closes/2020-01-01/verify")).status_code == 404
    page = await auditor.client.get(f"/staff/closes/{days[-1]}")
    assert page.status_code == 200 and "Check this close" in page.text
    closes_page = await auditor.client.get("/staff/closes")
    assert closes_page.status_code == 200 and "Sign off" not in closes_page.text


async def test_the_sign_off_form(platform: Platform, world: World) -> None:
    finance = await sign_in(platform, "finance")
    page = await finance.client.get("/staff/closes")
    assert page.status_code == 200 and "Sign off" in page.text
    listed = (await finance.get("/closes")).json()
    following = dt.date.fromisoformat(listed[0]["day"]) + dt.timedelta(days=1)
    assert f'value="{following.isoformat()}"' in page.text
    headers = {"X-CSRF-Token": finance.csrf, "HX-Request": "true"}
    form = {"day": following.isoformat(), "bank": "100", "note": "form", "code": finance.code()}
    sent = await finance.client.post("/staff/ui/closes", data=form, headers=headers)
    assert sent.status_code == 204, sent.text
    assert sent.headers["HX-Redirect"] == f"/staff/closes/{following.isoformat()}"
    bad = {"day": "", "bank": "x", "note": "", "code": "1"}
    refused = await finance.client.post("/staff/ui/closes", data=bad, headers=headers)
    assert refused.status_code == 422
