"""The daily finance pack over the staff API: trial balance, trust reconciliation, volumes.

Method: a running platform (both stores); e-money issued through the console's
maker-checker, customers paying each other; the pack is read as finance, compared
with the ledger's own balances and with what was done that day.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import Purpose
from tests.channels.console.staff import sign_in
from tests.conftest import MakePlatform
from tests.world import CUSTOMER_PIN, KSH, TRUST, World

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-finance")


async def test_the_pack_balances_and_shows_the_day(platform: Platform, world: World) -> None:
    ops = await sign_in(platform, "operations")
    finance = await sign_in(platform, "finance")
    made = (
        await ops.make("issue_emoney", kind="operator", amount="500", reference="FTPACK0001")
    ).json()
    assert (await finance.approve(made["id"])).json()["state"] == "done"
    payer = await world.customer(1_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    sends = 3
    for _ in range(sends):
        sent = await world.ask(
            "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="200"
        )
        assert sent.code is Code.OK
    zone = world.services.profile(platform.clock()).timezone
    day = dt.datetime.fromtimestamp(platform.clock() / 1e9, zone).date().isoformat()
    (mirror,) = await asyncio.wrap_future(platform.writer.balances([TRUST]))
    assert mirror is not None
    bank = mirror.debits_posted - mirror.credits_posted + 7
    pack = (await finance.get("/finance/pack", day=day, bank=str(bank))).json()
    assert pack["balanced"] is True
    trust = pack["trust"]
    assert trust["difference"] == 0 and trust["trust_mirror"] == bank - 7
    assert trust["bank_difference"] == 7  # a break for finance to find
    assert [m["reference"] for m in trust["movements"]] == ["FTPACK0001"]
    lines = {line["code"]: line for line in pack["trial_balance"]}
    debits = sum(line["debits_posted"] for line in lines.values())
    assert debits == sum(line["credits_posted"] for line in lines.values())
    assert lines[int(Purpose.TRUST)]["kind"] == "trust"
    volumes = {v["product"]: v for v in pack["volumes"]}
    assert volumes["send_money"]["transactions"] >= sends
    assert volumes["send_money"]["fee"] > 0
    assert volumes["issue_emoney"]["amount"] >= 500 * KSH
    assert pack["totals"]["transactions"] == sum(v["transactions"] for v in pack["volumes"])
    table = (await finance.get("/finance/pack", day=day, format="csv")).text
    rows = list(csv.reader(io.StringIO(table)))
    assert ["Trial balance"] in rows and ["Trust reconciliation"] in rows
    assert ["Volumes and values"] in rows
    # Another day has none of today's volumes; care may not see the pack.
    quiet = (await finance.get("/finance/pack", day="2020-01-01")).json()
    assert quiet["volumes"] == [] and quiet["totals"]["transactions"] == 0
    care = await sign_in(platform, "care_l1")
    assert (await care.get("/finance/pack", day=day)).status_code == 403
    auditor = await sign_in(platform, "auditor")
    assert (await auditor.get("/finance/pack", day=day)).status_code == 200
