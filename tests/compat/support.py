"""What the compatibility tests share: the sandbox's credentials, and independent checks.

Checks of money go around the SDK under test: customers' balances through the
native API (with the PIN), businesses' through a raw Daraja balance query, and
receipts straight from the server's database.
"""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from mkoba.channels.daraja.demo import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    INITIATOR,
    INITIATOR_PASSWORD,
)
from mkoba.demo.sandbox import PASSKEY, STK_SHORTCODE, TEST_MSISDN
from tests.channels.serving import Served
from tests.compat.listener import Listener

__all__ = [
    "CONSUMER_KEY",
    "CONSUMER_SECRET",
    "INITIATOR",
    "INITIATOR_PASSWORD",
    "PASSKEY",
    "STK_SHORTCODE",
    "TEST_MSISDN",
]
PIN = "1357"
# Settings every compatibility server runs with: quick sandbox answers and timeouts.
SETTINGS = {
    "daraja_auto_answer_s": "0.1",
    "daraja_validation_timeout_s": "1",
    "daraja_callback_timeout_s": "1",
    "log_level": "warning",
    # The SDK suites and the fuzzer pay from the one sandbox customer far faster than a
    # person: the fraud rules (R1) would hold them. tests/risk tests the rules.
    "risk_rules": "false",
}


def token(url: str) -> str:
    """A bearer token for the sandbox app."""
    response = httpx.get(
        f"{url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def stk_password(shortcode: str = STK_SHORTCODE) -> tuple[str, str]:
    """``(Password, Timestamp)`` for an STK request now."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    return base64.b64encode(f"{shortcode}{PASSKEY}{stamp}".encode()).decode(), stamp


def stk_push(
    url: str, bearer: str, msisdn: str, amount: int, callback: str, reference: str = "TEST"
) -> httpx.Response:
    """A raw STK push (pay bill to the sandbox shortcode) for ``msisdn``."""
    password, stamp = stk_password()
    body = {
        "BusinessShortCode": STK_SHORTCODE,
        "Password": password,
        "Timestamp": stamp,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": amount,
        "PartyA": msisdn,
        "PartyB": STK_SHORTCODE,
        "PhoneNumber": msisdn,
        "CallBackURL": callback,
        "AccountReference": reference,
        "TransactionDesc": reference,
    }
    headers = {"Authorization": f"Bearer {bearer}"}
    return httpx.post(f"{url}/mpesa/stkpush/v1/processrequest", json=body, headers=headers)


def customer_balance(url: str, msisdn: str = TEST_MSISDN, pin: str = PIN) -> int:
    """A customer's wallet balance (minor units), through the native API."""
    response = httpx.post(f"{url}/api/v1/balance", json={"msisdn": msisdn, "pin": pin})
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["balance_minor"])


def funded_customer(url: str, minimum: int, taken: set[str]) -> str:
    """A demo customer not in ``taken`` holding at least ``minimum`` (minor); now taken.

    The demo's history leaves balances uneven, so tests pick whoever has the money.
    """
    for index in range(30, 1000):
        msisdn = str(254712000001 + index)
        if msisdn not in taken and customer_balance(url, msisdn) >= minimum:
            taken.add(msisdn)
            return msisdn
    raise AssertionError(f"no demo customer holds {minimum}")


def business_balances(url: str, listener: Listener, shortcode: str) -> dict[str, tuple[int, int]]:
    """A business's accounts, name -> (current, available) in minor units, via Daraja."""
    path = f"/raw-balance/{uuid.uuid4().hex}"
    body = {
        "Initiator": INITIATOR,
        "SecurityCredential": "x",
        "CommandID": "AccountBalance",
        "PartyA": shortcode,
        "IdentifierType": "4",
        "Remarks": "check",
        "QueueTimeOutURL": listener.url(path + "/timeout"),
        "ResultURL": listener.url(path),
    }
    headers = {"Authorization": f"Bearer {token(url)}"}
    response = httpx.post(f"{url}/mpesa/accountbalance/v1/query", json=body, headers=headers)
    assert response.status_code == 200, response.text
    (result,) = listener.wait(path)
    parameters = {
        p["Key"]: p["Value"] for p in result["Result"]["ResultParameters"]["ResultParameter"]
    }
    accounts = {}
    for account in str(parameters["AccountBalance"]).split("&"):
        name, _currency, current, available, _reserved, _uncleared = account.split("|")
        accounts[name] = (_minor(current), _minor(available))
    return accounts


def _minor(text: str) -> int:
    whole, _, part = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int(part or 0))


def receipt(served: Served, number: str) -> dict[str, Any]:
    """A receipt as the server stored it."""
    columns = ("receipt", "product", "status", "amount", "fee", "business_fee", "reference")
    rows = served.rows(f"SELECT {', '.join(columns)} FROM receipts WHERE receipt = ?", (number,))
    assert rows, f"no receipt {number}"
    return dict(zip(columns, rows[0], strict=True))


def reconcile(db: Path | str) -> subprocess.CompletedProcess[str]:
    """``mkoba reconcile`` on a stopped server's store."""
    return subprocess.run(
        [sys.executable, "-c", "from mkoba.cli import main; main()", "reconcile", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
