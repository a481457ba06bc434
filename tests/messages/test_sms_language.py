"""A real Swahili SMS, from a running platform, at the moment of the report (00:28 in Nairobi).

The SMS said "tarehe 05/12/26 at 12:28 AM"; the payer reads it in Swahili and
Swahili time, the payee the same moment in English, as M-Pesa writes it; a
reversal names the sent time ("tarehe ... saa ...") in the payer's language too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.messages.test_languages import ENGLISH
from tests.products.world import CUSTOMER_PIN, World, running

pytestmark = pytest.mark.anyio
REPORTED = dt.datetime(2026, 12, 5, 0, 28, tzinfo=ZoneInfo("Africa/Nairobi"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_each_party_reads_the_moment_in_its_own_language(tmp_path: Path) -> None:
    async with running(str(tmp_path / "mkoba.db"), tmp_path) as platform:
        world = World(platform)
        payer = await world.customer(1_000, name="Wanjiku Kamau", language="sw")
        payee = await world.customer(name="Otieno Odhiambo", language="en")
        assert payer.msisdn and payee.msisdn
        platform.clock.fixed = int(REPORTED.timestamp()) * 1_000_000_000
        try:
            sent = await world.ask(
                "send_money", payer.msisdn, CUSTOMER_PIN, to=payee.msisdn, amount="100"
            )
            assert sent.ok and sent.receipt, sent
            reversal = await world.ask(
                "request_reversal", payer.msisdn, CUSTOMER_PIN, receipt=sent.receipt
            )
            assert reversal.ok, reversal
        finally:
            platform.clock.fixed = None

        texts = {sms.recipient: sms.body for sms in await world.sms(sent.request_id)}
        asked = {sms.recipient: sms.body for sms in await world.sms(reversal.request_id)}

    swahili = [texts[payer.msisdn], asked[payer.msisdn]]
    assert "tarehe 05/12/26 saa 6:28 usiku" in swahili[0]
    assert "tarehe 05/12/26 saa 6:28 usiku" in swahili[1]
    for text in swahili:
        assert ENGLISH.search(text) is None, text
    assert "on 05/12/26 at 12:28 AM" in texts[payee.msisdn]
    assert "on 05/12/26 at 12:28 AM" in asked[payee.msisdn]
