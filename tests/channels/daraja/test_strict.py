"""Strict SecurityCredential mode: the three plaintext conventions SDKs use, and nothing else.

Method: a platform in strict mode; its certificate is fetched from the server
as a developer would, and B2C requests carry credentials made by the SDKs' own
functions with that certificate: mpesakit's (password + timestamp),
daraja-sdk-py's (base64 of the password), the documented raw password, and
``mkoba daraja credential``'s.
Each pays; a wrong password or junk is answered 2001 and pays nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from daraja.utils import generate_security_credential as daraja_credential
from mpesakit.security.get_credential import generate_security_credential as mpesakit_credential
from typer.testing import CliRunner

from mkoba.channels.daraja.cli import daraja_app
from mkoba.channels.daraja.credential import encrypt
from mkoba.channels.daraja.demo import INITIATOR_PASSWORD
from tests.channels.daraja.harness import (
    INITIATOR,
    TEST_MSISDN,
    Served,
    arrived,
    result_urls,
    running,
)
from tests.compat.listener import Listener

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def served(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    folder = tmp_path_factory.mktemp("strict")
    async with running(module_store_url, folder, daraja_credentials="strict") as it:
        yield it


async def test_credentials_by_each_convention(
    served: Served, listener: Listener, tmp_path: Path
) -> None:
    """Each SDK's credential pays; a wrong password and junk get 2001 and pay nothing."""
    pem = await served.client.get("/api/v1/daraja/certificate")
    assert pem.status_code == 200 and "BEGIN CERTIFICATE" in pem.text
    certificate = tmp_path / "mkoba.cer"
    certificate.write_text(pem.text)
    with warnings.catch_warnings():
        # mpesakit 2.2.0 reads the certificate with open(...).read() and never closes it.
        warnings.simplefilter("ignore", ResourceWarning)
        by_mpesakit = mpesakit_credential(INITIATOR_PASSWORD, cert_path=str(certificate))
    made = CliRunner().invoke(
        daraja_app,
        ["credential", "--keys-dir", str(served.platform.settings.keys_dir)],
        input=f"{INITIATOR_PASSWORD}\n",
    )
    assert made.exit_code == 0, made.output
    by_command = made.output.strip().splitlines()[-1].strip()
    cases = {
        "mpesakit": (by_mpesakit, 0),
        "command": (by_command, 0),
        "daraja-sdk-py": (daraja_credential(INITIATOR_PASSWORD, str(certificate)), 0),
        "raw": (encrypt(certificate, INITIATOR_PASSWORD), 0),
        "wrong": (encrypt(certificate, "not the password"), 2001),
        "junk": ("bm90IGEgY3JlZGVudGlhbA==", 2001),
    }
    before = await served.balance()
    token = await served.token()
    for name, (credential, _) in cases.items():
        body = {
            "OriginatorConversationID": f"strict-{name}",
            "InitiatorName": INITIATOR,
            "SecurityCredential": credential,
            "CommandID": "BusinessPayment",
            "Amount": 10,
            "PartyA": "600000",
            "PartyB": TEST_MSISDN,
            "Remarks": name,
            **result_urls(listener, f"/strict/{name}"),
        }
        answer = await served.post("/mpesa/b2c/v3/paymentrequest", body, token)
        assert answer.status_code == 200, answer.text
    for name, (_, code) in cases.items():
        (result,) = await arrived(listener, f"/strict/{name}")
        assert result["Result"]["ResultCode"] == code, name
    assert await served.balance() == before + 4 * 1000
