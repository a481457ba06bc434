"""After a stop: accepted business requests are finished, exactly once, by the next start.

Method: a request is stored as accepted (what a stop between acknowledging it
and deciding it leaves behind), the platform stops, and a new one starts on the
same store: the result reaches the ResultURL once, the money moves once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mkoba.channels.daraja import ids
from mkoba.channels.daraja.conversations import Conversation, fingerprint
from tests.channels.daraja.harness import TEST_MSISDN, arrived, running
from tests.compat.listener import Listener

pytestmark = pytest.mark.anyio


async def test_an_accepted_b2c_is_finished_after_a_restart(
    module_store_url: str, tmp_path: Path, listener: Listener
) -> None:
    """Stored, not run; stopped; started: paid once, told once."""
    async with running(module_store_url, tmp_path) as first:
        daraja = first.daraja
        app = daraja.registry.apps[1]
        before = await first.balance()
        now = daraja.now()
        params = {
            "shortcode": "600000",
            "to": TEST_MSISDN,
            "amount": "33",
            "command": "BusinessPayment",
        }
        urls = (listener.url("/recovery"), listener.url("/recovery/timeout"))
        conversation = Conversation(
            conversation_id=ids.conversation_id(now),
            originator_id="recovery-1",
            app_id=app.id,
            kind="b2c",
            shortcode="600000",
            initiator="testapi",
            params=params,
            fingerprint=fingerprint("b2c", "600000", params, urls),
            result_url=urls[0],
            timeout_url=urls[1],
            created=now,
        )
        await daraja.commit([conversation.row()])
    async with running(module_store_url, tmp_path) as second:
        (result,) = await arrived(listener, "/recovery")
        assert result["Result"]["OriginatorConversationID"] == "recovery-1"
        assert result["Result"]["ResultCode"] == 0
        assert await second.balance() == before + 3300
    async with running(module_store_url, tmp_path) as third:
        await asyncio.sleep(0.5)
        assert len(listener.bodies("/recovery")) == 1
        assert await third.balance() == before + 3300
