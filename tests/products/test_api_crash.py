"""A route that raises: one answer in the envelope, one traceback, the connection kept.

Found by the canary test: Starlette answered a crashed route with our error body,
then raised the exception on to uvicorn, which logged a second traceback and
closed the keep-alive connection without a word, so the client's next request on
it could fail with "Server disconnected". Method: the real app behind a real
uvicorn on a free port; the bus is made to raise for one request.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
import uvicorn

from mkoba.app import Platform, build_app
from tests.products.world import CUSTOMER_PIN, World, _started_elsewhere

pytestmark = pytest.mark.anyio


async def test_a_crashed_route_answers_once_and_keeps_the_connection(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    customer = await World(platform).customer(100)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        build_app(platform, _started_elsewhere),
        port=port,
        log_config=None,
        lifespan="off",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    body = {"msisdn": customer.msisdn, "pin": CUSTOMER_PIN}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def broken(_request: object, _timeout_s: float) -> object:
                raise RuntimeError("injected")

            # Under the route: the bus it sends the request through breaks.
            monkeypatch.setattr(platform.bus, "request", broken)
            with caplog.at_level(logging.ERROR):
                crashed = await client.post("/api/v1/balance", json=body)
            monkeypatch.undo()
            assert crashed.status_code == 500
            assert crashed.json()["code"] == "system_error"
            assert crashed.headers.get("connection", "").lower() != "close"
            again = await client.post("/api/v1/balance", json=body)
            assert again.status_code == 200, again.text
    finally:
        server.should_exit = True
        await serving
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1, [record.getMessage() for record in tracebacks]
    assert "Exception in ASGI application" not in caplog.text
