"""The stored settlement: what a restarted processor posts a waiting request with.

Method: a settlement like a voucher send's (a statement line, the payer's SMS, the
recipient's secret SMS with the code) plus a channel's row (an STK prompt's outcome)
is encoded as phase one stores it and decoded as ``recover`` reads it. It must come
back field for field; the secret note's values must not be in the stored text; and
anything that is not exactly what ``encode`` writes (bad JSON, a missing or extra
field, a wrong type, a seal moved to another request, another key) is refused with
a ``SettlementError`` that says which request and what, without the secret.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mkoba.ledger import WriteMode
from mkoba.parties import SecretKey
from mkoba.processor.plan import Line, Note, Row
from mkoba.processor.settlement import Settlement, SettlementError, decode, encode

KEY = SecretKey(bytes(range(32)))
NUMBER = 4_242
CODE = "73019264"

SETTLEMENT = Settlement(
    lines=(Line(7, 7_001, "Sent to 0712000002 (voucher)", -51_000),),
    notes=(
        Note("254712000001", "en", "voucher.payer", {"amount": "Ksh500.00"}, 7_001),
        Note(
            "254712000002",
            "sw",
            "voucher.recipient",
            {"code": CODE, "name": "AKINYI OTIENO"},
            secret=True,
        ),
        Note("https://example.test/cb", "en", "stk", {"amount_minor": "100"}, 0, "callback"),
    ),
    rows=(
        Row(
            "daraja_prompts",
            ("checkout_id", "state", "code", "ok", "missing", "receipt", "updated"),
            ("ws_CO_1", "completed", 0, True, None, "", 0),
            ("checkout_id",),
            WriteMode.UPDATE,
            receipt="receipt",
            time="updated",
        ),
    ),
)


def stored() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(encode(SETTLEMENT, KEY, NUMBER))
    return body


def refused(body: object, number: int = NUMBER, key: SecretKey = KEY) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(SettlementError) as caught:
        decode(text, key, number)
    message = str(caught.value)
    assert f"request {number}" in message
    assert CODE not in message
    return message


def test_a_settlement_reads_back_field_for_field() -> None:
    text = encode(SETTLEMENT, KEY, NUMBER)
    assert decode(text, KEY, NUMBER) == SETTLEMENT
    # Types survive: the row's int, bool and None stay what they were.
    (row,) = decode(text, KEY, NUMBER).rows
    assert [type(value) for value in row.values] == [str, str, int, bool, type(None), str, int]
    assert decode(text, KEY, NUMBER).rows[0].mode is WriteMode.UPDATE


def test_a_secret_note_is_stored_sealed() -> None:
    text = encode(SETTLEMENT, KEY, NUMBER)
    assert CODE not in text
    assert "AKINYI" not in text
    secret = stored()["notes"][1]
    assert "params" not in secret
    assert secret["sealed"].startswith("sealed:")
    # The others' values are as plain as the outbox's own rows.
    assert stored()["notes"][0]["params"] == {"amount": "Ksh500.00"}
    # Sealed afresh each time: two encodings never match.
    assert encode(SETTLEMENT, KEY, NUMBER) != text


def test_a_seal_opens_only_for_its_own_request_and_key() -> None:
    text = encode(SETTLEMENT, KEY, NUMBER)
    assert "note 1 does not open" in refused(text, number=NUMBER + 1)
    assert "note 1 does not open" in refused(text, key=SecretKey(bytes(32)))
    body = stored()
    body["notes"][1]["sealed"] = body["notes"][1]["sealed"][:-8] + "AAAAAAA="
    assert "note 1 does not open" in refused(body)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda body: body.pop("lines"), "has no lines"),
        (lambda body: body.update(version=2), "version 2 unknown"),
        (lambda body: body.update(version=True), "version is not int"),
        (lambda body: body.update(extra=1), "unknown fields ['extra']"),
        (lambda body: body.update(notes={}), "notes is not list"),
        (lambda body: body["lines"][0].pop(), "statement line 0 is not a list of 4"),
        (lambda body: body["lines"][0].__setitem__(3, "-510"), "must be integers"),
        (lambda body: body["lines"][0].__setitem__(3, 1.5), "must be integers"),
        (lambda body: body["notes"][0].pop("template"), "note 0 has no template"),
        (lambda body: body["notes"][0]["params"].update(amount=5), "not text by name"),
        (lambda body: body["notes"][0].update(secret="no"), "secret is not bool"),
        (lambda body: body["notes"][2].update(balance_of="0"), "balance_of is not int"),
        (lambda body: body["rows"][0]["values"].pop(), "6 values for 7 columns"),
        (lambda body: body["rows"][0]["values"].__setitem__(0, [1]), "not a scalar"),
        (lambda body: body["rows"][0].update(mode="delete"), "unknown mode 'delete'"),
        (lambda body: body["rows"][0].update(keys=[1]), "something other than text"),
    ],
)
def test_anything_malformed_is_refused(change: Any, says: str) -> None:
    body = stored()
    change(body)
    assert says in refused(body)


def test_what_is_not_a_stored_settlement_is_refused() -> None:
    assert "not JSON" in refused("{not json")
    assert "not an object" in refused("[]")
    assert "not an object" in refused('"text"')


def test_a_row_value_json_cannot_keep_is_refused_before_anything_is_stored() -> None:
    row = SETTLEMENT.rows[0]._replace(values=(b"bytes", "", 0, True, None, "", 0))
    with pytest.raises(TypeError, match="daraja_prompts row holds a bytes"):
        encode(SETTLEMENT._replace(rows=(row,)), KEY, NUMBER)
