"""The app's answers: a refusal is ``{"error": {"code", "message"}}`` with a 4xx status.

``code`` is stable (the app translates it); ``message`` is an English sentence
that never repeats a secret (a PIN, a code, a token).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from mkoba.channels.app.validation import AppRefused
from mkoba.codes import Code
from mkoba.processor.request import Response


def refused(code: str, message: str, status: int = 400, **extra: Any) -> JSONResponse:
    """A refusal with its stable code and a sentence for the person."""
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return JSONResponse({"error": body}, status_code=status)


def of(no: AppRefused) -> JSONResponse:
    """The validation server's (or the channel's) refusal, with the contract's status."""
    return refused(no.code, no.message, no.status, **no.extra)


def from_tranproc(response: Response) -> JSONResponse:
    """TranProc's refusal, as the app reads refusals."""
    status = response.code.http_status
    if status < 400:  # a code that is not ok but not an HTTP error either (never expected)
        status = 409
    error: dict[str, Any] = {"code": str(response.code), "message": response.message}
    if "confirm" in response.data:  # a step-up: by the PIN again, or by the device's code
        error["confirm"] = response.data["confirm"]
    return JSONResponse({"error": error}, status_code=status)


def busy() -> JSONResponse:
    """No core can answer now: try again shortly."""
    return refused(str(Code.SYSTEM_BUSY), Code.SYSTEM_BUSY.message, 503)
