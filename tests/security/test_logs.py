"""A traceback in the log shows where it failed and why, never a frame's local variables.

A function that holds a secret (a PIN, a token, a request body) and fails is logged
as the server logs it (``logs.configure``, both formats, colours or not; through
structlog and through the standard library, as uvicorn and every mkoba module log):
the log names the exception, its message and the frames, and holds no local value.
The secrets are made at run time, so no source line shown in a traceback holds them.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from mkoba import logs
from tests.security.canaries import Canaries, Sink, digits, text

FORMATS = [
    pytest.param(("console", False), id="console"),
    pytest.param(("console", True), id="console-colours"),
    pytest.param(("json", False), id="json"),
]


@pytest.fixture
def configured(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[io.StringIO]:
    """The server's logging (the format and colours of the test's parameters), into a buffer."""
    fmt, colours = request.param
    monkeypatch.setattr(sys.stderr, "isatty", lambda: colours)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    logs.configure("info", fmt)
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()


class CheckFailed(Exception):
    """What the function below raises."""


def verify(pin: str, body: dict[str, str]) -> None:
    """A function holding secrets in its arguments and variables when it fails."""
    token = body["token"]
    message = f"{pin}:{token}".encode()
    if message:
        raise CheckFailed("the check failed")


def handle(pin: str, body: dict[str, str]) -> None:
    """A caller that also holds them, and fails in turn (a chained exception)."""
    try:
        verify(pin, body)
    except CheckFailed as error:
        raise RuntimeError("the request failed") from error


@pytest.mark.parametrize("configured", FORMATS, indirect=True)
@pytest.mark.parametrize("through", ["structlog", "logging"])
def test_a_logged_traceback_shows_no_locals(configured: io.StringIO, through: str) -> None:
    pin, token = digits(6), text("cnryToken")
    try:
        handle(pin, {"token": token})
    except RuntimeError:
        if through == "structlog":
            structlog.get_logger("mkoba.test").exception("request failed")
        else:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    written = configured.getvalue()

    # The traceback is there: both exceptions, their messages, the frames that failed.
    for shown in ("CheckFailed", "the check failed", "RuntimeError", "the request failed"):
        assert shown in written, written
    for frame in ("verify", "handle"):
        assert frame in written, written
    # No local variable's value (in clear, hex or base64), and JSON frames without locals.
    hits = Canaries({"pin": pin, "token": token}).hits([Sink("log", written.encode())])
    assert not hits, "\n".join(map(str, hits))
    if written.lstrip().startswith("{"):
        record = json.loads(written)
        frames = [frame for stack in record["exception"] for frame in stack["frames"]]
        assert frames and all("locals" not in frame for frame in frames), record
