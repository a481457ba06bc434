"""A front's rows no core answered in time are sent again as the same batch.

A front gives up on a batch at its deadline while a core may still hold the ask
and commit it. What the channel commits next about the same thing must be that
batch again, flagged, so the core commits it once (``RowsServer`` looks it up:
``tests/compat/test_rows_retried.py``), never different rows. Here a slow core
on the real NATS server records what it is asked.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from nats.aio.msg import Msg

from mkoba.bus.jetstream import NatsBus
from mkoba.bus.remote import CoreUnavailableError, RemoteRows
from mkoba.bus.rows import rows_from
from mkoba.ledger import Write

pytestmark = pytest.mark.anyio


async def test_rows_given_up_on_are_asked_again_as_the_same_batch(bus_url: str) -> None:
    front = NatsBus(bus_url)
    await front.connect()
    core = NatsBus(bus_url)
    await core.connect()
    asked: list[tuple[str, bool, str]] = []
    slow = asyncio.Event()

    async def on_rows(message: Msg) -> None:
        writes, _poke, batch, again = rows_from(message.data)
        asked.append((batch, again, json.dumps(writes[0].values)))
        if not slow.is_set():
            return  # the first core never answers in time
        await message.respond(b"ok")

    try:
        await core.client.subscribe(f"{core.prefix}.rows", cb=on_rows)
        rows = RemoteRows(front, timeout_s=0.5)
        ending = [Write("daraja_prompts", ("checkout_id", "state"), ("ws_1", "failed"))]
        with pytest.raises(CoreUnavailableError) as given_up:
            await rows.submit(ending)
        batch = given_up.value.batch
        assert batch and {b for b, _, _ in asked} == {batch}
        assert asked[0][1] is False  # the first ask, then asked again until the deadline
        slow.set()
        asked.clear()
        await rows.submit(ending, batch=batch)
        # The same batch, flagged, the same rows (a first ask's late copy, on a loaded
        # machine, may arrive meanwhile: it is the same batch too).
        assert (batch, True, json.dumps(["ws_1", "failed"])) in asked
        assert {b for b, _, _ in asked} == {batch}
        # Rows of their own get a batch of their own, asked for the first time.
        asked.clear()
        await rows.submit(ending)
        fresh = [ask for ask in asked if ask[0] != batch]
        assert fresh and all(again is False for _, again, _ in fresh)
        assert len({b for b, _, _ in fresh}) == 1
    finally:
        await front.close()
        await core.close()
