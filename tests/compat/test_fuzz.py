"""Schema fuzzing of the Daraja surface with schemathesis, from the server's own OpenAPI document.

Bodies that fit the documented schemas and bodies that do not (wrong types,
missing fields, junk), with a valid token and without. Whatever comes in, the
answer is JSON, never a stack trace; an error is Daraja's envelope with one of
its codes. Daraja itself answers some business errors with HTTP 500 (wrong STK
password, merchant unknown, subscriber locked, duplicate originator id): those
are allowed; ``500.003.1001`` (an internal error, i.e. a crash) never is.

The fuzzer gets a server of its own: its random callback URLs must not slow
the other suites' callbacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode

from mkoba.channels.daraja.routes import ROUTES
from tests.channels.serving import Served, serve
from tests.compat.support import SETTINGS, reconcile, token

# Examples per operation and generation mode: enough to hit every field with junk, in seconds.
EXAMPLES = 20
ENVELOPE = {"requestId", "errorCode", "errorMessage"}
# Daraja's own codes that come with HTTP 500 (daraja.md §4.2).
BUSINESS_500 = {"500.001.1001", "500.002.1001", "500.003.02"}


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


def check(response: Any) -> None:
    """Every answer is JSON; every error is the envelope; nothing is an internal error."""
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, text
    # schemathesis keeps each header as a list of values.
    (content_type,) = response.headers.get("content-type", [""])
    assert content_type.startswith("application/json"), text
    body = json.loads(text)
    assert isinstance(body, dict), text
    if response.status_code >= 400:
        assert set(body) == ENVELOPE, text
        assert body["errorCode"] != "500.003.1001", text
        if response.status_code >= 500:
            assert body["errorCode"] in BUSINESS_500, text
    else:
        assert response.status_code == 200, text


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

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        check(case.call(base_url=fuzzed.url, headers=headers, timeout=15))

    run()
