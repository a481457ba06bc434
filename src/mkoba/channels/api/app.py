"""The HTTP shell on one port, and the native API's JSON envelope.

``build_app`` makes the FastAPI app every channel mounts its routes on: the
docs (served offline), the body limit, a crash answered once as JSON, request
errors in the envelope, ``/health`` and ``/metrics``. Every answer, errors
included, is JSON: never an HTML page, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import Request as HttpRequest

from mkoba import __version__, metrics
from mkoba.channels.api.crashes import Crashes
from mkoba.channels.api.docs import mount_docs
from mkoba.channels.api.limits import BodyLimit
from mkoba.channels.api.units import present
from mkoba.codes import Code
from mkoba.money import Currency
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
    body = {
        "ok": False,
        "code": str(code),
        "message": message,
        "receipt": None,
        "request_id": "",
        "data": {},
    }
    return JSONResponse(body, status_code=status or code.http_status)


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
    app.add_middleware(BodyLimit)
    app.add_middleware(Crashes)  # added last: outermost of ours, inside Starlette's
    _errors(app)
    _service_routes(app, service)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: HttpRequest, exc: RequestValidationError) -> JSONResponse:
        return error(Code.INVALID_INPUT, validation_message(exc.errors()))

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

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        service.refresh_metrics()
        return PlainTextResponse(generate_latest(metrics.registry).decode())


def validation_message(problems: Sequence[Any]) -> str:
    """What is wrong with a body, field by field, without echoing what was sent."""
    lines = []
    for problem in problems:
        if problem.get("type") == "json_invalid":
            where = problem["loc"][-1] if problem["loc"] else 0
            reason = problem.get("ctx", {}).get("error", "invalid JSON")
            lines.append(f"body: not valid JSON ({reason}) at character {where}")
            continue
        where = ".".join(str(part) for part in problem["loc"] if part != "body")
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
