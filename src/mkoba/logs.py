"""Structured logs (structlog) with secrets redacted before anything is written.

Any event key that names a secret (pin, password, secret, token, key,
credential, authorization) is replaced by ``[secure]``, and so is any value of
a secret type (``Pin``, ``SecretKey``, ``SealedPin``) wherever it appears. This
is the backstop: code never logs a PIN on purpose.

Tracebacks never show local variables, in either format: a frame that fails
while it holds a PIN, a token or a request body would otherwise print it
(structlog's console renderer uses Rich tracebacks, which show locals by
default). Every record, the server's own (uvicorn) included, goes through the
one handler configured here: ``mkoba serve`` gives uvicorn no logging of its own.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.dev import RichTracebackFormatter
from structlog.processors import ExceptionRenderer
from structlog.tracebacks import ExceptionDictTransformer

from mkoba.parties.secrets import REDACTED, Pin, SealedPin, SecretKey

_SECRET_KEY = re.compile(
    r"(pin|password|passkey|secret|token|credential|authori[sz]ation|key)$", re.I
)
_SECRET_TYPES = (Pin, SealedPin, SecretKey)


def redact(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace secrets in a log event (a structlog processor)."""
    for name, value in list(event.items()):
        if _SECRET_KEY.search(name) or isinstance(value, _SECRET_TYPES):
            event[name] = REDACTED
        elif isinstance(value, dict):
            event[name] = {
                key: REDACTED
                if _SECRET_KEY.search(str(key)) or isinstance(item, _SECRET_TYPES)
                else item
                for key, item in value.items()
            }
    return event


def renderers(fmt: str, colors: bool = False) -> list[Any]:
    """The last processors of a record in format ``fmt``: tracebacks without locals, then text.

    JSON renders a traceback as frames (file, line, function) and the exception's
    type and message; the console as Rich does, without its panel of locals.
    """
    if fmt == "json":
        frames = ExceptionDictTransformer(show_locals=False)
        return [ExceptionRenderer(frames), structlog.processors.JSONRenderer()]
    tracebacks = RichTracebackFormatter(
        color_system="truecolor" if colors else None, show_locals=False
    )
    return [structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=tracebacks)]


def configure(level: str = "info", fmt: str = "console") -> None:
    """Route structlog and the standard library's logging through one redacting pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *renderers(fmt, colors=sys.stderr.isatty()),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
