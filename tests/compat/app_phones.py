"""Phones with the app, enrolled on a front of a split platform (the code read from the core).

In the split form the enrolment code goes by SMS from the core's outbox, so it is
read from the core's in-memory SMSC, as the number's simulated handset reads it.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.channels.app.phone import AppPhone, code_in
from tests.channels.serving import Served
from tests.compat.support import PIN


async def enrolled(client: httpx.AsyncClient, core: Served, msisdn: str) -> AppPhone:
    """``msisdn``'s app bound through ``client``'s front, with the demo PIN."""
    phone = AppPhone(client, msisdn)
    async with httpx.AsyncClient(base_url=core.url, auth=core.handsets) as handset:
        inbox = f"/api/v1/sms/{msisdn}"
        before = len((await handset.get(inbox)).json()["messages"])
        enrolment = await phone.start()
        messages: list[dict[str, str]] = []
        for _ in range(200):  # the route answers before TranProc texts the code
            messages = (await handset.get(inbox)).json()["messages"]
            if len(messages) > before:
                break
            await asyncio.sleep(0.05)
        assert len(messages) > before, "no enrolment SMS"
    confirmed = await phone.confirm(enrolment, code_in(messages[-1]["text"]), PIN)
    assert confirmed.status_code == 201, confirmed.text
    return phone
