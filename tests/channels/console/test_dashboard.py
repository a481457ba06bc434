"""The dashboard over the staff API: volumes by product and channel, health, float levels.

Method: a running platform; customers send each other money over two channels and one
request fails; the dashboard is read before and after, and the change must be exactly
what was done: counts and values per product and per channel (from the receipts), the
requests and successes TranProc's metrics counted, and the agents' floats as issued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.processor.request import Channel
from tests.channels.console.staff import Member, sign_in
from tests.conftest import MakePlatform
from tests.world import CUSTOMER_PIN, KSH, World

pytestmark = pytest.mark.anyio
STATIC = Path(__file__).parents[3] / "src/mkoba/channels/console/static"


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> Platform:
    return await make_platform("console-dashboard")


def today(platform: Platform, world: World) -> dt.date:
    zone = world.services.profile(platform.clock()).timezone
    return dt.datetime.fromtimestamp(platform.clock() / 1e9, zone).date()


def summed(board: dict[str, Any], table: str, name: str) -> tuple[int, int]:
    series = board["volumes"][table].get(name, {"transactions": [0], "amount": [0]})
    return sum(series["transactions"]), sum(series["amount"])


def requests_of(board: dict[str, Any], product: str) -> tuple[int, int]:
    found = [p for p in board["health"]["products"] if p["product"] == product]
    return (found[0]["requests"], found[0]["succeeded"]) if found else (0, 0)


async def read(member: Member, **params: str) -> dict[str, Any]:
    answer = await member.get("/dashboard", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_volumes_and_health_change_by_exactly_what_was_done(
    platform: Platform, world: World
) -> None:
    ops = await sign_in(platform, "operations")
    payer = await world.customer(10_000)
    payee = await world.customer()
    assert payer.msisdn and payee.msisdn
    day = today(platform, world).isoformat()
    before = await read(ops, start=day, end=day)
    assert before["volumes"]["step"] == "hour" and len(before["volumes"]["labels"]) in (23, 24, 25)
    for amount, channel in (("100", Channel.API), ("250", Channel.API), ("400", Channel.USSD)):
        sent = await world.ask(
            "send_money",
            payer.msisdn,
            CUSTOMER_PIN,
            to=payee.msisdn,
            amount=amount,
            channel=channel,
        )
        assert sent.code is Code.OK, sent
    wrong = await world.ask("send_money", payer.msisdn, "0000", to=payee.msisdn, amount="5")
    assert wrong.code is not Code.OK
    after = await read(ops, start=day, end=day)

    def moved(table: str, name: str) -> tuple[int, int]:
        now, then = summed(after, table, name), summed(before, table, name)
        return now[0] - then[0], now[1] - then[1]

    assert moved("by_product", "send_money") == (3, 750 * KSH)
    assert moved("by_channel", "api") == (2, 350 * KSH)
    assert moved("by_channel", "ussd") == (1, 400 * KSH)
    total = after["volumes"]["total"]
    assert sum(total["transactions"]) == sum(
        sum(s["transactions"]) for s in after["volumes"]["by_product"].values()
    )
    # The metrics: four send_money requests decided, three of them successes.
    requests_now, ok_now = requests_of(after, "send_money")
    requests_then, ok_then = requests_of(before, "send_money")
    assert (requests_now - requests_then, ok_now - ok_then) == (4, 3)
    health = after["health"]
    assert "since it started" in health["window"]
    sends = next(p for p in health["products"] if p["product"] == "send_money")
    assert sends["latency_mean_ms"] > 0 and sends["latency_p95_ms"] >= sends["latency_mean_ms"]
    # Over three days, in days: today's step holds what today's hours held.
    three = (today(platform, world) - dt.timedelta(days=2)).isoformat()
    days = await read(ops, start=three, end=day)
    assert days["volumes"]["step"] == "day" and days["volumes"]["labels"][-1] == day
    assert len(days["volumes"]["labels"]) == 3
    daily = days["volumes"]["by_product"]["send_money"]
    assert daily["transactions"][-1] == summed(after, "by_product", "send_money")[0]
    assert daily["amount"][-1] == summed(after, "by_product", "send_money")[1]
    assert daily["transactions"][0] == 0


async def test_agent_floats_lowest_first_with_the_threshold(
    platform: Platform, world: World
) -> None:
    _, (poor,) = await world.agent(float_ksh=1_000)
    _, (rich,) = await world.agent(float_ksh=90_000)
    finance = await sign_in(platform, "finance")
    board = await read(finance, low=str(5_000 * KSH))
    floats = board["floats"]
    balances = [level["balance"] for level in floats["levels"]]
    assert balances == sorted(balances)
    by_id = {level["party_id"]: level for level in floats["levels"]}
    assert by_id[poor.id]["balance"] == 1_000 * KSH and by_id[poor.id]["low"] is True
    assert by_id[rich.id]["balance"] == 90_000 * KSH and by_id[rich.id]["low"] is False
    assert floats["threshold"] == 5_000 * KSH
    assert floats["below"] == sum(level["low"] for level in floats["levels"])


async def test_who_may_see_it_and_bad_ranges(platform: Platform, world: World) -> None:
    care = await sign_in(platform, "care_l1")
    assert (await care.get("/dashboard")).status_code == 403
    auditor = await sign_in(platform, "auditor")
    assert (await auditor.get("/dashboard")).status_code == 200
    long = await auditor.get("/dashboard", start="2026-01-01", end="2026-12-31")
    assert long.status_code == 422 and "92 days" in long.json()["error"]
    backwards = await auditor.get("/dashboard", start="2026-02-02", end="2026-02-01")
    assert backwards.status_code == 422
    page = await auditor.client.get("/staff/dashboard")
    assert page.status_code == 200
    assert "/staff/static/uPlot.iife.min.js" in page.text and 'id="dashboard"' in page.text
    assert "://" not in page.text.split("<main>")[0].replace("http://www.w3.org", "")


@pytest.mark.parametrize("name", ["uPlot.iife.min.js", "uPlot.min.css"])
def test_the_vendored_uplot_is_the_one_its_record_names(name: str) -> None:
    record = (STATIC / "VENDORED.md").read_text("utf-8")
    found = re.search(
        rf"`{re.escape(name)}` \| `uplot` \| [0-9.]+ \|.*\| `([0-9a-f]{{64}})` \|", record
    )
    assert found is not None
    assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == found.group(1)
