"""C2B external validation and confirmation, and the ``mkoba daraja`` commands that set them up.

Method: a platform per store; the commands run against its store as an
operator would, and the running channel picks their changes up. Simulated
payments then go through validation (accepted, rejected, unanswered with
each default action) and confirmation; the money is checked in the ledger.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from typer.testing import CliRunner

from mkoba.channels.daraja.cli import daraja_app
from mkoba.parties import Purpose
from tests.channels.daraja.harness import TEST_MSISDN, Served, arrived, running
from tests.compat.listener import Listener, Reply

pytestmark = pytest.mark.anyio
SHORTCODE = "600782"


@pytest.fixture(scope="module")
async def served(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    folder = tmp_path_factory.mktemp("c2b")
    async with running(module_store_url, folder) as it:
        yield it


def daraja(served: Served, *args: str) -> str:
    """``mkoba daraja ...`` on the served store; its output."""
    settings = served.platform.settings
    command = [*args, "--db", settings.db]
    if args[0] in ("apps", "shortcodes", "initiators") and args[1] in ("create", "rotate", "add"):
        command += ["--keys-dir", str(settings.keys_dir)]
    result = CliRunner().invoke(daraja_app, command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


async def simulate(served: Served, amount: int, reference: str) -> None:
    body = {
        "ShortCode": SHORTCODE,
        "CommandID": "CustomerPayBillOnline",
        "Amount": amount,
        "Msisdn": TEST_MSISDN,
        "BillRefNumber": reference,
    }
    answer = await served.post("/mpesa/c2b/v1/simulate", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["OriginatorCoversationID"] == answer.json()["OriginatorConversationID"]


async def utility(served: Served) -> int:
    """What the paybill's utility account holds now (minor units)."""
    code = served.daraja.registry.shortcodes[SHORTCODE]
    services = served.platform.services
    account = services.directory.account(code.party_id, Purpose.UTILITY)
    assert account is not None
    (found,) = await asyncio.wrap_future(services.writer.balances([account]))
    assert found is not None
    return found.available


async def test_validation_decides_and_confirmation_follows(
    served: Served, listener: Listener
) -> None:
    """Accepted (ThirdPartyTransID echoed), rejected, silent + Completed, silent + Cancelled."""
    daraja(
        served,
        "urls",
        "set",
        SHORTCODE,
        "--confirmation",
        listener.url("/c2b/confirm"),
        "--validation",
        listener.url("/c2b/validate"),
        "--response-type",
        "Completed",
        "--version",
        "v1",
    )
    daraja(served, "urls", "validation", SHORTCODE, "--on")
    await served.daraja.refresh()
    assert served.daraja.registry.shortcodes[SHORTCODE].external_validation

    listener.script(
        "/c2b/validate",
        Reply(body={"ResultCode": "0", "ResultDesc": "Accepted", "ThirdPartyTransID": "tp-77"}),
        Reply(body={"ResultCode": "C2B00012", "ResultDesc": "Rejected"}),
        Reply(delay_s=1.5),
    )
    start = await utility(served)
    await simulate(served, 21, "GOOD")
    (confirmed,) = await arrived(listener, "/c2b/confirm")
    assert (confirmed["ThirdPartyTransID"], confirmed["BillRefNumber"]) == ("tp-77", "GOOD")
    assert confirmed["MSISDN"] == TEST_MSISDN  # v1: not masked
    (validation,) = await arrived(listener, "/c2b/validate")
    assert validation["TransID"] == "" and validation["OrgAccountBalance"] == ""
    assert await utility(served) == start + 2100

    await simulate(served, 22, "BAD")
    await arrived(listener, "/c2b/validate", 2)
    await simulate(served, 23, "SILENT")
    await arrived(listener, "/c2b/confirm", 2, timeout_s=10)
    assert [c["BillRefNumber"] for c in listener.bodies("/c2b/confirm")] == ["GOOD", "SILENT"]
    assert await utility(served) == start + 2100 + 2300

    daraja(
        served,
        "urls",
        "set",
        SHORTCODE,
        "--confirmation",
        listener.url("/c2b/confirm"),
        "--validation",
        listener.url("/c2b/validate"),
        "--response-type",
        "Cancelled",
    )
    await served.daraja.refresh()
    listener.script("/c2b/validate", Reply(delay_s=1.5))
    await simulate(served, 24, "CANCELLED")
    await arrived(listener, "/c2b/validate", 4)
    await asyncio.sleep(1.0)
    assert len(listener.bodies("/c2b/confirm")) == 2
    assert await utility(served) == start + 2100 + 2300
    listed = daraja(served, "urls", "list")
    assert SHORTCODE in listed and "Cancelled" in listed


async def test_an_app_made_by_the_command_gets_tokens(served: Served) -> None:
    """``apps create`` shows the key and secret once; the running server knows the app at once."""
    output = daraja(served, "apps", "create", "Shop app", "--products", "stk,b2c")
    key = re.search(r"consumer key\s+(\S+)", output)
    secret = re.search(r"consumer secret\s+(\S+)", output)
    assert key is not None and secret is not None
    answer = await served.client.get(
        "/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(key.group(1), secret.group(1)),
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    # The app holds stk and b2c only: C2B is another API product.
    refused = await served.post("/mpesa/c2b/v1/registerurl", {}, token)
    assert refused.json()["errorCode"] == "401.003.01"
    assert "Shop app" in daraja(served, "apps", "list")


async def test_the_other_commands(served: Served, listener: Listener) -> None:
    """Shortcodes, initiators, the delivery log, credentials, disabling an app."""
    output = daraja(served, "apps", "create", "Second app")
    key = re.search(r"consumer key\s+(\S+)", output)
    secret = re.search(r"consumer secret\s+(\S+)", output)
    assert key is not None and secret is not None
    app_id = re.search(r"app (\d+)", output)
    assert app_id is not None
    daraja(served, "shortcodes", "add", app_id.group(1), "600610", "--kind", "paybill")
    result = CliRunner().invoke(
        daraja_app,
        [
            "initiators",
            "add",
            app_id.group(1),
            "clerk",
            "--roles",
            "balance",
            "--db",
            served.platform.settings.db,
            "--keys-dir",
            str(served.platform.settings.keys_dir),
        ],
        input="clerk-password\nclerk-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "600610" in daraja(served, "shortcodes", "list")
    await served.daraja.refresh()
    auth = (key.group(1), secret.group(1))
    answer = await served.client.get(
        "/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=auth
    )
    token = answer.json()["access_token"]
    for command, path in (("AccountBalance", "/cli/balance"),):
        body = {
            "Initiator": "clerk",
            "SecurityCredential": "x",
            "CommandID": command,
            "PartyA": "600610",
            "Remarks": "cli",
            "ResultURL": listener.url(path),
            "QueueTimeOutURL": listener.url(path + "/timeout"),
        }
        assert (await served.post("/mpesa/accountbalance/v1/query", body, token)).status_code == 200
    (balance,) = await arrived(listener, "/cli/balance")
    assert balance["Result"]["ResultCode"] == "0"
    # The clerk holds the balance role only: a B2C is answered 21 by result.
    b2c = {
        "InitiatorName": "clerk",
        "SecurityCredential": "x",
        "CommandID": "BusinessPayment",
        "Amount": 10,
        "PartyA": "600610",
        "PartyB": TEST_MSISDN,
        "ResultURL": listener.url("/cli/b2c"),
        "QueueTimeOutURL": listener.url("/cli/b2c/timeout"),
    }
    assert (await served.post("/mpesa/b2c/v3/paymentrequest", b2c, token)).status_code == 200
    (refused,) = await arrived(listener, "/cli/b2c")
    assert refused["Result"]["ResultCode"] == 21
    store = served.daraja.tables
    for _ in range(100):
        kinds = await asyncio.to_thread(
            store.query,
            "SELECT DISTINCT kind FROM daraja_deliveries WHERE app_id = ?",
            (int(app_id.group(1)),),
        )
        if len(kinds) == 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(kind for (kind,) in kinds) == ["b2c.result", "balance.result"]
    assert "Callback deliveries" in daraja(served, "callbacks", "log", "--app", app_id.group(1))
    assert "Callbacks" in daraja(served, "callbacks", "list", "--state", "delivered")
    daraja(served, "apps", "disable", app_id.group(1))
    await served.daraja.refresh()
    again = await served.client.get(
        "/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=auth
    )
    assert again.status_code == 400
    assert (await served.post("/mpesa/accountbalance/v1/query", {}, token)).status_code == 401
