"""Bad input on every Daraja route: a clear 400 in Daraja's envelope, nothing stored, no crash.

Method: one platform per store with the Daraja sandbox. Each route first gets a
body it accepts (tests/channels/daraja/bodies.py); then the same body with one
field spoiled, written as raw JSON bytes as a hostile client would (lone
surrogates, NUL and other control characters, 5,000-digit numbers, exponents,
booleans). Every answer must be ``400.002.02 Bad Request - Invalid <Field>``
(``400.002.05`` for a body that is not JSON), the channel's tables must not
change, no route may log a failure, and afterwards an ordinary STK push must
still end in a callback with ResultCode 0: the platform kept working.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mkoba.channels.daraja.body import Body, Number, amount_major_max
from mkoba.channels.daraja.cli import daraja_app
from mkoba.channels.daraja.envelope import DarajaError
from mkoba.text import storable
from tests.channels.daraja.bodies import (
    AMOUNT_PATHS,
    Call,
    Literal,
    calls,
    raw,
)
from tests.channels.daraja.harness import Served, arrived, running, stk_body
from tests.compat.listener import Listener

pytestmark = pytest.mark.anyio
ENVELOPE = {"requestId", "errorCode", "errorMessage"}
# The channel's own tables a request could write to.
TABLES = ("daraja_prompts", "daraja_conversations", "daraja_urls", "daraja_pull")
# Text no store can hold or no screen can show, each with what the error must say.
UNSTORABLE = (
    ("A\ud800", "unpaired surrogate (U+D800)"),
    ("A\udfff", "unpaired surrogate (U+DFFF)"),
    ("A\x00", "control character (U+0000)"),
    ("A\x1b[2J", "control character (U+001B)"),
    ("A\x85", "control character (U+0085)"),
)
SECRETS = {"Password", "SecurityCredential"}


@pytest.fixture(scope="module")
async def served(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    async with running(module_store_url, tmp_path_factory.mktemp("bad")) as it:
        yield it


@pytest.fixture
def route_failures(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Records of routes that failed (``500.003.1001``): there must be none."""
    with caplog.at_level(logging.ERROR, logger="mkoba.daraja.http"):
        failures: list[logging.LogRecord] = []
        yield failures
        failures.extend(r for r in caplog.records if r.name == "mkoba.daraja.http")
    assert not failures, [r.getMessage() for r in failures]


async def post_raw(served: Served, token: str, path: str, content: bytes) -> httpx.Response:
    """A Daraja call with a body written byte for byte."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return await served.client.post(path, content=content, headers=headers)


async def counts(served: Served) -> dict[str, int]:
    """How many rows each of the channel's tables holds."""
    store = served.daraja.tables
    found = {}
    for table in TABLES:
        rows = await asyncio.to_thread(store.query, f"SELECT COUNT(*) FROM {table}")
        found[table] = int(rows[0][0])
    return found


def refused(response: httpx.Response, code: str, message: str) -> None:
    """A Daraja error envelope with ``code`` whose message starts with ``message``."""
    assert response.status_code == int(code[:3]), response.text
    body = response.json()
    assert set(body) == ENVELOPE, body
    assert body["errorCode"] == code, body
    assert body["errorMessage"].startswith(message), body


async def test_every_route_accepts_its_well_formed_body(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """The bodies the other tests spoil are good ones: each route accepts its own."""
    token = await served.token()
    checkout_id = ""
    for call in calls(listener.url("/accepted")):
        body = dict(call.body)
        if call.path == "/mpesa/stkpushquery/v1/query":
            body["CheckoutRequestID"] = checkout_id
        answer = await post_raw(served, token, call.path, raw(body))
        if answer.status_code == 500:
            # The push's customer has not answered yet: Daraja's "being processed".
            assert answer.json()["errorCode"] == "500.001.1001", answer.text
            assert call.path == "/mpesa/stkpushquery/v1/query", answer.text
            continue
        assert answer.status_code == 200, (call.path, answer.text)
        checkout_id = answer.json().get("CheckoutRequestID", checkout_id)


async def test_text_that_cannot_be_stored_is_refused_in_every_field_of_every_route(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """A lone surrogate, NUL or control character in any field (or deep inside an unknown one)
    is ``400.002.02 Bad Request - Invalid <Field>: contains ...``, and nothing is stored."""
    token = await served.token()
    before = await counts(served)
    for call in calls(listener.url("/unstorable")):
        for field in [*call.body, "Extra"]:
            for bad, reason in UNSTORABLE:
                # An unknown field too, with the bad text nested where no route looks.
                value = {"deep": ["fine", bad]} if field == "Extra" else bad
                body = {**call.body, field: value}
                answer = await post_raw(served, token, call.path, raw(body))
                expected = f"Bad Request - Invalid {field}: "
                refused(answer, "400.002.02", expected)
                message = answer.json()["errorMessage"]
                if field in SECRETS:
                    # Where a secret goes wrong is not said, only that it did.
                    assert message == expected + "contains a character that cannot be stored"
                else:
                    assert reason in message, (call.path, field, message)
    assert await counts(served) == before


async def test_a_bad_key_and_raw_surrogate_bytes_are_bad_payloads(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """A key that cannot be stored, and a surrogate sent as raw (invalid) UTF-8 bytes."""
    token = await served.token()
    before = await counts(served)
    push = calls(listener.url("/bytes"))[0]
    answer = await post_raw(served, token, push.path, raw({**push.body, "X\ud800": "1"}))
    refused(answer, "400.002.05", "Invalid Request Payload - a field name contains")
    encoded = raw(push.body).replace(b'"account"', b'"A\xed\xa0\x80"')
    assert b"\xed\xa0\x80" in encoded
    answer = await post_raw(served, token, push.path, encoded)
    refused(answer, "400.002.05", "Invalid Request Payload - the body is not UTF-8")
    assert await counts(served) == before


async def test_the_stk_query_refuses_an_unstorable_checkout_id(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """The query looks the id up in the store: a lone surrogate must not get that far."""
    token = await served.token()
    query = calls(listener.url("/query"))[1]
    body = {**query.body, "CheckoutRequestID": "ws_CO_\ud800"}
    answer = await post_raw(served, token, query.path, raw(body))
    refused(answer, "400.002.02", "Bad Request - Invalid CheckoutRequestID: contains an unpaired")


# Amounts no route may take: too many digits, exponents, signs, booleans, not numbers at all,
# fractions (exactly: 100000000.00000001 is a float's 100000000.0), zero and above the bound.
BAD_AMOUNTS: tuple[Any, ...] = (
    Literal("5" * 5000),
    "5" * 5000,
    Literal("1" + "0" * 40),
    Literal("1e3"),
    Literal("1E3"),
    "1e3",
    Literal("1e400"),
    Literal("-1e400"),
    True,
    False,
    Literal("-1"),
    "-1",
    Literal("-0"),
    Literal("0"),
    "0",
    "0.00",
    Literal("1.5"),
    "1.5",
    Literal("100000000.00000001"),
    Literal("1000000001"),
    "NaN",
    "Infinity",
    "-Infinity",
    "1,000",
    "+1",
    "\uff11",
    "\u0661",
    "",
    " ",
    [1],
    {"Amount": 1},
)


async def test_amounts_are_whole_shillings_within_bounds_on_every_route(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """Every bad Amount on each of the nine routes that take one: ``Invalid Amount``, at once."""
    token = await served.token()
    before = await counts(served)
    found = {call.path: call for call in calls(listener.url("/amounts"))}
    for path in AMOUNT_PATHS:
        call = found[path]
        for amount in BAD_AMOUNTS:
            answer = await post_raw(served, token, path, raw({**call.body, "Amount": amount}))
            assert answer.status_code == 400, (path, str(amount)[:20], answer.text)
            body = answer.json()
            assert (body["errorCode"], body["errorMessage"]) == (
                "400.002.02",
                "Bad Request - Invalid Amount",
            ), (path, str(amount)[:20], body)
    assert await counts(served) == before


async def test_not_json_says_why_in_the_payload_error(
    served: Served, route_failures: list[logging.LogRecord]
) -> None:
    """``400.002.05 Invalid Request Payload - <why>``: where the JSON breaks, and what it is."""
    token = await served.token()
    path = "/mpesa/stkpush/v1/processrequest"
    cases = (
        (b'{"BusinessShortCode": 174379, "Amount": 1,', "not valid JSON (", "at character 42"),
        (b"", "the body is empty", ""),
        (b"[1, 2]", "the body must be one JSON object", ""),
        (b'"text"', "the body must be one JSON object", ""),
        (b'{"Amount": NaN}', "not valid JSON (NaN is not a JSON number)", ""),
        (b'{"Amount": Infinity}', "not valid JSON (Infinity is not a JSON number)", ""),
        (b'{"a": "\xff"}', "the body is not UTF-8 (byte 7)", ""),
        (b"[" * 50_000, "the body is nested too deeply", ""),
        (b"[" * 100_000, "the body is larger than", ""),
    )
    for content, reason, where in cases:
        answer = await post_raw(served, token, path, content)
        refused(answer, "400.002.05", f"Invalid Request Payload - {reason}")
        assert where in answer.json()["errorMessage"], answer.text


async def test_urls_a_callback_could_never_reach_are_refused(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """A port out of range, a host no resolver takes, spaces: refused, never stored."""
    token = await served.token()
    before = await counts(served)
    bad = (
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:port/cb",
        "http://a..b/cb",
        "http://" + "a" * 64 + ".example/cb",
        "http://exa mple.com/cb",
        "http://example.com/c b",
    )
    found = {call.path: call for call in calls(listener.url("/urls"))}
    for path, field in (
        ("/mpesa/stkpush/v1/processrequest", "CallBackURL"),
        ("/mpesa/c2b/v1/registerurl", "ConfirmationURL"),
        ("/mpesa/c2b/v2/registerurl", "ValidationURL"),
        ("/mpesa/b2c/v3/paymentrequest", "ResultURL"),
        ("/mpesa/accountbalance/v1/query", "QueueTimeOutURL"),
        ("/pulltransactions/v1/register", "CallBackURL"),
    ):
        for url in bad:
            answer = await post_raw(served, token, path, raw({**found[path].body, field: url}))
            refused(answer, "400.002.02", f"Bad Request - Invalid {field}")
    assert await counts(served) == before


async def test_pull_dates_beyond_what_a_clock_holds_are_invalid(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """Year 1 and year 9999 are dates, but not moments the store can compare: 400, not 500."""
    token = await served.token()
    found = {call.path: call for call in calls(listener.url("/pull"))}
    register = found["/pulltransactions/v1/register"]
    assert (await post_raw(served, token, register.path, raw(register.body))).status_code == 200
    query = found["/pulltransactions/v1/query"]
    for field, date in (
        ("StartDate", "0001-01-01 00:00:00"),
        ("EndDate", "9999-12-31 23:59:59"),
        ("EndDate", "2300-01-01 00:00:00"),
    ):
        answer = await post_raw(served, token, query.path, raw({**query.body, field: date}))
        refused(answer, "400.002.02", f"Bad Request - Invalid {field}")


async def test_after_all_that_an_ordinary_push_still_completes(
    served: Served, listener: Listener, route_failures: list[logging.LogRecord]
) -> None:
    """The attacks that once stopped the store's commit process, then a plain STK push."""
    token = await served.token()
    attacks = [
        Call(c.path, {**c.body, field: "A\ud800"})
        for c in calls(listener.url("/attack"))
        for field in ("AccountReference", "ConfirmationURL", "Remarks")
        if field in c.body
    ]
    for attack in attacks:
        answer = await post_raw(served, token, attack.path, raw(attack.body))
        assert answer.status_code == 400, answer.text
    # The test customer may still hold an earlier test's prompt: wait until it is free.
    for _ in range(100):
        answer = await served.post(
            "/mpesa/stkpush/v1/processrequest", stk_body(listener, "/alive", 3), token
        )
        if answer.status_code != 500:
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 200, answer.text
    (callback,) = await arrived(listener, "/alive")
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0, callback


# -- the parser alone, whatever it is given --------------------------------------------------

_ANY_CHAR = st.characters(codec=None, categories=None)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(_ANY_CHAR, max_size=8)
    | st.builds(
        Number,
        st.from_regex(r"-?[0-9]{1,60}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,4})?", fullmatch=True),
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_ANY_CHAR, max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(_ANY_CHAR, max_size=6), _JSON, max_size=5))
def test_whatever_a_body_hands_out_can_be_stored(data: dict[str, Any]) -> None:
    """A body is refused whole (Daraja's error), or every text and amount it gives is sound."""
    try:
        body = Body(data)
    except DarajaError as refusal:
        assert refusal.error.code in ("400.002.02", "400.002.05")
        return
    for key in data:
        for read in (body.text, body.digits, body.url):
            try:
                text = read(key, required=False)
            except DarajaError as refusal:
                assert refusal.error.code == "400.002.02"
                continue
            assert storable(text), repr(text)
        try:
            amount = body.amount(key)
        except DarajaError:
            continue
        assert type(amount) is int and 1 <= amount <= amount_major_max


@given(
    st.binary(max_size=64)
    | st.builds(lambda text: json.dumps({"Field": text}).encode(), st.text(_ANY_CHAR, max_size=8))
)
def test_any_bytes_are_a_sound_body_or_a_payload_error_that_says_why(content: bytes) -> None:
    """No bytes make the parser raise anything but Daraja's error, and that error says why;
    what it does accept holds only text that can be stored."""
    try:
        body = Body.parse(content)
    except DarajaError as refusal:
        assert refusal.error.code in ("400.002.02", "400.002.05")
        assert refusal.message.startswith(("Invalid Request Payload - ", "Bad Request - Invalid"))
        assert refusal.message not in ("Invalid Request Payload", "Bad Request - Invalid Field")
        return
    assert storable(body.text("Field", required=False))


async def test_the_admin_commands_refuse_what_the_routes_refuse(served: Served) -> None:
    """``mkoba daraja``: text from the shell that cannot be stored, or a URL no callback can
    reach, exits 2 saying why (secrets: only that they cannot be stored); nothing is stored."""
    settings = served.platform.settings
    store = ["--db", settings.db]
    keys = ["--keys-dir", str(settings.keys_dir)]
    # A terminal's invalid UTF-8 reaches Python's argv as lone surrogates (surrogateescape).
    bad_name = b"shop\xff".decode("utf-8", "surrogateescape")
    before = await counts(served)
    apps_before = await asyncio.to_thread(
        served.daraja.tables.query, "SELECT COUNT(*) FROM daraja_apps"
    )
    cases = [
        (["apps", "create", bad_name, *store, *keys], "name: contains an unpaired surrogate"),
        (
            ["shortcodes", "add", "1", "600610\x00", *store, *keys],
            "shortcode: contains a control character (U+0000)",
        ),
        (
            ["shortcodes", "add", "1", "600610", "--passkey", "k\x1bey", *store, *keys],
            "passkey: contains a character that cannot be stored",
        ),
        (
            ["initiators", "add", "1", "clerk\x07", "--password", "pw", *store, *keys],
            "name: contains a control character (U+0007)",
        ),
        (
            ["urls", "set", "600984", "--confirmation", "http://a..b/cb", *store],
            "Bad Request - Invalid ConfirmationURL",
        ),
        (
            ["urls", "set", "600984", "--confirmation", "http://a.b/c\ud800", *store],
            "Bad Request - Invalid ConfirmationURL: contains an unpaired surrogate",
        ),
        (
            ["urls", "set", "600984", "--confirmation", "http://a.b/", "--validation", "x", *store],
            "Bad Request - Invalid ValidationURL",
        ),
    ]
    for command, said in cases:
        result = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"}).invoke(daraja_app, command)
        assert result.exit_code == 2, (command, result.output, result.exception)
        assert said in result.output, (command, result.output)
    assert await counts(served) == before
    apps_after = await asyncio.to_thread(
        served.daraja.tables.query, "SELECT COUNT(*) FROM daraja_apps"
    )
    assert apps_after == apps_before
