"""The handset's HTTP side against answers shaped as the server gives them (STK, 404s)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from mkoba.parties.handsets import HandsetKey
from mkoba.phone.server import Server, Unavailable, Unpaired


def _server(handler: httpx.MockTransport) -> Server:
    return Server(
        "http://mkoba", "254712000001", httpx.Client(base_url="http://mkoba", transport=handler)
    )


def test_stk_prompts_are_listed_and_answered() -> None:
    answers: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/stk/254712000001/pending":
            prompt = {"checkout_id": "ws_CO_1", "text": "Pay Ksh10.00 to NAIVAS? Enter PIN"}
            return httpx.Response(200, json={"msisdn": "254712000001", "prompts": [prompt]})
        if request.url.path == "/api/v1/stk/ws_CO_1/answer":
            answers.append(json.loads(request.content))
            return httpx.Response(200, json={"ok": True, "message": "Paid."})
        return httpx.Response(404)

    server = _server(httpx.MockTransport(handle))
    (prompt,) = server.stk_pending()
    assert prompt.checkout_id == "ws_CO_1" and prompt.text.startswith("Pay Ksh10.00")
    assert server.stk_answer("ws_CO_1", "1357") == "Paid."
    assert server.stk_answer("ws_CO_1", None) == "Paid."
    assert answers == [{"pin": "1357"}, {"cancel": True}]


def test_a_server_without_stk_or_ussd_is_told_politely() -> None:
    server = _server(httpx.MockTransport(lambda request: httpx.Response(404)))
    with pytest.raises(Unavailable, match="no STK push prompts"):
        server.stk_pending()
    with pytest.raises(Unavailable, match="no USSD gateway"):
        server.dial("*334#")


def test_a_broken_answer_is_shown_as_a_network_message() -> None:
    server = _server(httpx.MockTransport(lambda request: httpx.Response(500, text="oops")))
    screen = server.dial("*334#")
    assert screen.text == "Connection problem or invalid MMI code." and not screen.more


def test_every_call_carries_the_phones_credential_and_a_refusal_says_unpaired(
    tmp_path: Path,
) -> None:
    credential = HandsetKey.load_or_create(tmp_path).credential("254712000001")
    seen: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(401, json={"ok": False, "code": "not_allowed"})

    client = httpx.Client(base_url="http://mkoba", transport=httpx.MockTransport(handle))
    server = Server("http://mkoba", "254712000001", client, credential=credential)
    calls = (
        server.inbox,
        server.stk_pending,
        lambda: server.stk_answer("ws_CO_1", "1357"),
        lambda: server.send_sms("456", "hello"),
        lambda: server.dial("*334#"),
    )
    for call in calls:
        with pytest.raises(Unpaired, match="refused this phone's handset credential"):
            call()
    assert seen == [f"Handset {credential.reveal()}"] * len(calls)
