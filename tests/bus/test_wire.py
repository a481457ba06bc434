"""The bytes a request and a response travel as between processes."""

from __future__ import annotations

import pytest

from mkoba.bus import parse_nats_url
from mkoba.bus.rows import rows_bytes, rows_from
from mkoba.bus.wire import WireError, request_bytes, request_from, response_bytes, response_from
from mkoba.codes import Code
from mkoba.commands.catalog import PayBill, PayPerson
from mkoba.ledger import Write, WriteMode
from mkoba.parties import Pin, SecretKey, open_pin, seal_pin
from mkoba.parties.secrets import Otp
from mkoba.processor.request import Callback, Channel, Request, Response
from mkoba.settings import SettingsError, load_settings


def test_a_request_and_its_sealed_pin_come_back_as_they_left() -> None:
    key = SecretKey(bytes(range(32)))
    request = Request(
        "api:1",
        Channel.API,
        "send_money",
        "254712000001",
        PayPerson("254712000002", 5),
        seal_pin(Pin("1357"), key, b"api:1"),
        123,
    )
    data = request_bytes(request, 456, "_INBOX.x.1")
    assert b"1357" not in data
    again, deadline, reply = request_from(data)
    assert (deadline, reply) == (456, "_INBOX.x.1")
    assert again._replace(pin=None) == request._replace(pin=None)
    assert again.pin is not None and open_pin(again.pin, key, b"api:1").reveal() == "1357"


BILL = PayBill("888880", "A1", 100)


def test_a_request_callback_comes_back_and_a_bad_one_is_refused() -> None:
    callback = Callback("ws_CO_1", "29115-1", "https://example.com/cb")
    request = Request("stk:1", Channel.STK, "pay_bill", "254712000001", BILL, callback=callback)
    again, _, _ = request_from(request_bytes(request, 1))
    assert again.callback == callback
    assert request_from(request_bytes(request._replace(callback=None), 1))[0].callback is None
    broken = request_bytes(request, 1).replace(b'"ws_CO_1",', b"")
    with pytest.raises(WireError):
        request_from(broken)


def test_a_response_comes_back_byte_for_byte() -> None:
    response = Response("api:1", Code.OK, "Sent.", "SKF1234567", {"b": 2, "a": [1, "x"]})
    assert response_bytes(response_from(response_bytes(response))) == response_bytes(response)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"id": "x"}',
        b'{"id":"x","channel":"fax","product":"p","msisdn":"1","params":{},"pin":null,'
        b'"received":0,"deadline":1}',
        b'{"id":"x","channel":"api","product":"p","msisdn":"1","params":{"a":1},"pin":null,'
        b'"received":0,"deadline":1}',
        b'{"id":"x","channel":"api","product":"p","msisdn":"1","params":{},"pin":"%%%",'
        b'"received":0,"deadline":1}',
        b'{"id":"x","channel":"api","product":"p","msisdn":"1","params":{},"pin":null,'
        b'"received":0,"deadline":"soon"}',
        b'{"id":"x","channel":"api","product":"p","msisdn":"1","params":{},"pin":null,'
        b'"received":0,"deadline":1,"reply":7}',
    ],
)
def test_what_is_not_a_request_is_refused(data: bytes) -> None:
    with pytest.raises(WireError):
        request_from(data)


def test_what_is_not_a_response_is_refused() -> None:
    with pytest.raises(WireError):
        response_from(b'{"request_id": "x"}')


def test_bus_urls() -> None:
    assert parse_nats_url("nats://10.0.0.5") == ("nats://10.0.0.5:4222", "mkoba")
    assert parse_nats_url("nats://h:4333/ledger-2") == ("nats://h:4333", "ledger-2")
    for bad in ("amqp://h", "nats://", "nats://h/a.b", "nats://h/a*"):
        with pytest.raises(ValueError):
            parse_nats_url(bad)
    with pytest.raises(SettingsError, match="MKOBA_BUS"):
        load_settings(bus="nats://h/with.dot")


def test_rows_come_back_typed_and_an_unknown_mode_is_refused() -> None:
    writes = [
        Write(
            "daraja_prompts",
            ("checkout_id", "state"),
            ("ws_1", b"\x00x"),
            ("checkout_id",),
            WriteMode.UPDATE,
        ),
        Write("outbox", ("id",), (7,)),
    ]
    back, poke, batch, asked_again = rows_from(rows_bytes(writes, True, "b1"))
    assert poke and back == writes and batch == "b1" and not asked_again
    assert [write.mode for write in back] == [WriteMode.UPDATE, WriteMode.INSERT]
    assert all(isinstance(write.mode, WriteMode) for write in back)
    assert rows_from(rows_bytes(writes, True, "b1", again=True))[3]
    with pytest.raises(ValueError, match="mode"):
        rows_from(rows_bytes(writes, False).replace(b'"update"', b'"drop"'))


def test_a_step_up_code_crosses_sealed_and_comes_back() -> None:
    key = SecretKey(bytes(range(32)))
    sealed = seal_pin(Otp("493817"), key, b"app:1:otp")
    request = Request("app:1", Channel.APP, "pay_bill", "254712000001", BILL, otp=sealed)
    data = request_bytes(request, 1)
    assert b"493817" not in data
    again, _, _ = request_from(data)
    assert again.otp is not None and open_pin(again.otp, key, b"app:1:otp").reveal() == "493817"
    assert request_from(request_bytes(request._replace(otp=None), 1))[0].otp is None
