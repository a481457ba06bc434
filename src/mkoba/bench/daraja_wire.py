"""What ``mkoba bench daraja`` sends and receives: STK push bodies, a connection, a listener."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import re

from mkoba.bench.http import read_head

SHORTCODE = "174379"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
_RESULT_CODE = re.compile(rb'"ResultCode"\s*:\s*"?(-?[0-9]+)')


class Listener:
    """The businesses' callback receiver: one waiter per client, by path ``/cb/<client>``."""

    def __init__(self) -> None:
        self.waiters: dict[int, asyncio.Future[str]] = {}
        self.early: dict[int, str] = {}
        self.server: asyncio.Server | None = None
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening, and hang up on the server's open connections."""
        for writer in list(self._writers):
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def expect(self, client: int) -> asyncio.Future[str]:
        """A future for the ResultCode of the client's next callback ("0": paid)."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if client in self.early:
            future.set_result(self.early.pop(client))
        else:
            self.waiters[client] = future
        return future

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 36\r\n\r\n{"ResultCode":0,"ResultDesc":"Done"}'
                )
                client = int(path.rsplit("/", 1)[1])
                found = _RESULT_CODE.search(body)
                code = found.group(1).decode() if found else "missing"
                future = self.waiters.pop(client, None)
                if future is None:
                    self.early[client] = code
                elif not future.done():
                    future.set_result(code)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class Connection:
    """One keep-alive connection POSTing JSON with a bearer token."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        """Disconnect."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    async def post(self, path: str, body: bytes) -> int:
        """POST ``body``; the status (the answer is read and dropped)."""
        assert self.reader is not None and self.writer is not None
        if self.writer.is_closing():
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        answer = await read_head(self.reader)
        if answer.length:
            await self.reader.readexactly(answer.length)
        if answer.close:
            await self.close()
            await self.open()
        return answer.status


def push_body(msisdn: int, callback: str) -> bytes:
    """A KES 1 push; any timestamp is valid with its own password, so one body serves all."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{SHORTCODE}{PASSKEY}{stamp}".encode()).decode()
    return json.dumps(
        {
            "BusinessShortCode": SHORTCODE,
            "Password": password,
            "Timestamp": stamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 1,
            "PartyA": str(msisdn),
            "PartyB": SHORTCODE,
            "PhoneNumber": str(msisdn),
            "CallBackURL": callback,
            "AccountReference": "BENCH",
            "TransactionDesc": "Bench",
        }
    ).encode()


def query_body() -> bytes:
    """An STK query (the peer answers any; it keeps no checkout ids)."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{SHORTCODE}{PASSKEY}{stamp}".encode()).decode()
    return json.dumps(
        {
            "BusinessShortCode": SHORTCODE,
            "Password": password,
            "Timestamp": stamp,
            "CheckoutRequestID": "ws_CO_000000000000000000000000000",
        }
    ).encode()
