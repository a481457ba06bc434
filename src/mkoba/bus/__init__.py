"""The bus between channels and TranProc: one interface, an in-process implementation.

Channels call ``request`` and, before showing a success, ``acknowledge`` (it posts);
TranProc is attached with ``serve``. Two implementations: ``memory.MemoryBus``
(in-process, the embedded default) and ``jetstream.NatsBus`` (NATS JetStream,
``--bus nats://host:port[/prefix]``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

from mkoba.processor.request import Request, Response

Handler = Callable[[Request], Awaitable[Response]]
Acknowledger = Callable[[str, bool], Awaitable[bool]]


class Bus(Protocol):
    """How requests reach TranProc and responses come back."""

    async def serve(self, handler: Handler, acknowledger: Acknowledger) -> None:
        """Start delivering requests to ``handler`` (TranProc's side)."""

    async def request(self, request: Request, timeout_s: float) -> Response:
        """Send a request and wait for its response (a channel's side)."""

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """Say a response is going to its user (``delivered``) or missed them.

        Delivered: True once the money stands (posted now, or it never waited), False
        when it was rolled back first, or TranProc could not be told: the channel
        shows the success only on True. Not delivered: True when that rolled it back.
        """

    def health(self) -> dict[str, object]:
        """For /health: ``state`` ("ok" when requests can reach TranProc) and details."""

    async def close(self) -> None:
        """Stop; requests still queued are answered SYSTEM_BUSY."""


def parse_nats_url(url: str) -> tuple[str, str]:
    """The server URL and the subject prefix of ``nats://host[:port][/prefix]``."""
    parts = urlsplit(url)
    if parts.scheme != "nats" or not parts.hostname:
        raise ValueError("use memory or nats://host:port[/prefix]")
    prefix = parts.path.strip("/") or "mkoba"
    if not prefix.replace("_", "").replace("-", "").isalnum():
        raise ValueError("a bus prefix is letters, digits, - and _")
    return f"nats://{parts.hostname}:{parts.port or 4222}", prefix
