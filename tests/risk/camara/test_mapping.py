"""Answers the test operator never gives (it keeps to the spec), mapped all the same.

The client must still say something clear if an operator sends the spec's other
codes for a request we never send, a status the spec does not list, or a token
endpoint's malformed answer.
"""

from __future__ import annotations

import httpx
import pytest

from mkoba.risk.simswap import SimSwapMisconfigured, SimSwapUnavailable
from mkoba.risk.simswap.camara import _read
from mkoba.risk.simswap.tokens import _read_token


def answer(status: int, body: object = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "INVALID_ARGUMENT", SimSwapMisconfigured),
        (422, "MISSING_IDENTIFIER", SimSwapMisconfigured),
        (422, "UNNECESSARY_IDENTIFIER", SimSwapMisconfigured),
        (404, "NOT_FOUND", SimSwapUnavailable),
        (429, "TOO_MANY_REQUESTS", SimSwapUnavailable),
        (418, "TEAPOT", SimSwapUnavailable),
    ],
)
def test_spec_error_bodies_keep_their_code(
    status: int, code: str, kind: type[SimSwapUnavailable]
) -> None:
    with pytest.raises(kind) as caught:
        _read(answer(status, {"status": status, "code": code, "message": "m"}), "corr-1")
    assert type(caught.value) is kind
    assert (caught.value.code, caught.value.status, caught.value.correlator) == (
        code,
        status,
        "corr-1",
    )


def test_error_without_a_camara_body_is_named_by_status() -> None:
    with pytest.raises(SimSwapUnavailable) as caught:
        _read(answer(404, text="<html>not here</html>"), "c")
    assert caught.value.code == "NOT_FOUND"
    with pytest.raises(SimSwapUnavailable) as caught:
        _read(answer(502, {"status": 502, "code": "BAD_GATEWAY", "message": "m"}), "c")
    assert caught.value.code == "SERVER_ERROR"


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "expires_in": 60},
        {"access_token": "abc", "token_type": "mac", "expires_in": 60},
        {"access_token": "abc", "token_type": "Bearer", "expires_in": -1},
        {"access_token": "abc", "token_type": "Bearer", "expires_in": "soon"},
        ["abc"],
    ],
)
def test_malformed_token_answers_are_bad_response(body: object) -> None:
    with pytest.raises(SimSwapUnavailable) as caught:
        _read_token(answer(200, body))
    assert caught.value.code == "BAD_RESPONSE"


def test_token_answer_without_lifetime_gets_a_default_and_scope_errors_are_named() -> None:
    token, lifetime = _read_token(answer(200, {"access_token": "abc", "token_type": "bearer"}))
    assert token.reveal() == "abc" and lifetime == 300.0
    with pytest.raises(SimSwapMisconfigured, match="invalid_scope") as caught:
        _read_token(answer(400, {"error": "invalid_scope"}))
    assert caught.value.code == "TOKEN_REJECTED"
