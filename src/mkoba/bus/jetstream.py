"""The NATS JetStream bus: requests on a durable work queue, answers straight back.

``--bus nats://host:4222/prefix`` (prefix ``mkoba`` when the URL has no path; two
ledgers on one NATS server need two prefixes). Subjects under the prefix:

- ``<prefix>.requests``: a JetStream stream with work-queue retention, on disk.
  A request waits there until a TranProc takes it, across TranProc restarts.
  The serving core's TranProc takes them through one durable consumer
  (``tranproc``), made afresh each time a core starts serving (only the core that
  holds the ledger serves), at most ``workers`` in hand, each acknowledged to
  JetStream once answered. While it works on one, a TranProc
  tells JetStream so every third of ``redelivery_s``; one taken but never
  answered (its TranProc died or hung) comes back after ``redelivery_s``
  (``MKOBA_BUS_REDELIVERY_S``, 3 s), and TranProc's replay by request id makes
  the second pass answer what the first decided. A crash so costs at most a few
  seconds of backlog (docs/operations.md, "Bus timings").
- The stream's description names the ledger it belongs to (``bind``): a core
  or a front started on another ledger's database refuses to join the prefix.
- answers: plain NATS, to the reply subject the channel put in the request
  (its own inbox). A channel that stopped waiting drops them. A channel
  publishes without waiting for JetStream's acknowledgement: it waits for the
  answer, and a request the stream lost is answered SYSTEM_BUSY at its deadline,
  as a failed publish would be.
- ``<prefix>.acks``: delivery acknowledgements, request-reply to the serving core
  (no queue group: a hung core may still be subscribed, and the live one answers);
  the answer says whether the money stands (``Bus.acknowledge``).
  A channel retries one that reaches no TranProc (a core restarting, a standby
  taking over) until the request's deadline.
- ``<prefix>.status``: the active core answers with its ledger's identity; a
  front's readiness is whether one answered lately.
- ``<prefix>.rows`` and ``<prefix>.balances``: a front's channel rows for the
  core's ledger writer to commit (rows.py), and the ledger balances a front reads,
  request-reply to the core (``remote.py``).

A request carries its deadline: past it the channel has told the user the
system is busy, so a TranProc that takes it late answers SYSTEM_BUSY without
acting on it. A front's request also names the rows it sent before it and not yet
saw committed; TranProc takes it once those are queued for the ledger writer
(``order.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from mkoba.bus import Acknowledger, Handler, parse_nats_url
from mkoba.bus.order import Order
from mkoba.bus.wire import WireError, request_after, request_bytes, response_bytes, response_from
from mkoba.codes import Code
from mkoba.ports import Unavailable
from mkoba.processor.request import Request, Response, failure

log = logging.getLogger("mkoba.bus")

CONSUMER = "tranproc"
# Requests older than this leave the stream unread (their deadlines are long past).
request_age_max_s = 3600.0
# How long a channel waits for one answer to an acknowledgement before it asks again.
ack_timeout_s = 5.0
# How long a channel waits before asking again when no TranProc listens at all.
retry_pause_s = 0.25
connect_timeout_s = 5.0
# How often a front asks whether a core serves, and how long an answer counts.
core_ping_s = 1.0
core_seen_s = 3.0
_LEDGER = "mkoba ledger "
# A core's answer to an acknowledgement it could not settle now (its store failed).
ASK_AGAIN = b"?"


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

    def __init__(self, url: str, workers: int = 64, redelivery_s: float = 3.0) -> None:
        assert workers > 0 and redelivery_s > 0
        self.server, self.prefix = parse_nats_url(url)
        self.workers = workers
        self.redelivery_s = redelivery_s
        self.stream = f"{self.prefix.upper().replace('-', '_')}_REQUESTS"
        self.subject = f"{self.prefix}.requests"
        # The ledger this prefix belongs to (``bind``).
        self.ledger = ""
        # A fingerprint of this process's keys: a front's must be its core's (``watch_core``).
        self.keys = ""
        self._keys_differ = False
        # On a core: whether it can move money now (its writer, its store); fronts ask.
        self.readiness: Callable[[], bool] = lambda: True
        self._core_ready = True
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._inbox = ""
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[Response]] = {}
        # Deadlines (ns) of the requests this channel sent, by id, oldest first: an
        # acknowledgement is retried until its request's deadline.
        self._deadlines: OrderedDict[str, int] = OrderedDict()
        self._taking: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handler: Handler | None = None
        self._acknowledger: Acknowledger | None = None
        self._watching: asyncio.Task[None] | None = None
        # When (monotonic s) a core last said it serves this prefix's ledger.
        self._core_seen = -core_seen_s
        # A front's rows before its requests (``order.py``).
        self.order = Order()

    @property
    def client(self) -> Client:
        """The NATS connection (after ``connect``)."""
        assert self._nc is not None, "connect first"
        return self._nc

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context (after ``connect``)."""
        assert self._js is not None, "connect first"
        return self._js

    async def connect(self) -> None:
        """Connect and listen for answers (``bind`` then sets up the stream)."""
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
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_answer)

    async def bind(self, ledger: str) -> None:
        """Make sure the request stream exists and belongs to ``ledger``; refuse another's.

        The first process to bind a prefix names its ledger in the stream's description;
        a process of another ledger is refused (``BusUnavailable``), saying why.
        """
        js = self.jetstream
        config = StreamConfig(
            name=self.stream,
            subjects=[self.subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            max_age=request_age_max_s,
            description=_LEDGER + ledger,
        )
        try:
            try:
                await js.add_stream(config)
            except BadRequestError:
                info = await js.stream_info(self.stream)
                found = info.config.description or ""
                if found.startswith(_LEDGER) and found != config.description:
                    raise BusUnavailable(
                        f"bus prefix {self.prefix!r} belongs to ledger"
                        f" {found.removeprefix(_LEDGER)}, and this store holds ledger {ledger}:"
                        " give each ledger a bus prefix of its own (nats://host:port/prefix)"
                    ) from None
                await js.update_stream(config)
        except NatsError as problem:
            raise BusUnavailable(f"NATS at {self.server} has no JetStream: {problem}") from None
        self.ledger = ledger

    # -- TranProc's side ------------------------------------------------------------------

    async def serve(self, handler: Handler, acknowledger: Acknowledger) -> None:
        """Take requests from the stream (and acknowledgements) for this TranProc."""
        assert self._nc is not None and self._js is not None, "connect first"
        assert self._taking is None, "already serving"
        assert self.ledger, "bind first"
        self._handler, self._acknowledger = handler, acknowledger
        await self._fresh_consumer()
        self._taking = await self._js.subscribe(
            self.subject,
            queue=CONSUMER,
            durable=CONSUMER,
            stream=self.stream,
            cb=self._on_request,
            manual_ack=True,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.redelivery_s,
                max_ack_pending=self.workers,
            ),
        )
        # No queue group: a hung core may still be subscribed; the live one answers.
        await self._nc.subscribe(f"{self.prefix}.acks", cb=self._on_ack)
        await self._nc.subscribe(f"{self.prefix}.status", cb=self._on_status)

    async def _fresh_consumer(self) -> None:
        """Make the TranProcs' consumer afresh, with this TranProc's timings.

        Only the core that holds the ledger serves (a standby waits for the lease), so
        whatever another TranProc held is its past: a dead or hung core's requests in
        hand come back at once, and a hung core that wakes is given nothing more.
        """
        js = self.jetstream
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(self.stream, CONSUMER)

    async def _on_request(self, message: Msg) -> None:
        self._spawn(self._answer(message))

    async def _answer(self, message: Msg) -> None:
        assert self._nc is not None and self._handler is not None
        try:
            request, deadline, reply, after = request_after(message.data)
        except WireError as problem:
            log.error("dropped a message on %s: %s", self.subject, problem)
            await message.term()
            return
        if time.time_ns() > deadline:
            # Its channel has answered SYSTEM_BUSY already: acting now would surprise the user.
            response = failure(request, Code.SYSTEM_BUSY)
        else:
            working = asyncio.get_running_loop().create_task(self._working(message))
            try:
                if after and not await self.order.wait(after, deadline):
                    # Rows its front sent first never reached the writer: never ahead of them.
                    response = failure(request, Code.SYSTEM_BUSY)
                else:
                    response = await self._handler(request)
            except Exception:
                log.exception("request %s failed", request.id)
                response = failure(request, Code.SYSTEM_ERROR)
            finally:
                working.cancel()
        if reply:
            await self._nc.publish(reply, response_bytes(response))
        await message.ack()

    async def _working(self, message: Msg) -> None:
        """Tell JetStream this TranProc still works on ``message`` (no redelivery yet)."""
        while True:
            await asyncio.sleep(self.redelivery_s / 3)
            with contextlib.suppress(NatsError):
                await message.in_progress()

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
        try:
            changed = await self._acknowledger(request_id, delivered)
        except Exception:  # the ledger could not say (its store failed): ask again
            log.exception("acknowledgement of %s could not be settled now", request_id)
            await message.respond(ASK_AGAIN)
            return
        await message.respond(b"1" if changed else b"0")

    async def _on_status(self, message: Msg) -> None:
        status = {"ledger": self.ledger, "keys": self.keys, "ready": self.readiness()}
        await message.respond(json.dumps(status).encode())

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as one of the bus's tasks (finished at ``close``)."""
        self._spawn(work)

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
        now = time.time_ns()
        deadline = now + int(timeout_s * 1e9)
        self._remember_deadline(request.id, deadline, now)
        try:
            body = request_bytes(request, deadline, token, self.order.after())
            await self._nc.publish(self.subject, body)
            left = timeout_s - (time.monotonic() - started)
            return await asyncio.wait_for(answer, max(left, 0.0))
        except (TimeoutError, NatsError) as problem:
            if not isinstance(problem, TimeoutError):
                log.warning("request %s not queued: %s", request.id, type(problem).__name__)
            return failure(request, Code.SYSTEM_BUSY)
        finally:
            self._waiting.pop(token, None)

    def _remember_deadline(self, request_id: str, deadline: int, now: int) -> None:
        deadlines = self._deadlines
        deadlines[request_id] = deadline
        deadlines.move_to_end(request_id)
        while deadlines:
            oldest = next(iter(deadlines))
            if deadlines[oldest] >= now:
                break
            del deadlines[oldest]

    async def _on_answer(self, message: Msg) -> None:
        waiting = self._waiting.get(message.subject)
        if waiting is None or waiting.done():
            return  # its channel stopped waiting
        try:
            waiting.set_result(response_from(message.data))
        except WireError as problem:
            log.error("dropped an answer: %s", problem)

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """Tell TranProc a response is going to (or missed) its user: ``Bus.acknowledge``.

        A delivery is asked again until the request's deadline while no TranProc
        answers (a core restarting, a standby taking over): the core posts it once
        however often it is told, and voids it only past that deadline. If the
        deadline passes after an ask that may have reached a core (no answer came
        back), whether the money moved is not known here: ``Unavailable``, and the
        channel answers busy (the client asks again; a replay says). A missed
        delivery is said once: the deadline rolls it back anyway.
        """
        assert self._nc is not None, "connect first"
        body = json.dumps({"id": request_id, "delivered": delivered}).encode()
        subject = f"{self.prefix}.acks"
        deadline = self._deadlines.pop(request_id, None)
        if deadline is None or not delivered:
            deadline = time.time_ns() + int(ack_timeout_s * 1e9)
        maybe_heard = False
        while True:
            left_s = (deadline - time.time_ns()) / 1e9
            if left_s <= 0:
                log.warning("acknowledgement of %s: no answer in time", request_id)
                if maybe_heard and delivered:
                    raise Unavailable(f"whether {request_id} was posted is not known yet")
                return False  # no TranProc heard it: the deadline rolls it back
            try:
                answer = await self._nc.request(subject, body, timeout=min(ack_timeout_s, left_s))
            except NoRespondersError:
                await asyncio.sleep(min(retry_pause_s, left_s))
                continue
            except (TimeoutError, NatsError) as problem:
                log.warning("acknowledgement of %s: %r; asking again", request_id, problem)
                maybe_heard = True
                if not isinstance(problem, TimeoutError):  # not connected: no busy loop
                    await asyncio.sleep(min(retry_pause_s, left_s))
                continue
            if answer.data == ASK_AGAIN:
                maybe_heard = True
                await asyncio.sleep(min(retry_pause_s, left_s))
                continue
            return answer.data == b"1"

    def watch_core(self) -> None:
        """Ask, every second, whether a core serves this prefix's ledger (a front's readiness)."""
        self._watching = asyncio.get_running_loop().create_task(self._watch(), name="core-watch")

    async def _watch(self) -> None:
        while True:
            try:
                answer = await self.client.request(
                    f"{self.prefix}.status", b"", timeout=core_ping_s
                )
                status = json.loads(answer.data)
                if status.get("ledger") == self.ledger:
                    self._core_seen = time.monotonic()
                    differ = status.get("keys") != self.keys
                    if differ and not self._keys_differ:
                        log.error(
                            "this front's keys are not its core's: copy the core's keys"
                            " directory (MKOBA_KEYS_DIR) here, or PINs cannot be read"
                        )
                    self._keys_differ = differ
                    self._core_ready = status.get("ready") is not False
            except (TimeoutError, NatsError, ValueError, AttributeError):
                pass
            await asyncio.sleep(core_ping_s)

    def health(self) -> dict[str, object]:
        """For /health: whether the NATS connection is up (and, on a front, a core serves)."""
        connected = self._nc is not None and self._nc.is_connected
        found: dict[str, object] = {
            "state": "ok" if connected else "disconnected",
            "kind": "nats",
            "prefix": self.prefix,
            "ledger": self.ledger,
            "in_hand": len(self._tasks),
        }
        if self._watching is not None:
            core = time.monotonic() - self._core_seen < core_seen_s
            found["core"] = "serving" if core else "none"
            if connected and not core:
                found["state"] = "no core"
            elif connected and self._keys_differ:
                found["state"] = "keys differ from the core's"
            elif connected and not self._core_ready:
                found["state"] = "the core cannot commit now"
        return found

    async def close(self) -> None:
        """Stop taking requests, finish those in hand, answer waiting channels SYSTEM_BUSY."""
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
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
