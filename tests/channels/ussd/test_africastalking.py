"""The Africa's Talking codec: what a gateway posts, what it gets back."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from mkoba.channels.ussd.africastalking import AfricasTalking
from mkoba.channels.ussd.gateway import BadRequest, Ending, Screen

FORM = "application/x-www-form-urlencoded"
CODEC = AfricasTalking()


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def test_a_hop_carries_the_whole_input_path() -> None:
    body = _form(
        sessionId="ATUid_1", serviceCode="*334#", phoneNumber="+254712000001", text="1*0712*100"
    )
    event = CODEC.event(body, FORM)
    assert event.path == ("1", "0712", "100")
    assert event.latest is None
    assert (event.gateway, event.session_id, event.msisdn) == ("at", "ATUid_1", "+254712000001")


def test_the_dial_has_an_empty_path() -> None:
    event = CODEC.event(_form(sessionId="s", phoneNumber="+254712000001", text=""), FORM)
    assert event.path == ()


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (_form(phoneNumber="+254712000001"), FORM, "sessionId is required"),
        (_form(sessionId="s"), FORM, "phoneNumber is required"),
        (_form(sessionId="s" * 101, phoneNumber="1"), FORM, "not a session id"),
        (b'{"sessionId": "s"}', "application/json", "x-www-form-urlencoded"),
        (b"sessionId=" + b"x" * 9000, FORM, "too large"),
    ],
)
def test_unreadable_hops_are_refused_with_the_reason(
    body: bytes, content_type: str, problem: str
) -> None:
    with pytest.raises(BadRequest, match=problem):
        CODEC.event(body, content_type)


def test_answers_are_con_or_end() -> None:
    assert CODEC.answer(Screen.ask("Enter amount")) == b"CON Enter amount"
    assert CODEC.answer(Screen.end("Done")) == b"END Done"


def test_the_end_notice_is_read_without_its_input() -> None:
    body = _form(
        sessionId="s",
        status="Incomplete",
        hopsCount="4",
        durationInMillis="5300",
        input="1*0712000002*100*1357",
        errorMessage="",
    )
    ending = CODEC.ending(body, FORM)
    assert ending.ending == Ending.INCOMPLETE
    assert (ending.hops, ending.duration_ms) == (4, 5300)
    assert "1357" not in repr(ending)
