"""The channel's pure pieces: lenient bodies, exact JSON, ids, codes, credentials, rules.

Method: each piece is fed what SDKs really send (daraja.md §2.2, §7) and what
they should not, and must answer as Daraja does.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkoba.channels.daraja import ids
from mkoba.channels.daraja.body import Body
from mkoba.channels.daraja.codes import for_business, for_stk
from mkoba.channels.daraja.credential import candidates
from mkoba.channels.daraja.envelope import DarajaError, Num, json_text, major
from mkoba.channels.daraja.http import password_matches
from mkoba.channels.daraja.results import balance_string
from mkoba.channels.daraja.routes import is_daraja
from mkoba.channels.daraja.sandbox import Action, parse_rules, wrong_pin
from mkoba.codes import Code


def refused(code: str, call: object) -> None:
    with pytest.raises(DarajaError) as raised:
        call()  # type: ignore[operator]
    assert raised.value.error.code == code


def test_numbers_and_strings_agree_and_nulls_are_absent() -> None:
    """The same field as int, string or float; null as missing; unknown keys ignored."""
    for value in (174379, "174379", 174379.0, "0174379"):
        assert Body({"BusinessShortCode": value}).digits("BusinessShortCode") == "174379"
    for value in (1, "1", 1.0, "1.00", " 2 "):
        assert Body({"Amount": value}).amount() in (1, 2)
    body = Body({"Occasion": None, "Occassion": "x", "Passkey": "leak", "callbackurl": "http://a"})
    assert body.text("Occassion", "Occasion") == "x"
    assert body.text("Occasion", required=False) == ""
    assert body.url("callbackUrl") == "http://a"
    refused("400.002.02", lambda: Body({"Amount": 1.5}).amount())
    refused("400.002.02", lambda: Body({"Amount": "1.5"}).amount())
    refused("400.002.02", lambda: Body({"Amount": 0}).amount())
    refused("400.002.02", lambda: Body({"Amount": True}).amount())
    refused("400.002.02", lambda: Body({"PartyB": "0712345678"}).msisdn("PartyB"))
    refused("400.002.02", lambda: Body({"CallBackURL": "ftp://x"}).url("CallBackURL"))
    refused("400.002.02", lambda: Body({}).text("Remarks"))


def test_only_one_json_object_is_a_body() -> None:
    """Bad JSON, NaN, arrays and huge bodies are ``400.002.05``."""
    for raw in (b"{", b"[1]", b'{"a": NaN}', b'"text"', b"{}" + b" " * 70_000):
        refused("400.002.05", lambda raw=raw: Body.parse(raw))
    assert Body.parse(b'{"a": 1}').text("a") == "1"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_amounts_are_exact_decimal_literals(minor: int) -> None:
    """``major`` writes minor units as the decimal Daraja shows, never through a float."""
    text = json_text({"Value": major(minor)})
    literal = re.fullmatch(r'\{"Value":(-?[0-9]+)\.([0-9]{2})\}', text)
    assert literal is not None, text
    whole, cents = literal.groups()
    sign = -1 if whole.startswith("-") else 1
    assert sign * (abs(int(whole)) * 100 + int(cents)) == minor


def test_user_text_never_becomes_a_number() -> None:
    """A string that looks like the marker stays a string."""
    sneaky = json.dumps("1.00")
    body = json.loads(json_text({"a": sneaky, "b": Num("254708374149"), "c": "Num"}))
    assert body == {"a": sneaky, "b": 254708374149, "c": "Num"}


def test_identifiers_look_like_darajas() -> None:
    """Checkout, conversation and null-receipt shapes (daraja.md §2.3); checkouts never repeat."""
    now = 1_795_000_000 * 10**9
    checkouts = {ids.checkout_id(now) for _ in range(1000)}
    assert len(checkouts) == 1000
    assert all(re.fullmatch(r"ws_CO_[0-9]{27}", c) for c in checkouts)
    assert re.fullmatch(r"AG_[0-9]{8}_[0-9a-f]{20}", ids.conversation_id(now))
    assert re.fullmatch(r"[A-Z][A-L][1-9A-V]0000000", ids.null_receipt(now))
    assert re.fullmatch(r"[0-9]{14}", ids.timestamp(now))


def test_balance_string_is_ampersands_and_pipes() -> None:
    """``Name|KES|current|available|reserved|uncleared`` joined by ``&``."""
    text = balance_string(
        [
            ["Working Account", 70_000_000, 69_999_950, 50, 0],
            ["Charges Paid Account", -154_000, 0, 0, 0],
        ],
        "KES",
    )
    assert text == (
        "Working Account|KES|700000.00|699999.50|0.50|0.00"
        "&Charges Paid Account|KES|-1540.00|0.00|0.00|0.00"
    )


def test_stk_password_is_checked_against_the_bodys_own_timestamp() -> None:
    """Any timestamp, as long as the password carries it; either spelling of the shortcode."""
    stamp = "20160216165627"
    password = base64.b64encode(f"0174379passkey{stamp}".encode()).decode()
    assert password_matches(password, ("0174379", "174379"), "passkey", stamp)
    assert not password_matches(password, ("174379",), "passkey", stamp)
    assert not password_matches(password, ("0174379",), "passkey", "20160216165628")
    assert not password_matches("not base64!", ("174379",), "passkey", stamp)


def test_credential_plaintexts_of_each_sdk() -> None:
    """The password itself, base64 of it, or it followed by a timestamp."""
    secret = "Safaricom999!*!"
    assert secret in candidates(secret)
    assert secret in candidates(base64.b64encode(secret.encode()).decode())
    assert secret in candidates(secret + "20240101120000")
    assert secret not in candidates("Safaricom999")


def test_result_codes_by_family() -> None:
    """TranProc's codes as each API family's ``ResultCode``."""
    assert for_stk(Code.OK).code == "0"
    assert for_stk(Code.INSUFFICIENT_FUNDS).code == "1"
    assert for_stk(Code.WRONG_PIN).code == "2001"
    assert for_stk(Code.ROLLED_BACK).code == "1019"
    assert for_business(Code.RECIPIENT_NOT_REGISTERED).code == "2040"
    assert for_business(Code.REVERSAL_NOT_POSSIBLE, "already_reversed").code == "R000001"
    assert for_business(Code.REVERSAL_NOT_POSSIBLE, "amount").code == "R000002"
    assert for_business(Code.UNKNOWN_RECEIPT).code == "R000002"


def test_sandbox_rules() -> None:
    """Amounts pick what the simulated customer does; the rest is the default."""
    rules = parse_rules("approve", "1032=cancel, 2001=wrong_pin", 1.0)
    assert (rules.action(1032), rules.action(2001), rules.action(5)) == (
        Action.CANCEL,
        Action.WRONG_PIN,
        Action.APPROVE,
    )
    with pytest.raises(ValueError, match="AMOUNT=ACTION"):
        parse_rules("approve", "cancel", 1.0)
    assert wrong_pin("1357") != "1357" and len(wrong_pin("1357")) == 4


def test_daraja_paths() -> None:
    """Daraja's prefixes answer in its envelope; the native API's do not."""
    assert is_daraja("/mpesa/anything") and is_daraja("/oauth/v1/generate") and is_daraja("/v1")
    assert not is_daraja("/api/v1/balance") and not is_daraja("/health")
