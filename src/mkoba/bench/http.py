"""A lean HTTP/1.1 keep-alive client for load generation (one connection per virtual user).

httpx spends more CPU per request than the server under test; on a 2-core
machine the load generator must stay light, so this speaks just enough HTTP:
POST a form, read the status, headers and a Content-Length body. The Daraja bench
reads its answers with the same ``read_head``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

header_bytes_max = 16 * 1024


@dataclass(frozen=True, slots=True)
class Head:
    """What a response's head says: its status, its body's length, whether the server hangs up."""

    status: int
    length: int
    close: bool


async def read_head(reader: asyncio.StreamReader) -> Head:
    """Read one response's status line and headers (not its body)."""
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > header_bytes_max:
        raise ConnectionError("headers too long")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    return Head(status, length, close)


class Connection:
    """One keep-alive connection to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        """Disconnect."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    async def post_form(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` as a form; the status and the answer's body."""
        return await self.post(path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    async def post(
        self, path: str, body: bytes, headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, bytes]:
        """Send ``body`` with ``headers``; the status and the answer's body."""
        assert self._reader is not None and self._writer is not None, "open first"
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{lines}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self._writer.write(head + body)
        answer = await read_head(self._reader)
        payload = await self._reader.readexactly(answer.length) if answer.length else b""
        return answer.status, payload
