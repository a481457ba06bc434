"""An STK outcome a core committed but never answered is the prompt's one outcome.

In the cluster form a front commits a prompt's failure (and its callback) through
the core. A core killed after committing it and before answering leaves the front
told "no core answered": the prompt stays open, as the outcome may not have been
committed. Found by the fault suite (kill -9 of the core under load): the prompt,
reopened, later expired and committed a second outcome, and the business was called
back 1032 and then 1037. Method: the channel's commit is made to commit and then
fail as an unanswered one does, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from mkoba.bus.remote import CoreUnavailableError
from mkoba.ledger import Write
from tests.channels.daraja.harness import TEST_MSISDN, arrived, running, stk_body
from tests.compat.listener import Listener

pytestmark = pytest.mark.anyio
# The sandbox leaves a prompt of KES 7 for the test to answer.
WAITING = 7
LIFE_S = 1.0


async def test_a_committed_cancel_no_core_answered_is_not_made_up_again(
    module_store_url: str, tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(
        module_store_url,
        tmp_path,
        daraja_auto_rules=f"{WAITING}=ignore",
        daraja_stk_timeout_s=LIFE_S,
    ) as served:
        daraja = served.daraja
        commit = daraja.commit
        unanswered: list[Sequence[Write]] = []

        async def committed_unanswered(writes: Sequence[Write], *, callbacks: bool = False) -> None:
            await commit(list(writes), callbacks=callbacks)
            if callbacks and not unanswered:
                unanswered.append(writes)
                raise CoreUnavailableError("no core answered on rows in 6 s")

        monkeypatch.setattr(daraja, "commit", committed_unanswered)
        pushed = await served.post(
            "/mpesa/stkpush/v1/processrequest", stk_body(listener, "/unanswered", WAITING)
        )
        assert pushed.status_code == 200, pushed.text
        checkout = pushed.json()["CheckoutRequestID"]
        handset = served.handset(TEST_MSISDN)
        cancel = await served.client.post(
            f"/api/v1/stk/{checkout}/answer", json={"cancel": True}, headers=handset
        )
        assert cancel.status_code == 503, cancel.text  # busy: the customer was not told
        assert len(unanswered) == 1
        (told,) = await arrived(listener, "/unanswered")
        assert told["Body"]["stkCallback"]["ResultCode"] == 1032
        # The prompt's life ends, and the customer cancels again: 1032 it stays.
        await asyncio.sleep(LIFE_S + 1.5)
        again = await served.client.post(
            f"/api/v1/stk/{checkout}/answer", json={"cancel": True}, headers=handset
        )
        assert again.json()["data"]["ResultCode"] == "1032", again.text
        await asyncio.sleep(0.5)
        bodies = listener.bodies("/unanswered")
        said = {body["Body"]["stkCallback"]["ResultCode"] for body in bodies}
        assert said == {1032}
        rows = await asyncio.to_thread(
            daraja.tables.query,
            "SELECT state, result_code FROM daraja_prompts WHERE checkout_id = ?",
            (checkout,),
        )
        assert [tuple(row) for row in rows] == [("failed", "1032")]
