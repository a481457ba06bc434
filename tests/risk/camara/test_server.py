"""The test operator keeps to the published document, so the client tests mean something.

Its requests are checked against the spec's request schemas and its answers
against the response schemas (a violation fails the test, see conftest); here
the spec's own examples and its identifier rules are put to it directly.
"""

from __future__ import annotations

import httpx
import pytest

from tests.risk.camara.conftest import CLIENT_ID, CLIENT_SECRET, NEVER_SWAPPED, Served
from tests.risk.camara.server import Client, operation, spec

pytestmark = pytest.mark.anyio


async def token(served: Served, client: httpx.AsyncClient, scope: str = "sim-swap") -> str:
    served.operator.clients[CLIENT_ID] = Client(
        CLIENT_SECRET, frozenset({"sim-swap", "sim-swap:check", "sim-swap:retrieve-date"})
    )
    answer = await client.post(
        served.token_url,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


def test_the_vendored_document_is_the_release_we_target() -> None:
    assert spec()["info"]["version"] == "2.1.0-rc.2"
    assert spec()["info"]["license"]["name"] == "Apache 2.0"
    assert spec()["servers"][0]["url"] == "{apiRoot}/sim-swap/v2rc2"


@pytest.mark.parametrize("path", ["/check", "/retrieve-date"])
async def test_spec_request_examples_get_a_valid_answer(served: Served, path: str) -> None:
    served.operator.subscribers["+346661113334"] = served.operator.subscribers["+" + NEVER_SWAPPED]
    async with httpx.AsyncClient() as client:
        bearer = {"Authorization": "Bearer " + await token(served, client)}
        for name, example in operation(path)["requestBody"]["content"]["application/json"][
            "examples"
        ].items():
            body = spec()["components"]["examples"][example["$ref"].rsplit("/", 1)[1]]["value"]
            answer = await client.post(served.api + path, json=body, headers=bearer)
            if name.endswith("3LEGS"):  # a 2-legged token and no phone: nobody to ask about
                assert answer.status_code == 422 and answer.json()["code"] == "MISSING_IDENTIFIER"
            else:
                assert answer.status_code == 200, answer.text


async def test_bodies_against_the_schema_are_refused_with_the_spec_codes(served: Served) -> None:
    async with httpx.AsyncClient() as client:
        bearer = {"Authorization": "Bearer " + await token(served, client), "x-correlator": "abc-1"}
        cases = [
            ({"phoneNumber": "254712000003", "maxAge": 10}, 400, "INVALID_ARGUMENT"),  # no '+'
            ({"phoneNumber": "+254712000003", "maxAge": 0}, 400, "OUT_OF_RANGE"),
            ({"phoneNumber": "+254712000003", "maxAge": 2401}, 400, "OUT_OF_RANGE"),
            ({"phoneNumber": "+254712000003", "maxAge": "10"}, 400, "INVALID_ARGUMENT"),
            ([], 400, "INVALID_ARGUMENT"),
        ]
        for body, status, code in cases:
            answer = await client.post(served.api + "/check", json=body, headers=bearer)
            assert (answer.status_code, answer.json()["code"]) == (status, code), body
            assert answer.json()["status"] == status
            assert answer.headers["x-correlator"] == "abc-1"
        answer = await client.post(served.api + "/check", json={"maxAge": 10})
        assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHENTICATED")


async def test_default_max_age_is_240_hours(served: Served) -> None:
    async with httpx.AsyncClient() as client:
        bearer = {"Authorization": "Bearer " + await token(served, client)}
        answer = await client.post(
            served.api + "/check", json={"phoneNumber": "+254712000002"}, headers=bearer
        )  # swapped 10 days (240 h) ago: just outside the default window
        assert answer.json() == {"swapped": False}
        answer = await client.post(
            served.api + "/check", json={"phoneNumber": "+254712000001"}, headers=bearer
        )
        assert answer.json() == {"swapped": True}
