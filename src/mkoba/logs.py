"""Structured logs (structlog) with secrets redacted before anything is written.

Any event key that names a secret (pin, password, secret, token, key,
credential, authorization) is replaced by ``[secure]``, and so is any value of
a secret type (``Pin``, ``SecretKey``, ``SealedPin``) wherever it appears. This
is the backstop: code never logs a PIN on purpose.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

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


def configure(level: str = "info", fmt: str = "console") -> None:
    """Route structlog and the standard library's logging through one redacting pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
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
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
