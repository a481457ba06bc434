"""The applet's request and answer formats: round trips, and strict decoding that leaks no PIN."""

from __future__ import annotations

import pytest

from mkoba.simcard import applet
from mkoba.simcard.applet import Answer, decode_answer, decode_request, encode_request
from mkoba.simcard.refusals import MalformedRequest, PorStatus

CANARY = "739146"
FIELDS = {"to": "254711000002", "amount": "1500"}


def test_a_request_round_trips_with_its_pin_kept_out_of_the_repr() -> None:
    data = encode_request("send_money", FIELDS, CANARY, 4)
    assert data[0] == applet.FORMAT
    decoded = decode_request(data)
    assert (decoded.product, decoded.fields, decoded.menu_version) == ("send_money", FIELDS, 4)
    assert decoded.pin is not None and decoded.pin.reveal() == CANARY
    assert CANARY not in repr(decoded) and CANARY not in str(decoded)
    assert decode_request(encode_request("balance", {}, None, 1)).pin is None


def test_an_answer_round_trips_and_a_long_message_is_cut_at_a_character() -> None:
    answer = Answer("ok", "Confirmed. Ksh15.00 sent", "SIM0000001")
    assert decode_answer(applet.encode_answer(answer)) == answer
    long = Answer("ok", "é" * 300)
    shown = decode_answer(applet.encode_answer(long))
    assert shown.message == "é" * 127


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag, len(value))) + value


PRODUCT = _tlv(applet.TAG_PRODUCT, b"balance")
MENU = _tlv(applet.TAG_MENU, b"\x00\x04")
PIN = _tlv(applet.TAG_PIN, CANARY.encode())


def _field(name: bytes, value: bytes) -> bytes:
    return _tlv(applet.TAG_FIELD, bytes((len(name),)) + name + value)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "format"),
        (b"\x02" + PRODUCT + MENU, "format"),
        (b"\x01" + PRODUCT + MENU + _tlv(0x7F, b"x") + PIN, "unknown tag"),
        (b"\x01" + PRODUCT + MENU + PIN + PIN, "twice"),
        (b"\x01" + PRODUCT + PRODUCT + MENU, "twice"),
        (b"\x01" + PRODUCT + MENU + _field(b"to", b"1") + _field(b"to", b"2"), "twice"),
        (b"\x01" + PRODUCT + MENU + _field(b"to", b"9" * 161), "too long"),
        (b"\x01" + PRODUCT + MENU + b"".join(_field(bytes((97 + i,)), b"1") for i in range(9)),
         "too many"),
        (b"\x01" + PRODUCT + MENU + _tlv(applet.TAG_PIN, b"73a9"), "PIN"),
        (b"\x01" + PRODUCT + MENU + _tlv(applet.TAG_PIN, b"7391467"), "PIN"),
        (b"\x01" + PRODUCT + MENU + _field(b"to", b"a\x00b"), "cannot hold"),
        (b"\x01" + PRODUCT + MENU + _field(b"to", b"\xed\xa0\x80"), "UTF-8"),
        (b"\x01" + PRODUCT + MENU + _field(b"To", b"1"), "field name"),
        (b"\x01" + _tlv(applet.TAG_PRODUCT, b"Send-money") + MENU, "product name"),
        (b"\x01" + PRODUCT, "lacks"),
        (b"\x01" + PRODUCT + _tlv(applet.TAG_MENU, b"\x04"), "menu version"),
        (b"\x01" + PRODUCT + MENU + PIN[:-1], "cut short"),
        (b"\x01" + PRODUCT + MENU + b"\x03", "cut short"),
    ],
)  # fmt: skip
def test_decoding_is_strict_and_says_why_without_the_pin(data: bytes, why: str) -> None:
    with pytest.raises(MalformedRequest) as refused:
        decode_request(data)
    assert refused.value.status is PorStatus.CIPHERING_ERROR
    assert why in refused.value.detail
    assert CANARY not in f"{refused.value} {refused.value!r} {refused.value.detail}"
