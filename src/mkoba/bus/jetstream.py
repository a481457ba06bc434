"""The NATS JetStream bus: requests on a durable work queue, answers straight back.

``--bus nats://host:4222/prefix`` (prefix ``mkoba`` when the URL has no path; two
ledgers on one NATS server need two prefixes). Subjects under the prefix:

- ``<prefix>.requests``: a JetStream stream with work-queue retention, on disk.
  A request waits there until a TranProc takes it, across TranProc restarts.
  TranProcs share one durable consumer (``tranproc``, a queue group): each
  request goes to one of them, at most ``workers`` in hand per consumer, and is
  acknowledged to JetStream once answered. One taken but never answered (its
  TranProc died) comes back after ``redelivery_s``; TranProc's replay by request
  id makes the second pass answer what the first decided.
- answers: plain NATS, to the reply subject the channel put in the request
  (its own inbox). A channel that stopped waiting drops them. A channel
  publishes without waiting for JetStream's acknowledgement: it waits for the
  answer, and a request the stream lost is answered SYSTEM_BUSY at its deadline,
  as a failed publish would be.
- ``<prefix>.acks``: delivery acknowledgements, request-reply to the TranProcs'
  queue group; the answer says whether the money stands (``Bus.acknowledge``).
- ``<prefix>.rows`` and ``<prefix>.balances``: a front's channel rows for the
  core's ledger writer to commit (rows.py), and the ledger balances a front reads,
  request-reply to the core.

A request carries its deadline: past it the channel has told the user the
system is busy, so a TranProc that takes it late answers SYSTEM_BUSY without
acting on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from mkoba.bus import Acknowledger, Handler, parse_nats_url
from mkoba.bus.rows import Admission, LocalRows, RowsError, admitted, rows_bytes, rows_from
from mkoba.bus.wire import WireError, request_bytes, request_from, response_bytes, response_from
from mkoba.codes import Code
from mkoba.ledger import Balance, Write
from mkoba.processor.request import Request, Response, failure

log = logging.getLogger("mkoba.bus")

CONSUMER = "tranproc"
# A request taken but not answered in this long is offered again (its TranProc died).
redelivery_s = 60.0
# Requests older than this leave the stream unread (their deadlines are long past).
request_age_max_s = 3600.0
# How long a channel waits for a TranProc to take its acknowledgement.
ack_timeout_s = 5.0
# How long a front waits for the core to commit its rows (or read balances).
rows_timeout_s = 10.0
connect_timeout_s = 5.0


class BusUnavailable(RuntimeError):
    """The bus's server cannot be reached or refused to set the bus up."""


async def _report(problem: Exception) -> None:
    log.warning("NATS: %s", type(problem).__name__)


async def _disconnected() -> None:
    log.warning("NATS: disconnected; reconnecting")


async def _reconnected() -> None:
    log.warning("NATS: reconnected")


class NatsBus:
    """Channels publish requests to JetStream; TranProcs consume them and answer."""

    def __init__(self, url: str, workers: int = 64) -> None:
        assert workers > 0
        self.server, self.prefix = parse_nats_url(url)
        self.workers = workers
        self.stream = f"{self.prefix.upper().replace('-', '_')}_REQUESTS"
        self.subject = f"{self.prefix}.requests"
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._inbox = ""
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[Response]] = {}
        self._taking: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handler: Handler | None = None
        self._acknowledger: Acknowledger | None = None
        self._rows: LocalRows | None = None
        self._admission: Admission = {}

    @property
    def client(self) -> Client:
        """The NATS connection (after ``connect``)."""
        assert self._nc is not None, "connect first"
        return self._nc

    async def connect(self) -> None:
        """Connect, make sure the request stream exists, listen for answers."""
        host, port = self.server.removeprefix("nats://").rsplit(":", 1)
        try:
            # nats-py retries an unreachable server for ever when reconnects are unlimited,
            # as a running bus's must be: see first whether anyone listens.
            _, probe = await asyncio.wait_for(
                asyncio.open_connection(host, int(port)), connect_timeout_s
            )
            probe.close()
            self._nc = await nats.connect(
                self.server,
                name="mkoba",
                connect_timeout=connect_timeout_s,
                max_reconnect_attempts=-1,
                error_cb=_report,
                disconnected_cb=_disconnected,
                reconnected_cb=_reconnected,
            )
        except (OSError, TimeoutError, NatsError) as problem:
            raise BusUnavailable(f"cannot reach NATS at {self.server}: {problem}") from None
        self._js = self._nc.jetstream()
        config = StreamConfig(
            name=self.stream,
            subjects=[self.subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            max_age=request_age_max_s,
        )
        try:
            try:
                await self._js.add_stream(config)
            except BadRequestError:
                await self._js.update_stream(config)
        except NatsError as problem:
            await self._nc.close()
            raise BusUnavailable(f"NATS at {self.server} has no JetStream: {problem}") from None
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_answer)

    # -- TranProc's side ------------------------------------------------------------------

    async def serve(self, handler: Handler, acknowledger: Acknowledger) -> None:
        """Take requests from the stream (and acknowledgements) for this TranProc."""
        assert self._nc is not None and self._js is not None, "connect first"
        assert self._taking is None, "already serving"
        self._handler, self._acknowledger = handler, acknowledger
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=redelivery_s,
            max_ack_pending=self.workers,
        )
        self._taking = await self._js.subscribe(
            self.subject,
            queue=CONSUMER,
            durable=CONSUMER,
            stream=self.stream,
            cb=self._on_request,
            manual_ack=True,
            config=config,
        )
        await self._nc.subscribe(f"{self.prefix}.acks", queue=CONSUMER, cb=self._on_ack)

    async def _on_request(self, message: Msg) -> None:
        self._spawn(self._answer(message))

    async def _answer(self, message: Msg) -> None:
        assert self._nc is not None and self._handler is not None
        try:
            request, deadline, reply = request_from(message.data)
        except WireError as problem:
            log.error("dropped a message on %s: %s", self.subject, problem)
            await message.term()
            return
        if time.time_ns() > deadline:
            # Its channel has answered SYSTEM_BUSY already: acting now would surprise the user.
            response = failure(request, Code.SYSTEM_BUSY)
        else:
            try:
                response = await self._handler(request)
            except Exception:
                log.exception("request %s failed", request.id)
                response = failure(request, Code.SYSTEM_ERROR)
        if reply:
            await self._nc.publish(reply, response_bytes(response))
        await message.ack()

    async def serve_rows(self, rows: LocalRows, admission: Admission) -> None:
        """Commit fronts' channel rows that ``admission`` allows; answer balance reads."""
        assert self._nc is not None, "connect first"
        self._rows, self._admission = rows, admission
        await self._nc.subscribe(f"{self.prefix}.rows", queue=CONSUMER, cb=self._on_rows)
        await self._nc.subscribe(f"{self.prefix}.balances", queue=CONSUMER, cb=self._on_balances)

    async def _on_rows(self, message: Msg) -> None:
        self._spawn(self._commit_rows(message))

    async def _commit_rows(self, message: Msg) -> None:
        assert self._rows is not None
        try:
            writes, poke = rows_from(message.data)
        except ValueError as problem:
            await message.respond(f"refused: {problem}".encode())
            return
        refusal = admitted(writes, self._admission)
        if refusal:
            log.error("refused a front's rows: %s", refusal)
            await message.respond(f"refused: {refusal}".encode())
            return
        try:
            await self._rows.submit(writes, poke=poke)
        except Exception as problem:
            log.exception("a front's rows did not commit")
            await message.respond(f"failed: {type(problem).__name__}".encode())
            return
        await message.respond(b"ok")

    async def _on_balances(self, message: Msg) -> None:
        self._spawn(self._read_balances(message))

    async def _read_balances(self, message: Msg) -> None:
        assert self._rows is not None
        try:
            wanted = json.loads(message.data)
            if not isinstance(wanted, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in wanted
            ):
                raise ValueError("a list of account ids")
        except ValueError:
            await message.respond(b"null")
            return
        found = await self._rows.balances(wanted)
        await message.respond(json.dumps([None if b is None else list(b) for b in found]).encode())

    async def _on_ack(self, message: Msg) -> None:
        self._spawn(self._acknowledged(message))

    async def _acknowledged(self, message: Msg) -> None:
        assert self._acknowledger is not None
        try:
            body: Any = json.loads(message.data)
            request_id, delivered = str(body["id"]), bool(body["delivered"])
        except (ValueError, KeyError, TypeError):
            log.error("dropped a malformed acknowledgement")
            return
        changed = await self._acknowledger(request_id, delivered)
        await message.respond(b"1" if changed else b"0")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("bus task failed", exc_info=task.exception())

    # -- a channel's side -----------------------------------------------------------------

    async def request(self, request: Request, timeout_s: float) -> Response:
        """Queue ``request``; its response, or SYSTEM_BUSY when none comes in time."""
        assert self._nc is not None, "connect first"
        token = f"{self._inbox}.{next(self._tokens)}"
        answer: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting[token] = answer
        started = time.monotonic()
        deadline = time.time_ns() + int(timeout_s * 1e9)
        try:
            await self._nc.publish(self.subject, request_bytes(request, deadline, token))
            left = timeout_s - (time.monotonic() - started)
            return await asyncio.wait_for(answer, max(left, 0.0))
        except (TimeoutError, NatsError) as problem:
            if not isinstance(problem, TimeoutError):
                log.warning("request %s not queued: %s", request.id, type(problem).__name__)
            return failure(request, Code.SYSTEM_BUSY)
        finally:
            self._waiting.pop(token, None)

    async def _on_answer(self, message: Msg) -> None:
        waiting = self._waiting.get(message.subject)
        if waiting is None or waiting.done():
            return  # its channel stopped waiting
        try:
            waiting.set_result(response_from(message.data))
        except WireError as problem:
            log.error("dropped an answer: %s", problem)

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """Tell TranProc a response is going to (or missed) its user: ``Bus.acknowledge``."""
        assert self._nc is not None, "connect first"
        body = json.dumps({"id": request_id, "delivered": delivered}).encode()
        try:
            answer = await self._nc.request(f"{self.prefix}.acks", body, timeout=ack_timeout_s)
        except (TimeoutError, NatsError) as problem:
            # The deadline decides: an unacknowledged response is rolled back.
            log.warning("acknowledgement of %s reached no TranProc: %s", request_id, problem)
            return False
        return answer.data == b"1"

    def health(self) -> dict[str, object]:
        """For /health: whether the NATS connection is up (and where)."""
        connected = self._nc is not None and self._nc.is_connected
        return {
            "state": "ok" if connected else "disconnected",
            "kind": "nats",
            "prefix": self.prefix,
            "in_hand": len(self._tasks),
        }

    async def close(self) -> None:
        """Stop taking requests, finish those in hand, answer waiting channels SYSTEM_BUSY."""
        if self._taking is not None:
            with contextlib.suppress(NatsError):
                await self._taking.unsubscribe()
            self._taking = None
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for token, waiting in list(self._waiting.items()):
            if not waiting.done():
                waiting.set_exception(TimeoutError(token))
        if self._nc is not None:
            with contextlib.suppress(NatsError):
                await self._nc.drain()
            self._nc = None


class RemoteRows:
    """A front's rows, committed by the core's ledger writer across the bus."""

    ordered = False

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus

    def submit(self, writes: Sequence[Write], *, poke: bool = False) -> Awaitable[None]:
        """Send ``writes`` now; the awaitable resolves once the core has them durable."""
        return asyncio.ensure_future(self._commit(rows_bytes(writes, poke)))

    async def _commit(self, body: bytes) -> None:
        answer = await self._ask("rows", body)
        if answer != b"ok":
            raise RowsError(f"the core did not commit the rows: {answer.decode(errors='replace')}")

    async def balances(self, account_ids: Sequence[int]) -> list[Balance | None]:
        """The core's ledger writer's balances of ``account_ids``."""
        answer = json.loads(await self._ask("balances", json.dumps(list(account_ids)).encode()))
        if not isinstance(answer, list):
            raise RowsError("the core did not read the balances")
        return [None if b is None else Balance(*b) for b in answer]

    async def _ask(self, what: str, body: bytes) -> bytes:
        try:
            subject = f"{self.bus.prefix}.{what}"
            answer = await self.bus.client.request(subject, body, timeout=rows_timeout_s)
        except (TimeoutError, NatsError) as problem:
            raise RowsError(f"no core answered on {self.bus.prefix}.{what}: {problem}") from None
        return bytes(answer.data)
