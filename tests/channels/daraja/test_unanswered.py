"""An STK outcome a core committed but never answered is the prompt's one outcome.

In the cluster form a front commits a prompt's failure (and its callback) through
the core. A core killed after committing it and before answering leaves the front
told "no core answered". The outcome stands: the front sends the same rows again,
as the same batch, until a core answers, and a core commits a batch once. Found
by the fault suite twice: a core killed after committing (the prompt, reopened,
expired and committed a second outcome), and an ask still in flight when the front
gave up, committed by a standby after the prompt had expired (1032, then 1037).
Method: the channel's commit is made to fail as an unanswered one does, once,
having committed, or committing only later, as the core that got the ask does.
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


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One platform's keys for the module: its Daraja app's stored secrets open with them."""
    return tmp_path_factory.mktemp("unanswered")


async def test_a_committed_cancel_no_core_answered_is_not_made_up_again(
    module_store_url: str, folder: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(
        module_store_url,
        folder,
        daraja_auto_rules=f"{WAITING}=ignore",
        daraja_stk_timeout_s=LIFE_S,
    ) as served:
        daraja = served.daraja
        commit = daraja.commit
        unanswered: list[Sequence[Write]] = []

        async def committed_unanswered(
            writes: Sequence[Write], *, callbacks: bool = False, batch: str = ""
        ) -> None:
            await commit(list(writes), callbacks=callbacks, batch=batch)
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


async def test_a_cancel_a_core_commits_after_the_front_gave_up_is_the_one_outcome(
    module_store_url: str, folder: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(
        module_store_url,
        folder,
        daraja_auto_rules=f"{WAITING}=ignore",
        daraja_stk_timeout_s=LIFE_S,
    ) as served:
        daraja = served.daraja
        commit = daraja.commit
        landed: set[str] = set()
        late: list[asyncio.Task[None]] = []
        asks: list[str] = []

        async def land(writes: Sequence[Write], batch: str) -> None:
            # The core that has the ask commits a batch once, however often it is asked.
            if batch not in landed:
                landed.add(batch)
                await commit(list(writes), callbacks=True)

        async def in_flight_when_given_up(
            writes: Sequence[Write], *, callbacks: bool = False, batch: str = ""
        ) -> None:
            if not callbacks:
                await commit(list(writes), callbacks=callbacks, batch=batch)
                return
            asks.append(batch)
            if not late:
                # The ask is still with a core when the front gives up: it lands later,
                # after the prompt's life would have ended.
                async def later() -> None:
                    await asyncio.sleep(LIFE_S + 1.0)
                    await land(writes, "b1")

                late.append(asyncio.get_running_loop().create_task(later()))
                error = CoreUnavailableError("no core answered on rows in 6 s")
                error.batch = "b1"
                raise error
            await land(writes, batch)

        monkeypatch.setattr(daraja, "commit", in_flight_when_given_up)
        pushed = await served.post(
            "/mpesa/stkpush/v1/processrequest", stk_body(listener, "/late", WAITING)
        )
        assert pushed.status_code == 200, pushed.text
        checkout = pushed.json()["CheckoutRequestID"]
        handset = served.handset(TEST_MSISDN)
        cancel = await served.client.post(
            f"/api/v1/stk/{checkout}/answer", json={"cancel": True}, headers=handset
        )
        assert cancel.status_code == 503, cancel.text
        await late[0]
        (told,) = await arrived(listener, "/late")
        assert told["Body"]["stkCallback"]["ResultCode"] == 1032
        await asyncio.sleep(0.5)
        said = [body["Body"]["stkCallback"]["ResultCode"] for body in listener.bodies("/late")]
        assert said == [1032]
        # The front sent the same ending again, as the same batch, never another outcome.
        assert asks[0] == "" and set(asks[1:]) == {"b1"}
        rows = await asyncio.to_thread(
            daraja.tables.query,
            "SELECT state, result_code FROM daraja_prompts WHERE checkout_id = ?",
            (checkout,),
        )
        assert [tuple(row) for row in rows] == [("failed", "1032")]
        # The customer cancels again: the prompt answers as it ended.
        again = await served.client.post(
            f"/api/v1/stk/{checkout}/answer", json={"cancel": True}, headers=handset
        )
        assert again.json()["data"]["ResultCode"] == "1032", again.text
