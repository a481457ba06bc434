"""A lean HTTP/1.1 client for callbacks: POST a JSON body, read the answer, keep the connection.

Callbacks are many small POSTs to a few hosts. A general client (httpx)
spends more CPU per callback than the whole payment behind it (its pool
checks every idle connection on every request); this one keeps a bounded
stack of idle connections per host and speaks just what a callback needs:
``http`` and ``https``, Content-Length or chunked answers, keep-alive, no
redirects, no proxies, one deadline for the whole exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import NamedTuple
from urllib.parse import urlsplit

# Limits: idle connections kept per host, an answer's header block and body.
idle_per_host_max = 256
header_bytes_max = 64 * 1024
body_bytes_max = 1024 * 1024


class PostError(Exception):
    """The exchange failed: no connection, no answer in time, or an answer we cannot read."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Answer(NamedTuple):
    """What the receiver answered."""

    status: int
    body: bytes


Key = tuple[str, str, int]
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _target(url: str) -> tuple[Key, str, str]:
    """The connection key, the request target and the Host header of ``url``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise PostError("InvalidURL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PostError("InvalidURL")
    default = 443 if parts.scheme == "https" else 80
    port = port or default
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if port == default else f"{parts.hostname}:{port}"
    if any(c in path + host for c in "\r\n "):
        raise PostError("InvalidURL")
    return (parts.scheme, parts.hostname, port), path, host


class Poster:
    """POSTs JSON bodies, keeping connections open per host."""

    def __init__(self, timeout_s: float) -> None:
        assert timeout_s > 0
        self.timeout_s = timeout_s
        self._idle: dict[Key, list[Stream]] = {}
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def post(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> Answer:
        """POST ``body`` to ``url``; the answer, or ``PostError`` (whose kind says why)."""
        if self._closed:
            raise PostError("Closed")
        key, path, host = _target(url)
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._exchange(key, request)
        except TimeoutError:
            raise PostError("Timeout") from None

    async def _exchange(self, key: Key, request: bytes) -> Answer:
        stream = self._take(key)
        if stream is not None:
            try:
                return await self._send(key, stream, request)
            except PostError as error:
                if error.kind != "Stale":
                    raise
        # A new connection (or a stale one replaced: it closed before answering anything).
        return await self._send(key, await self._open(key), request, fresh=True)

    def _take(self, key: Key) -> Stream | None:
        idle = self._idle.get(key)
        while idle:
            reader, writer = idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def _open(self, key: Key) -> Stream:
        scheme, host, port = key
        context = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            context = self._tls
        try:
            return await asyncio.open_connection(host, port, ssl=context)
        except (OSError, ssl.SSLError) as error:
            raise PostError(type(error).__name__) from None
        except UnicodeError:
            # A host name IDNA cannot encode (an empty or 64-character label): never reachable.
            raise PostError("InvalidURL") from None

    async def _send(self, key: Key, stream: Stream, request: bytes, fresh: bool = False) -> Answer:
        reader, writer = stream
        keep = False
        try:
            writer.write(request)
            await writer.drain()
            answer, keep = await _read(reader)
        except asyncio.IncompleteReadError as error:
            raise PostError(
                "Stale" if not error.partial and not fresh else "RemoteProtocolError"
            ) from None
        except (OSError, ssl.SSLError) as error:
            raise PostError("Stale" if not fresh else type(error).__name__) from None
        finally:
            if not keep:
                writer.close()
        idle = self._idle.setdefault(key, [])
        if len(idle) < idle_per_host_max:
            idle.append(stream)
        else:
            writer.close()
        return answer

    async def close(self) -> None:
        """Close every idle connection; later posts fail."""
        self._closed = True
        streams = [stream for idle in self._idle.values() for stream in idle]
        self._idle.clear()
        for _, writer in streams:
            writer.close()
        for _, writer in streams:
            with contextlib.suppress(OSError, ssl.SSLError, ConnectionError):
                await writer.wait_closed()


async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """An answer, and whether the connection may carry another request."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise PostError("RemoteProtocolError") from None
    if len(head) > header_bytes_max:
        raise PostError("RemoteProtocolError")
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    status_text = rest[:3]
    if not version.startswith("HTTP/1.") or not status_text.isdigit():
        raise PostError("RemoteProtocolError")
    status = int(status_text)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if status in (204, 304) or 100 <= status < 200:
        return Answer(status, b""), keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Answer(status, await _chunks(reader)), keep
    length_text = headers.get("content-length")
    if length_text is not None:
        if not length_text.isdigit() or int(length_text) > body_bytes_max:
            raise PostError("RemoteProtocolError")
        return Answer(status, await reader.readexactly(int(length_text))), keep
    # No length: the body runs to the end of the connection.
    body = await reader.read(body_bytes_max)
    return Answer(status, body), False


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise PostError("RemoteProtocolError") from None
        if size == 0:
            # Trailers, if any, end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > body_bytes_max:
            raise PostError("RemoteProtocolError")
        body += await reader.readexactly(size)
        await reader.readexactly(2)
