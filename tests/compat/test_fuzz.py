"""Fuzzing the Daraja surface of a real ``mkoba serve``: whatever comes in, a Daraja answer.

Two generators, both driven by Hypothesis against one server of their own:

- schemathesis, from the server's own OpenAPI document: bodies that fit the
  documented schemas and bodies that do not (wrong types, missing fields,
  junk), with a valid token and without;
- hostile clients (``spoiled``): a body each route accepts (bodies.py) with one
  to three fields replaced by what schemathesis does not send: lone surrogates,
  NUL and other control characters, 5,000-digit numbers, exponents, booleans,
  nested junk, text in unknown keys; or bytes that are not a JSON body at all;
  and OAuth headers and pull-query strings built the same way.

Every answer must be JSON, every error Daraja's envelope, never a stack trace.
No answer may be an internal error (``500.003.1001``, a crash): the only 5xx
allowed are the ones Daraja itself answers to a business's mistakes
(``DARAJA_500``: wrong STK password, unknown merchant, a subscriber with a prompt
open, a duplicate originator id). A body holding text that cannot be stored is
refused with a 400, whatever else it holds; a bad Amount alone is ``Invalid
Amount``. Afterwards the platform must still work: an ordinary STK push ends in
a callback with ResultCode 0, a native send-money succeeds, and the books
reconcile.

The fuzzer gets a server of its own: its random callback URLs must not slow
the other suites' callbacks.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from mkoba.channels.daraja.routes import ROUTES
from mkoba.text import text_problem
from tests.channels.daraja.bodies import Call, Literal, calls, raw
from tests.channels.serving import Served, serve
from tests.compat.listener import Listener
from tests.compat.support import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    PIN,
    SETTINGS,
    TEST_MSISDN,
    funded_customer,
    reconcile,
    stk_push,
    token,
)

# Examples per operation and generation mode: enough to hit every field with junk, in seconds.
EXAMPLES = 20
# Hostile bodies per route.
SPOILED = 40
ENVELOPE = {"requestId", "errorCode", "errorMessage"}
# The 5xx answers Daraja itself gives to a business's mistakes (daraja.md §4.2, §5.1, §5.5).
DARAJA_500 = {
    ("500.001.1001", "Merchant does not exist"),
    ("500.001.1001", "Wrong credentials"),
    (
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    ),
    ("500.001.1001", "The transaction is being processed"),
    ("500.002.1001", "Duplicate OriginatorConversationID"),
    ("500.003.02", "Spike Arrest Violation"),
}
# What the fuzzing saw, by generator: examples, seconds, and answers by status and code.
SEEN: dict[str, Counter[str]] = {"schemathesis": Counter(), "spoiled": Counter()}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server for the fuzzer alone; its books must still balance afterwards."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with serve(folder, **SETTINGS) as served:
        yield served
    checked = reconcile(served.db)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture(scope="module")
def daraja_schema(fuzzed: Served) -> Any:
    """The served OpenAPI document, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")


@pytest.fixture(scope="module")
def bearer(fuzzed: Served) -> str:
    """A valid token, so that bodies reach the routes' own checks."""
    return token(fuzzed.url)


@pytest.fixture(scope="module")
def client(fuzzed: Served) -> Iterator[httpx.Client]:
    """One keep-alive client for the hostile requests."""
    with httpx.Client(base_url=fuzzed.url, timeout=15) as opened:
        yield opened


def check(status: int, text: str, content_type: str, seen: Counter[str]) -> dict[str, Any]:
    """Every answer is JSON; every error is the envelope; no 5xx but Daraja's own."""
    assert "Traceback" not in text and 'File "' not in text, text
    assert content_type.startswith("application/json"), text
    body = json.loads(text)
    assert isinstance(body, dict), text
    seen["examples"] += 1
    if status >= 400:
        assert set(body) == ENVELOPE, text
        seen[f"{status} {body['errorCode']}"] += 1
        if status >= 500:
            assert (body["errorCode"], body["errorMessage"]) in DARAJA_500, text
    else:
        assert status == 200, text
        seen["200"] += 1
    return body


# What the HTTP server itself answers to bytes that are not an HTTP request (a control
# character in a header value, which negative generation sometimes makes): the message
# never reaches the platform's routes, so it cannot carry Daraja's envelope.
NOT_HTTP = (400, "text/plain; charset=utf-8", "Invalid HTTP request received.")


def check_schemathesis(response: Any) -> None:
    """``check`` for a schemathesis response (which keeps each header as a list)."""
    (content_type,) = response.headers.get("content-type", [""])
    if (response.status_code, content_type, response.text) == NOT_HTTP:
        assert _not_http(response.request), response.request.headers
        SEEN["schemathesis"]["not HTTP"] += 1
        return
    check(response.status_code, response.text, content_type, SEEN["schemathesis"])


def _not_http(request: Any) -> bool:
    """Whether a request's target or headers break HTTP/1.1's grammar (RFC 9110 5.1, 5.5)."""
    for raw_name, raw_value in request.headers.items():
        name, value = _text(raw_name), _text(raw_value)
        if not name or any(c not in _TCHAR for c in name):
            return True
        if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
            return True
        if value != value.strip(" \t"):
            return True
        if name.lower() == "transfer-encoding" and value.lower() != "chunked":
            return True  # an empty or unknown coding: the body's length cannot be known
        if name.lower() == "content-length" and not value.isdigit():
            return True
    target = str(request.url)
    return any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in target)


def _text(part: object) -> str:
    return part.decode("latin-1") if isinstance(part, bytes) else str(part)


_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def check_httpx(response: httpx.Response) -> dict[str, Any]:
    """``check`` for an httpx response."""
    content_type = response.headers.get("content-type", "")
    return check(response.status_code, response.text, content_type, SEEN["spoiled"])


_SETTINGS = hypothesis.settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)

# Every documented operation, in both modes. (schemathesis's own pytest plugin does not run
# under this pytest; its strategies do, driven by Hypothesis directly.)
OPERATIONS = [(spec.path, method) for spec in ROUTES for method in spec.methods]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_crash_and_always_the_envelope(
    path: str, method: str, mode: GenerationMode, daraja_schema: Any, fuzzed: Served, bearer: str
) -> None:
    """Generated requests to one operation, all answered as Daraja answers."""
    operation = daraja_schema[path][method]
    headers = {} if path.startswith("/oauth/") else {"Authorization": f"Bearer {bearer}"}
    started = time.perf_counter()

    @hypothesis.settings(_SETTINGS, max_examples=EXAMPLES)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        check_schemathesis(case.call(base_url=fuzzed.url, headers=headers, timeout=15))

    run()
    SEEN["schemathesis"]["ms"] += int((time.perf_counter() - started) * 1000)


# -- hostile clients ----------------------------------------------------------------------

# Characters no store keeps or no screen shows: C0 and C1 controls, DEL, lone surrogates.
_UNSTORABLE = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"]
_UNSTORABLE += ["\ud800", "\udbff", "\udc00", "\udfff"]
unstorable_text = st.tuples(
    st.text(max_size=6), st.sampled_from(_UNSTORABLE), st.text(max_size=6)
).map("".join)
# Any code point at all, surrogates and controls included.
any_text = st.text(st.characters(codec=None, categories=None), max_size=24)
# Amounts no route may take.
bad_amounts = st.one_of(
    st.integers(33, 5000).map(lambda n: Literal("9" * n)),
    st.integers(11, 5000).map(lambda n: "9" * n),
    st.integers(min_value=10**9 + 1, max_value=10**30),
    st.integers(min_value=-(10**30), max_value=0),
    st.sampled_from(
        [Literal(x) for x in ("1e3", "1E3", "1e400", "-1e400", "1.5", "-0", "1.0e0", "-1")]
        + [Literal("100000000.00000001"), True, False, [], {}, [1], {"Amount": 1}]
        + ["1e3", "NaN", "Infinity", "-1", "0", "1.5", "0x10", "1_000", "\uff11", "+1", "1,000"]
    ),
)
wrong_types = st.sampled_from([True, False, None, [], {}, [1], ["a"], {"a": 1}])
leaf = st.one_of(
    unstorable_text,
    any_text,
    bad_amounts,
    wrong_types,
    st.floats(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(400, 3000).map(lambda n: "x" * n),
)
hostile_value = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=6,
)
_DELETE = object()


def unstorable_in(value: Any) -> bool:
    """Whether any key or string in ``value``, however deep, cannot be stored."""
    if isinstance(value, str):
        return text_problem(value) is not None
    if isinstance(value, dict):
        return any(unstorable_in(k) or unstorable_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable_in(item) for item in value)
    return False


@st.composite
def spoiled(draw: st.DrawFn, call: Call) -> tuple[bytes, str]:
    """Bytes for ``call``'s route and what they must get: "unstorable", "amount" or ""."""
    good = raw(call.body)
    how = draw(st.sampled_from(["fields", "fields", "fields", "amount", "bytes"]))
    if how == "amount" and "Amount" in call.body:
        return raw({**call.body, "Amount": draw(bad_amounts)}), "amount"
    if how == "bytes":
        content = draw(
            st.one_of(
                st.binary(max_size=80),
                st.integers(0, len(good) - 1).map(lambda n: good[:n]),
                st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\x00", b"\\ud800"]).map(
                    lambda junk: good.replace(b'"', b'"' + junk, 1)
                ),
            )
        )
        return content, ""
    body: dict[str, Any] = dict(call.body)
    keys = st.sampled_from([*call.body, "Extra"]) | any_text
    for key, value in draw(
        st.lists(st.tuples(keys, hostile_value | st.just(_DELETE)), min_size=1, max_size=3)
    ):
        if value is _DELETE:
            body.pop(key, None)
        else:
            body[key] = value
    # A float NaN or Infinity is written as such: not JSON, a payload error (400.002.05).
    return raw(body), "unstorable" if unstorable_in(body) else ""


def _expect(answer: dict[str, Any], status: int, must: str) -> None:
    if must == "unstorable":
        assert status == 400, answer
        assert answer["errorCode"] in ("400.002.02", "400.002.05"), answer
    elif must == "amount":
        assert (answer["errorCode"], answer["errorMessage"]) == (
            "400.002.02",
            "Bad Request - Invalid Amount",
        ), answer


# Every field of every route gets each of these at least once, before the random ones.
SWEEP: tuple[tuple[Any, str], ...] = (
    ("A\ud800", "unstorable"),
    ("\udfffA", "unstorable"),
    ("A\x00B", "unstorable"),
    ("A\x1b[2J", "unstorable"),
    ({"deep": ["fine", "A\x85"]}, "unstorable"),
    (Literal("9" * 5000), "amount"),
    ("9" * 5000, "amount"),
    (Literal("1e3"), "amount"),
    (True, "amount"),
    ([1, {"a": None}], "amount"),
)


def sweep(call: Call) -> Iterator[tuple[bytes, str]]:
    """``call``'s body with each field in turn (and an unknown one) replaced by each of SWEEP."""
    for field in [*call.body, "Extra"]:
        for value, must in SWEEP:
            expected = must if must == "unstorable" or field == "Amount" else ""
            yield raw({**call.body, field: value}), expected


POSTS = [call.path for call in calls("http://127.0.0.1:9/")]


@pytest.mark.parametrize("path", POSTS)
def test_hostile_bodies_get_a_daraja_answer(
    path: str, client: httpx.Client, bearer: str, listener: Listener
) -> None:
    """Every field spoiled in turn, then random spoils: never a crash; unstorable text and
    bad amounts a 400."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    if path == "/pulltransactions/v1/query":
        register = calls(listener.url("/fuzz"))[-2]
        assert client.post(register.path, content=raw(register.body), headers=headers).is_success

    (good,) = [c for c in calls(listener.url("/fuzz")) if c.path == path]
    for content, must in sweep(good):
        answer = client.post(path, content=content, headers=headers)
        _expect(check_httpx(answer), answer.status_code, must)

    @hypothesis.settings(_SETTINGS, max_examples=SPOILED)
    @hypothesis.given(data=st.data())
    def run(data: st.DataObject) -> None:
        # Fresh ids and timestamps each time: a good body stays good.
        (call,) = [c for c in calls(listener.url("/fuzz")) if c.path == path]
        content, must = data.draw(spoiled(call))
        answer = client.post(path, content=content, headers=headers)
        _expect(check_httpx(answer), answer.status_code, must)

    run()
    SEEN["spoiled"]["ms"] += int((time.perf_counter() - started) * 1000)


def test_hostile_oauth_headers_and_pull_queries(
    client: httpx.Client, bearer: str, listener: Listener
) -> None:
    """Basic credentials of any bytes, any grant type; pull queries of any text in the URL."""
    started = time.perf_counter()
    right = f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()

    @hypothesis.settings(_SETTINGS, max_examples=SPOILED)
    @hypothesis.given(
        credentials=st.binary(max_size=40)
        | st.just(right)
        | any_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
        scheme=st.sampled_from(["Basic", "basic", "Bearer", ""]),
        grant=st.sampled_from(["client_credentials", ""]) | any_text,
    )
    def oauth(credentials: bytes, scheme: str, grant: str) -> None:
        header = f"{scheme} {base64.b64encode(credentials).decode()}".strip()
        query = "grant_type=" + quote(grant, errors="surrogatepass")
        answer = client.get(f"/oauth/v1/generate?{query}", headers={"Authorization": header})
        body = check_httpx(answer)
        if answer.status_code == 200:
            assert (scheme.lower(), credentials, grant) == ("basic", right, "client_credentials")
            assert set(body) == {"access_token", "expires_in"}

    oauth()
    register = calls(listener.url("/fuzz"))[-2]
    headers = {"Authorization": f"Bearer {bearer}"}
    assert client.post(register.path, json=register.body, headers=headers).is_success

    @hypothesis.settings(_SETTINGS, max_examples=SPOILED)
    @hypothesis.given(
        params=st.dictionaries(
            st.sampled_from(["ShortCode", "StartDate", "EndDate", "OffSetValue"]) | any_text,
            any_text | st.sampled_from(["600984", "2024-01-01 00:00:00", "9" * 5000]),
            max_size=5,
        )
    )
    def pull(params: dict[str, str]) -> None:
        query = "&".join(
            f"{quote(k, errors='surrogatepass')}={quote(v, errors='surrogatepass')}"
            for k, v in params.items()
        )
        answer = client.get(f"/pulltransactions/v1/query?{query}", headers=headers)
        check_httpx(answer)

    pull()
    SEEN["spoiled"]["ms"] += int((time.perf_counter() - started) * 1000)


def test_the_platform_still_works_after_the_fuzzing(
    fuzzed: Served, client: httpx.Client, bearer: str, listener: Listener
) -> None:
    """An ordinary STK push is paid (callback ResultCode 0); a native send-money succeeds."""
    path = f"/after-fuzz/{uuid.uuid4().hex}"
    deadline = time.monotonic() + 20
    while True:
        # A fuzzed push may still hold the test customer's one prompt: wait for it to end.
        answer = stk_push(fuzzed.url, bearer, TEST_MSISDN, 5, listener.url(path))
        if answer.status_code != 500 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    (callback,) = listener.wait(path)
    assert callback["Body"]["stkCallback"]["ResultCode"] == 0, callback
    taken: set[str] = set()
    payer = funded_customer(fuzzed.url, 100_00, taken)
    payee = funded_customer(fuzzed.url, 0, taken)
    sent = client.post(
        "/api/v1/send-money", json={"msisdn": payer, "pin": PIN, "to": payee, "amount": 10}
    )
    assert sent.status_code == 200 and sent.json()["ok"] is True, sent.text
    # What the fuzzing did, for the record (pytest -s shows it).
    for name, seen in SEEN.items():
        print(f"\n{name}: {dict(sorted(seen.items()))}")
    log = fuzzed.log.read_text(encoding="utf-8", errors="replace")
    assert "Daraja route" not in log and "Traceback" not in log, log[-4000:]
