"""A front's rows asked again after the core restarted commit once.

A front sends a batch of rows (here a queued callback, as a Daraja front writes
one); the core commits it, and the answer is lost (the core dies before it
answers, or the front's ask times out). The front asks again, flagged, and the
core that answers now is another process (restarted, or a standby that took
over): it must find that the batch committed and not commit it twice (a second
callback to the client, with an outbox id of its own).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import nats

from mkoba.bus.rows import rows_bytes
from mkoba.channels.daraja.callbacks import outbox_id_base
from mkoba.ledger import Write
from mkoba.outbox.schema import OUTBOX_COLUMNS
from tests.compat.listener import Listener
from tests.compat.test_core_down import core
from tests.conftest import NATS_URL


def _callback(url: str, body: str) -> Write:
    now = int(time.time() * 1000)
    values = (outbox_id_base + 5, "ws_x", "callback", url, body, "queued", 0, now, now, now, "")
    return Write("outbox", OUTBOX_COLUMNS, values)


def _ask(bus: str, payload: bytes) -> bytes:
    async def send() -> bytes:
        client = await nats.connect(NATS_URL)
        try:
            answer = await client.request(f"{bus.rsplit('/', 1)[1]}.rows", payload, timeout=10)
            return bytes(answer.data)
        finally:
            await client.close()

    return asyncio.run(send())


def test_a_batch_asked_again_after_a_restart_commits_once(
    tmp_path: Path, bus_url: str, listener: Listener
) -> None:
    first = json.dumps({"n": 1, "id": uuid.uuid4().hex})
    second = json.dumps({"n": 2, "id": uuid.uuid4().hex})
    batch = uuid.uuid4().hex[:24]
    with core(tmp_path, bus_url):
        assert (
            _ask(bus_url, rows_bytes([_callback(listener.url("/r/1"), first)], True, batch))
            == b"ok"
        )
    listener.wait("/r/1")
    with core(tmp_path, bus_url) as restarted:
        # The same batch, asked again: the new process finds it committed.
        again = rows_bytes([_callback(listener.url("/r/1"), first)], True, batch, again=True)
        assert _ask(bus_url, again) == b"ok"
        # A batch asked "again" that never reached a core commits as a first ask does.
        unseen = rows_bytes(
            [_callback(listener.url("/r/2"), second)], True, batch[:-4] + "ffff", again=True
        )
        assert _ask(bus_url, unseen) == b"ok"
        listener.wait("/r/2")
        rows = restarted.rows("SELECT recipient FROM outbox WHERE channel = 'callback'")
    recipients = [url for (url,) in rows if url.startswith(listener.url("/r/"))]
    assert sorted(recipients) == [listener.url("/r/1"), listener.url("/r/2")]
    # One callback each reached the client, none twice.
    assert listener.bodies("/r/1") == [json.loads(first)]
    assert listener.bodies("/r/2") == [json.loads(second)]
