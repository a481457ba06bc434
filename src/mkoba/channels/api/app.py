"""The HTTP shell on one port, and the native API's JSON envelope.

``build_app`` makes the FastAPI app every channel mounts its routes on: the
docs (served offline), the body limit, a crash answered once as JSON, request
errors in the envelope, ``/health`` and ``/metrics``. Every answer, errors
included, is JSON: never an HTML page, never a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import Request as HttpRequest

from mkoba import __version__, metrics
from mkoba.channels.api.docs import mount_docs
from mkoba.channels.api.units import present
from mkoba.codes import Code
from mkoba.edge.crashes import Crashes
from mkoba.edge.limits import BodyLimit, body_bytes_max
from mkoba.edge.validation import validation_message
from mkoba.money import Currency
from mkoba.ports import Unavailable
from mkoba.processor.request import Response


def envelope(response: Response, currency: Currency) -> dict[str, Any]:
    """The JSON body of a TranProc response (money in both units, ``units.py``)."""
    return {
        "ok": response.ok,
        "code": str(response.code),
        "message": response.message,
        "receipt": response.receipt,
        "request_id": response.request_id,
        "data": present(response.data, currency),
    }


def error(code: Code, message: str, status: int | None = None) -> JSONResponse:
    """An error answer in the envelope."""
    return JSONResponse(_error_body(code, message), status_code=status or code.http_status)


def _error_body(code: Code, message: str) -> dict[str, object]:
    return {
        "ok": False,
        "code": str(code),
        "message": message,
        "receipt": None,
        "request_id": "",
        "data": {},
    }


@dataclass(frozen=True)
class Service:
    """What the service endpoints show, handed over by the composition root."""

    # The health report and whether every part works (503 when not).
    health: Callable[[], tuple[dict[str, Any], bool]]
    # Bring the gauges up to date before /metrics is read.
    refresh_metrics: Callable[[], None]


def build_app(lifespan: Callable[[Any], Any], service: Service) -> FastAPI:
    """The HTTP shell on one port: docs, limits, errors as JSON, health and metrics.

    Channels add their routes to it (``Channel.mount``); the native API is one of them.
    """
    app = FastAPI(
        title="mkoba",
        version=__version__,
        description="M-Pesa in a box: the native JSON API of an open-source mobile-money"
        " platform. Amounts go in as `amount` (shillings, a number or a string) or"
        " `amount_minor` (cents); money in `data` is named in both units (`amount`:"
        ' "1000.00", `amount_minor`: 100000) and formatted in `message`.',
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their assets from a CDN: docs.py serves them
        redoc_url=None,
    )
    mount_docs(app)
    too_large = _envelope(
        Code.INVALID_INPUT, f"the body is larger than {body_bytes_max // 1024} KiB"
    )
    app.add_middleware(BodyLimit, prefix="/api/", too_large=too_large)
    crashed = _envelope(Code.SYSTEM_ERROR, Code.SYSTEM_ERROR.message)
    app.add_middleware(Crashes, body=crashed)  # added last: outermost of ours
    _errors(app)
    _service_routes(app, service)
    return app


def _envelope(code: Code, message: str) -> bytes:
    """An error in the envelope, as bytes, for the edge's middleware to answer with."""
    return json.dumps(_error_body(code, message)).encode()


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: HttpRequest, exc: RequestValidationError) -> JSONResponse:
        return error(Code.INVALID_INPUT, validation_message(exc.errors()))

    @app.exception_handler(Unavailable)
    async def unavailable(_request: HttpRequest, _exc: Unavailable) -> JSONResponse:
        # What a route needs from the core cannot be had now (a standby, a core away).
        return error(Code.SYSTEM_BUSY, Code.SYSTEM_BUSY.message)

    @app.exception_handler(HTTPException)
    async def http(_request: HttpRequest, exc: HTTPException) -> JSONResponse:
        code = Code.UNKNOWN_PRODUCT if exc.status_code == 404 else Code.INVALID_INPUT
        return error(code, str(exc.detail), exc.status_code)


def _service_routes(app: FastAPI, service: Service) -> None:
    @app.get(
        "/health",
        summary="Is it up, and is every part working (503 when a part is not)",
        responses={503: {"description": "a part has failed: see parts"}},
    )
    async def health() -> JSONResponse:
        report, ok = service.health()
        return JSONResponse(report, status_code=200 if ok else 503)

    @app.get(
        "/health/ready",
        summary="Can this process serve requests now (for a load balancer; 503 when not)",
        responses={503: {"description": "not ready: see reasons"}},
    )
    async def ready() -> JSONResponse:
        report, ok = service.health()
        parts = report.get("parts", {})
        reasons = [
            f"{name}: {part.get('state')}"
            for name, part in parts.items()
            if isinstance(part, dict) and part.get("state") != "ok"
        ]
        return JSONResponse(
            {"ready": ok, "role": report.get("role"), "reasons": reasons},
            status_code=200 if ok else 503,
        )

    @app.get("/health/live", summary="Is the process alive (answers while it runs)")
    async def live() -> JSONResponse:
        return JSONResponse({"live": True})

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        service.refresh_metrics()
        return PlainTextResponse(generate_latest(metrics.registry).decode())
