"""Schema fuzzing of the native API, the USSD gateway and the SMS routes: never a 5xx.

Found by an attacker: ``"amount": true`` moved Ksh1.00, malformed JSON answered
"66: JSON decode error", and other channels had no fuzzing at all. Method: the
native API's operations come from the server's own OpenAPI document and run
through schemathesis in both modes (bodies that fit the schemas and bodies that
do not); the USSD gateway and the inbound SMS route, which are forms and raw
bodies, get Hypothesis-made bodies of any bytes, any Unicode (lone surrogates
and control characters included) and huge numbers. Whatever comes in, the answer
is a clear 4xx or a 2xx in the channel's own format, never a 5xx, never a stack
trace. Afterwards an ordinary payment still goes through and the books balance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from mkoba.channels.api.channel import ROUTES
from tests.channels.serving import Served, serve
from tests.compat.support import reconcile

EXAMPLES = 12
ENVELOPE = {"ok", "code", "message", "receipt", "request_id", "data"}
PIN = "1357"

# Any text a client can send, lone surrogates and control characters included.
_anything = st.text(st.characters(codec=None, categories=None), max_size=40)
_hostile = st.one_of(
    _anything,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["A\ud800", "\x00", "9" * 5000, "1e309", "-1", "0", "٣٠٠", "1,00,0"]),
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server for the fuzzer alone; its books must still balance afterwards."""
    folder: Path = tmp_path_factory.mktemp("fuzz-native")
    with serve(folder) as served:
        yield served
    checked = reconcile(served.db)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture(scope="module")
def native_schema(fuzzed: Served) -> Any:
    return schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")


def _settings(examples: int = EXAMPLES) -> Any:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )


def _check_native(status: int, content_type: str, text: str) -> None:
    assert status < 500, text
    assert "Traceback" not in text and 'File "' not in text, text
    assert content_type.startswith("application/json"), (status, text)
    body = json.loads(text)
    assert set(body) == ENVELOPE, text
    assert body["ok"] is (status == 200), text


OPERATIONS = [path for path, _, _ in ROUTES.values()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", OPERATIONS)
def test_native_routes_answer_every_body_with_the_envelope(
    path: str, mode: GenerationMode, native_schema: Any, fuzzed: Served
) -> None:
    operation = native_schema[path]["POST"]

    @_settings()
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=fuzzed.url, timeout=15)
        (content_type,) = response.headers.get("content-type", [""])
        _check_native(response.status_code, content_type, response.text)

    run()


@pytest.mark.parametrize("path", OPERATIONS)
def test_native_routes_refuse_hostile_values_in_every_field(path: str, fuzzed: Served) -> None:
    """Every documented field of the route, in turn, holds something hostile."""
    fields = _fields(fuzzed, path)
    base = {"msisdn": "0712000001", "pin": PIN}

    @_settings(EXAMPLES * 2)
    @hypothesis.given(field=st.sampled_from(fields), value=_hostile)
    def run(field: str, value: object) -> None:
        body = json.dumps({**base, field: value}).encode()
        response = httpx.post(
            f"{fuzzed.url}{path}",
            content=body,
            headers={"content-type": "application/json", "Idempotency-Key": "fuzz"},
            timeout=15,
        )
        _check_native(response.status_code, response.headers["content-type"], response.text)

    run()


def _fields(fuzzed: Served, path: str) -> list[str]:
    document = httpx.get(f"{fuzzed.url}/openapi.json").json()
    reference = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    name = reference["schema"]["$ref"].rsplit("/", 1)[1]
    return sorted(document["components"]["schemas"][name]["properties"])


def test_raw_bodies_of_any_bytes(fuzzed: Served) -> None:
    """Bytes that are not JSON, not UTF-8, or not a form, at every body-taking endpoint."""
    paths = [*OPERATIONS, "/ussd/at", "/ussd/at/events", "/api/v1/sms/inbound"]

    @_settings(EXAMPLES * 4)
    @hypothesis.given(
        path=st.sampled_from(paths),
        body=st.binary(max_size=300),
        content_type=st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
        ),
    )
    def run(path: str, body: bytes, content_type: str) -> None:
        headers = {"content-type": content_type} if content_type else {}
        response = httpx.post(f"{fuzzed.url}{path}", content=body, headers=headers, timeout=15)
        assert response.status_code < 500, (path, body, response.text)
        assert "Traceback" not in response.text

    run()


def test_ussd_forms_with_hostile_fields(fuzzed: Served) -> None:
    """The gateway's form with any value in any field: a plain answer, never a 5xx."""
    form = {
        "sessionId": "ATUid_fuzz",
        "serviceCode": "*334#",
        "phoneNumber": "+254712000001",
        "networkCode": "63902",
        "text": "",
    }

    @_settings(EXAMPLES * 4)
    @hypothesis.given(field=st.sampled_from(sorted(form)), value=_anything)
    def run(field: str, value: str) -> None:
        body = urlencode({**form, field: value}, encoding="utf-8", errors="surrogatepass")
        response = httpx.post(
            f"{fuzzed.url}/ussd/at",
            content=body.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            timeout=15,
        )
        assert response.status_code < 500, (field, value, response.text)
        assert response.headers["content-type"].startswith("text/plain"), response.text

    run()


def test_an_ordinary_payment_still_goes_through_after_all_of_it(fuzzed: Served) -> None:
    sent = httpx.post(
        f"{fuzzed.url}/api/v1/send-money",
        json={"msisdn": "0712000003", "pin": PIN, "to": "0712000004", "amount": 10},
        timeout=15,
    )
    assert sent.status_code == 200 and sent.json()["ok"], sent.text
    health = httpx.get(f"{fuzzed.url}/health", timeout=15)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
