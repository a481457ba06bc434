"""How the bench's phones reach the SMSC peer: SIM data out by its control API, answers pushed.

A phone sends its SIM's SMS with ``POST /mo`` (8-bit, TP-PID 0x7F, data coding
0xF6, UDHI: SIM data download, as ``tests/channels/sms/peer.py``'s ``mo_binary``)
on a keep-alive connection of its own. What mkoba submits to the phones comes
back on one ``GET /messages/stream`` the peer pushes every SIM data message on,
as it accepts it: no phone polls, so the bench measures mkoba and the SMSC, not
a poll interval. The stream is spread into one inbox per phone number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from mkoba.bench.http import Connection, read_head

PID_SIM_DATA = 0x7F
DCS_8BIT_CLASS2 = 0xF6
ESM_UDHI = 0x40
_JSON = {"Content-Type": "application/json"}


class PeerLink:
    """The peer's pushed SIM data messages, by destination number."""

    def __init__(self, host: str, control_port: int) -> None:
        self.host, self.port = host, control_port
        self._inboxes: dict[str, asyncio.Queue[bytes]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.unknown = 0  # messages to no phone of the bench's
        self.pushed = 0  # SIM data SMS to the bench's phones

    def inbox(self, msisdn: str) -> asyncio.Queue[bytes]:
        """The SIM data SMS (user data, UDH included) pushed to ``msisdn``."""
        return self._inboxes.setdefault(msisdn, asyncio.Queue())

    async def open(self) -> None:
        """Subscribe to the peer's stream (HTTP/1.0: one JSON object a line, to the end)."""
        reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(
            f"GET /messages/stream?protocol_id={PID_SIM_DATA} HTTP/1.0\r\n"
            f"Host: {self.host}:{self.port}\r\n\r\n".encode()
        )
        head = await read_head(reader)
        if head.status != 200:
            raise RuntimeError(f"the SMSC peer has no message stream ({head.status})")
        self._task = asyncio.create_task(self._read(reader), name="sim-bench-stream")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            message = json.loads(line)
            inbox = self._inboxes.get(message["dest"])
            if inbox is None:
                self.unknown += 1
                continue
            self.pushed += 1
            inbox.put_nowait(bytes.fromhex(message["hex"]))

    async def close(self) -> None:
        """Unsubscribe."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()


async def send_sim_data(connection: Connection, sender: str, to: str, user_data: bytes) -> str:
    """``sender`` sends one SIM data SMS to ``to``: '' once the SMSC has it, else why not."""
    body = json.dumps(
        {
            "from": sender,
            "to": to,
            "hex": user_data.hex(),
            "protocol_id": PID_SIM_DATA,
            "data_coding": DCS_8BIT_CLASS2,
            "esm_class": ESM_UDHI,
        }
    ).encode()
    status, answer = await connection.post("/mo", body, _JSON)
    if status != 200:
        return f"the SMSC peer answered {status}"
    if json.loads(answer).get("sessions", 0) < 1:
        return "no ESME was bound to the SMSC"
    return ""
