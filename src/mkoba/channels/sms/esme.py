"""An SMPP v3.4 ESME over one ``bind_transceiver``, in asyncio, on smpplib's PDU codec.

smpplib (pinned) encodes and parses the PDUs; its socket client is blocking and
not thread-safe, so the session is ours: one connection owned by one task,
a window of outstanding submit_sm, enquire_link on a timer, reconnection with
backoff (and jitter) whenever the link drops or stops answering, and a pause
on ESME_RTHROTTLED (0x58) plus an optional self-imposed rate. Inbound
deliver_sm (receipts and MO messages) is answered at once, before any business
work: the handler only queues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from smpplib import consts as smpp_consts
from smpplib import smpp
from smpplib.client import SimpleSequenceGenerator

log = logging.getLogger("mkoba.sms.esme")

ROK = 0x00
RTHROTTLED = 0x58
RMSGQFUL = 0x14
RSYSERR = 0x08
RX_T_APPN = 0x64
# Transient answers: the message may be sent again later.
TRANSIENT = frozenset({RTHROTTLED, RMSGQFUL, RSYSERR, RX_T_APPN})
# Our own status for "no answer": the link dropped or the SMSC did not respond in time.
NO_ANSWER = -1
RESPONSE_BIT = 0x80000000
pdu_bytes_max = 64 * 1024
connect_timeout_s = 5.0
backoff_s = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
throttle_pause_s = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
# Retries of one submit_sm that the SMSC throttled, before the caller is told.
throttle_retries_max = 6
# SIM data download (3GPP TS 23.040 §9.2.3.9, TS 31.115 §4): TP-PID, and the data
# coding 0xF6 (TS 23.038 group 1111: 8-bit data, message class 2, SIM specific).
PID_SIM_DATA_DOWNLOAD = 0x7F
DATA_CODING_SIM_DATA = 0xF6
ESM_CLASS_UDHI = 0x40
TON_INTERNATIONAL, TON_NETWORK, TON_ALPHANUMERIC = 1, 3, 5
NPI_UNKNOWN, NPI_E164 = 0, 1
# A numeric address this short is a short code (network specific), longer an MSISDN.
short_code_digits_max = 8
# One SMS carries 140 octets of user data (its UDH included).
sms_octets = 140


class SubmitResult(NamedTuple):
    """The SMSC's answer to a submit_sm: status (NO_ANSWER if none) and message id."""

    status: int
    message_id: str

    @property
    def ok(self) -> bool:
        """Whether the SMSC took the message."""
        return self.status == ROK


class Inbound(NamedTuple):
    """A deliver_sm: a delivery receipt (esm_class 0x04) or a message from a phone."""

    source: str
    destination: str
    esm_class: int
    data_coding: int
    short_message: bytes
    receipted_message_id: str
    message_state: int
    # TP-PID: 0x7F is SIM data download (3GPP TS 23.040 §9.2.3.9), 0 a plain SMS.
    protocol_id: int = 0

    @property
    def is_receipt(self) -> bool:
        """Whether this is an SMSC delivery receipt."""
        return bool(self.esm_class & 0x04)


def address_type(address: str) -> tuple[int, int]:
    """TON and NPI for an address: alphanumeric (MPESA), short code or MSISDN."""
    if not address.isdigit():
        return TON_ALPHANUMERIC, NPI_UNKNOWN
    if len(address) <= short_code_digits_max:
        return TON_NETWORK, NPI_UNKNOWN
    return TON_INTERNATIONAL, NPI_E164


class BindRefused(ConnectionError):
    """The SMSC refused our credentials (no point retrying fast)."""


class _Codec:
    """What smpplib's PDU classes need from a client: sequence numbers."""

    def __init__(self) -> None:
        self._sequences = SimpleSequenceGenerator()

    @property
    def sequence(self) -> int:
        return int(self._sequences.sequence)

    def next_sequence(self) -> int:
        return int(self._sequences.next_sequence())


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


class Esme:
    """One bound transceiver session to an SMSC, kept up for as long as it runs."""

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        on_inbound: Callable[[Inbound], None],
        window: int = 10,
        tps_max: int = 0,
        enquire_link_s: float = 30.0,
        response_timeout_s: float = 10.0,
    ) -> None:
        assert window >= 1 and tps_max >= 0
        self.host, self.port = host, port
        self._system_id, self._password = system_id, password
        self.on_inbound = on_inbound
        self.window = window
        self.tps_max = tps_max
        self.enquire_link_s = enquire_link_s
        self.response_timeout_s = response_timeout_s
        self.bound = asyncio.Event()
        self._codec = _Codec()
        self._slots = asyncio.Semaphore(window)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._paused_until = 0.0
        self._throttles_in_row = 0
        self._next_send = 0.0
        self.binds = 0
        self.submitted = 0
        self.throttled = 0
        self.outstanding = 0
        self.outstanding_max = 0

    def __repr__(self) -> str:
        return f"Esme({self._system_id}@{self.host}:{self.port})"

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and bind in the background, and stay bound."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="smpp-esme")

    async def stop(self) -> None:
        """Unbind politely (if bound) and close."""
        self._stopping = True
        writer = self._writer
        if writer is not None and self.bound.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._call("unbind"), 2.0)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._close()

    async def wait_bound(self, timeout_s: float) -> bool:
        """Whether the session is bound within ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.bound.wait(), timeout_s)
        return self.bound.is_set()

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                await self._session()
                attempt = 0
            except BindRefused as refused:
                log.error("SMSC %s:%d refused the bind: %s", self.host, self.port, refused)
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError) as error:
                log.warning("SMPP link to %s:%d lost: %r", self.host, self.port, error)
            finally:
                self._close()
            if self._stopping:
                return
            delay = backoff_s[min(attempt, len(backoff_s) - 1)]
            attempt += 1
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), connect_timeout_s
        )
        self._writer = writer
        reading = asyncio.get_running_loop().create_task(self._read(reader), name="smpp-read")
        try:
            response = await self._call(
                "bind_transceiver",
                system_id=self._system_id,
                password=self._password,
                system_type="",
                addr_ton=0,
                addr_npi=0,
                address_range="",
            )
            if response.status != ROK:
                raise BindRefused(f"status 0x{response.status:02X}")
            self.binds += 1
            self.bound.set()
            log.info("SMPP bound to %s:%d as transceiver", self.host, self.port)
            await self._keep_alive(reading)
        finally:
            self.bound.clear()
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _keep_alive(self, reading: asyncio.Task[None]) -> None:
        """enquire_link every interval; a link that does not answer is dropped."""
        while not reading.done():
            done, _ = await asyncio.wait({reading}, timeout=self.enquire_link_s)
            if done:
                break
            response = await self._call("enquire_link")
            if response.status != ROK:
                raise ConnectionError("enquire_link refused")
        reading.result()  # re-raise why reading stopped

    def _close(self) -> None:
        self.bound.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the SMPP link dropped"))

    # -- reading ----------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            head = await reader.readexactly(4)
            (length,) = struct.unpack(">L", head)
            if not 16 <= length <= pdu_bytes_max:
                raise ConnectionError(f"a PDU of {length} bytes")
            raw = head + await reader.readexactly(length - 4)
            (command_id,) = struct.unpack(">L", raw[4:8])
            if command_id & RESPONSE_BIT:
                self._answer(raw)
                continue
            try:
                pdu = smpp.parse_pdu(raw, client=self._codec, allow_unknown_opt_params=True)
            except Exception:  # smpplib raises on commands and fields it does not know
                pdu = None
            if pdu is None:
                self._reply_nack(raw)
                continue
            command = pdu.command
            if command == "deliver_sm":
                self._deliver(pdu)
            elif command in ("enquire_link", "unbind"):
                self._send(self._response(f"{command}_resp", pdu.sequence))
                if command == "unbind":
                    raise ConnectionError("the SMSC unbound")
            else:
                self._reply_nack(raw)

    def _answer(self, raw: bytes) -> None:
        (sequence,) = struct.unpack(">L", raw[12:16])
        future = self._pending.pop(sequence, None)
        if future is None or future.done():
            return  # an answer after its timeout: the caller has moved on
        pdu = smpp.parse_pdu(raw, client=self._codec, allow_unknown_opt_params=True)
        future.set_result(pdu)

    def _deliver(self, pdu: Any) -> None:
        inbound = Inbound(
            _text(pdu.source_addr),
            _text(pdu.destination_addr),
            int(pdu.esm_class or 0),
            int(pdu.data_coding or 0),
            bytes(pdu.short_message or b""),
            _text(getattr(pdu, "receipted_message_id", None)),
            int(getattr(pdu, "message_state", None) or 0),
            int(pdu.protocol_id or 0),
        )
        status = ROK
        try:
            self.on_inbound(inbound)
        except Exception:  # the SMSC will redeliver what we could not take
            log.exception("inbound deliver_sm could not be queued")
            status = RX_T_APPN
        self._send(self._response("deliver_sm_resp", pdu.sequence, status))

    def _reply_nack(self, raw: bytes) -> None:
        (sequence,) = struct.unpack(">L", raw[12:16])
        self._send(self._response("generic_nack", sequence, smpp_consts.SMPP_ESME_RINVCMDID))

    def _response(self, command: str, sequence: int, status: int = ROK) -> Any:
        """A response PDU to the request numbered ``sequence``."""
        pdu = smpp.make_pdu(command, client=self._codec, status=status)
        # smpplib ignores a ``sequence`` argument on responses: set it after (as its client does).
        pdu.sequence = sequence
        return pdu

    # -- writing ----------------------------------------------------------------------

    def _send(self, pdu: Any) -> None:
        writer = self._writer
        if writer is None:
            raise ConnectionError("not connected")
        writer.write(pdu.generate())

    async def _call(self, command: str, **fields: Any) -> Any:
        """Send a request PDU and wait for its response."""
        pdu = smpp.make_pdu(command, client=self._codec, **fields)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[pdu.sequence] = future
        try:
            self._send(pdu)
            writer = self._writer
            if writer is not None:
                await writer.drain()
            return await asyncio.wait_for(future, self.response_timeout_s)
        finally:
            self._pending.pop(pdu.sequence, None)

    async def submit(self, **fields: Any) -> SubmitResult:
        """Send one submit_sm; the SMSC's answer (throttling retried within bounds)."""
        for _ in range(throttle_retries_max + 1):
            result = await self._submit_once(fields)
            if result.status != RTHROTTLED:
                self._throttles_in_row = 0
                return result
            self.throttled += 1
            pause = throttle_pause_s[min(self._throttles_in_row, len(throttle_pause_s) - 1)]
            self._throttles_in_row += 1
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
        return result

    async def submit_binary(
        self,
        source: str,
        destination: str,
        user_data: bytes,
        *,
        udh: bool = True,
        registered_delivery: int = 0,
    ) -> SubmitResult:
        """Send 8-bit user data as a SIM data download SMS (TS 31.115 §4).

        TP-PID 0x7F and data coding 0xF6 (8-bit, class 2) make the handset hand
        the message to the SIM instead of showing it; ``user_data`` goes as it is,
        its UDH included, with UDHI (esm_class 0x40) when ``udh`` says it begins
        with one.
        """
        if len(user_data) > sms_octets:
            raise ValueError(f"an SMS carries at most {sms_octets} octets")
        source_ton, source_npi = address_type(source)
        dest_ton, dest_npi = address_type(destination)
        return await self.submit(
            service_type="",
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=ESM_CLASS_UDHI if udh else 0,
            protocol_id=PID_SIM_DATA_DOWNLOAD,
            priority_flag=0,
            schedule_delivery_time="",
            validity_period="",
            registered_delivery=registered_delivery,
            replace_if_present_flag=0,
            data_coding=DATA_CODING_SIM_DATA,
            sm_default_msg_id=0,
            short_message=bytes(user_data),
        )

    async def _submit_once(self, fields: dict[str, Any]) -> SubmitResult:
        async with self._slots:
            if not self.bound.is_set() and not await self.wait_bound(self.response_timeout_s):
                return SubmitResult(NO_ANSWER, "")
            await self._pace()
            self.outstanding += 1
            self.outstanding_max = max(self.outstanding_max, self.outstanding)
            try:
                response = await self._call("submit_sm", **fields)
            except (ConnectionError, TimeoutError, OSError):
                return SubmitResult(NO_ANSWER, "")
            finally:
                self.outstanding -= 1
            self.submitted += 1
            return SubmitResult(int(response.status), _text(response.message_id))

    async def _pace(self) -> None:
        """Wait out a throttling pause, and keep to ``tps_max``."""
        now = time.monotonic()
        if self._paused_until > now:
            await asyncio.sleep(self._paused_until - now)
            now = time.monotonic()
        if self.tps_max:
            slot = max(now, self._next_send)
            self._next_send = slot + 1.0 / self.tps_max
            if slot > now:
                await asyncio.sleep(slot - now)
