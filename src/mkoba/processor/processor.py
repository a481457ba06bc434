"""TranProc: the one place that decides. Requests in, responses out.

For each request: check its shape, answer a replay from the stored response,
wait for an identical request already in flight, then run the product under
the initiator's lock. Money-moving products commit through ``commit.first``;
on channels with a delivery deadline the processor then waits for the channel
to say the response was delivered (``acknowledge``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from mkoba.processor import request as request_module
from mkoba.processor.codes import Code
from mkoba.processor.commit import Outcome, first, record
from mkoba.processor.context import Context
from mkoba.processor.delivery import Deliveries
from mkoba.processor.locks import PartyLocks
from mkoba.processor.plan import Plan, Record, Refused
from mkoba.processor.request import Request, Response, failure
from mkoba.processor.services import Services

log = logging.getLogger("mkoba.processor")

# Replays are answered from memory for this long, and for at most this many requests.
replay_window_s = 24 * 3600
# About 670 bytes an entry (measured, with its id): 200,000 hold ~130 MB. Older ids
# are looked up in the store, so the cap bounds memory, not what is answered.
replay_entries_max = 200_000


class Product(Protocol):
    """A use case: parse the request, check the rules, plan the money, or refuse."""

    name: str

    async def run(self, ctx: Context) -> Response | Plan | Record:
        """Answer directly (queries) or return a plan for the processor to commit."""
        ...


class _Replay:
    """What the processor remembers of a request, to answer its replays.

    The response is kept as its compact JSON (about a third of the memory of the
    object) and parsed again only when a replay comes.
    """

    __slots__ = ("fingerprint", "stored", "created")

    def __init__(self, fingerprint: str, response: Response, created: float) -> None:
        self.fingerprint = fingerprint
        self.stored = response.to_json()
        self.created = created

    @property
    def response(self) -> Response:
        """The remembered response."""
        return Response.from_json(self.stored)

    @response.setter
    def response(self, response: Response) -> None:
        self.stored = response.to_json()


class Processor:
    """Decides requests; one per process, any number of concurrent requests."""

    def __init__(self, services: Services, products: Mapping[str, Product]) -> None:
        self.services = services
        self.products = dict(products)
        self.locks = PartyLocks()
        self.deliveries = Deliveries(services, self.locks)
        self.deliveries.on_rolled_back = self.forget_rollback
        self._replays: OrderedDict[str, _Replay] = OrderedDict()
        # When (s) the newest request was made that memory forgot only for lack of room:
        # replays of ids since then are looked up in the store, so none executes twice.
        self._forgotten_until = 0.0
        self._inflight: dict[str, tuple[str, asyncio.Future[Response]]] = {}
        self.handled = 0
        self.observer: Callable[[Request, Response, float], None] | None = None

    async def start(self) -> None:
        """Load replays of the last day and roll back what a restart left pending."""
        since = self.services.clock() - replay_window_s * 1_000_000_000
        rows = await asyncio.to_thread(
            self.services.store.query,
            "SELECT id, fingerprint, response, created FROM requests WHERE created >= ?"
            " ORDER BY number",
            (since,),
        )
        if len(rows) > replay_entries_max:
            self._forgotten_until = int(rows[-replay_entries_max - 1][3]) / 1e9
        for request_id, fingerprint, stored, created in rows[-replay_entries_max:]:
            self._remember(request_id, fingerprint, Response.from_json(stored), int(created) / 1e9)
        recovered = await self.deliveries.recover()
        if recovered:
            log.warning("rolled back %d requests left pending by the last stop", recovered)

    async def stop(self) -> None:
        """Finish rollbacks in progress; pending requests are voided by the next start."""
        await self.deliveries.drain()

    async def handle(self, request: Request) -> Response:
        """The answer to ``request``: new, replayed or joined to an identical one in flight."""
        started = time.perf_counter()
        response = await self._handle(request)
        self.handled += 1
        if self.observer is not None:
            self.observer(request, response, time.perf_counter() - started)
        return response

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """The channel's word on delivering a response: post (or roll back) its money."""
        if delivered:
            return await self.deliveries.delivered(request_id)
        return await self.deliveries.undelivered(request_id)

    async def _handle(self, request: Request) -> Response:
        problem = _shape_problem(request)
        if problem is not None:
            return failure(request, Code.INVALID_INPUT, problem)
        fingerprint = request.fingerprint()
        known = self._replays.get(request.id)
        if known is not None:
            if known.fingerprint != fingerprint:
                return failure(request, Code.DUPLICATE_REQUEST)
            return known.response
        inflight = self._inflight.get(request.id)
        if inflight is not None:
            if inflight[0] != fingerprint:
                return failure(request, Code.DUPLICATE_REQUEST)
            return await asyncio.shield(inflight[1])
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._inflight[request.id] = (fingerprint, future)
        try:
            response = await self._recall(request, fingerprint)
            if response is None:
                response = await self._decide(request, fingerprint)
            future.set_result(response)
            return response
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the joiners see it, nobody is left unaware
            raise
        finally:
            del self._inflight[request.id]

    async def _recall(self, request: Request, fingerprint: str) -> Response | None:
        """The stored answer to a request memory had to forget (only after memory filled up)."""
        if self._forgotten_until < time.time() - replay_window_s:
            return None
        since = self.services.clock() - replay_window_s * 1_000_000_000
        rows = await asyncio.to_thread(
            self.services.store.query,
            "SELECT fingerprint, response FROM requests WHERE id = ? AND created >= ?",
            (request.id, since),
        )
        if not rows:
            return None
        if rows[0][0] != fingerprint:
            return failure(request, Code.DUPLICATE_REQUEST)
        return Response.from_json(rows[0][1])

    async def _decide(self, request: Request, fingerprint: str) -> Response:
        product = self.products.get(request.product)
        if product is None:
            return failure(request, Code.UNKNOWN_PRODUCT, f"no product {request.product!r}")
        async with self.locks.hold(request.msisdn):
            ctx = Context(self.services, request, self.services.clock())
            try:
                answer = await product.run(ctx)
            except Refused as refused:
                response = failure(request, refused.code, refused.message, **refused.data)
                # A retry of a wrong PIN must not count again, nor a retried look-up; input
                # that fails validation is not kept, so the corrected request may use the id.
                if refused.code is not Code.INVALID_INPUT:
                    self._remember(request.id, fingerprint, response, time.time())
                return response
            if isinstance(answer, Response):
                self._remember(request.id, fingerprint, answer, time.time())
                return answer
            if isinstance(answer, Record):
                response = await record(
                    self.services, request, answer, ctx.now, fingerprint=fingerprint
                )
                self._remember(request.id, fingerprint, response, time.time())
                return response
            initiator = self.services.directory.by_msisdn(request.msisdn)
            party_id = initiator.id if initiator is not None else answer.payer_id
            outcome: Outcome = await first(
                self.services, request, party_id, answer, ctx.now, fingerprint=fingerprint
            )
        self._remember(request.id, fingerprint, outcome.response, time.time())
        if outcome.awaiting is not None:
            self.deliveries.expect(outcome.awaiting)
        return outcome.response

    def _remember(self, request_id: str, fingerprint: str, response: Response, at: float) -> None:
        replays = self._replays
        replays[request_id] = _Replay(fingerprint, response, at)
        replays.move_to_end(request_id)
        horizon = time.time() - replay_window_s
        while replays:
            oldest = next(iter(replays.values()))
            if len(replays) > replay_entries_max:
                self._forgotten_until = max(self._forgotten_until, oldest.created)
            elif oldest.created >= horizon:
                break
            replays.popitem(last=False)

    def forget_rollback(self, request_id: str, response: Response) -> None:
        """Replace a remembered response (a rolled-back request answers ROLLED_BACK)."""
        known = self._replays.get(request_id)
        if known is not None:
            known.response = response


def _shape_problem(request: Request) -> str | None:
    """What is wrong with a request's envelope, before any product sees it."""
    if not isinstance(request.id, str) or not request.id:
        return "a request needs an id"
    if len(request.id) > request_module.request_id_length_max:
        return f"request ids are at most {request_module.request_id_length_max} characters"
    if not isinstance(request.msisdn, str) or not request.msisdn:
        return "a request needs the requester's number"
    if len(request.params) > request_module.params_count_max:
        return "too many parameters"
    for key, value in request.params.items():
        if not isinstance(key, str) or not isinstance(value, str):
            return "parameters are text"
        if len(value) > request_module.param_length_max:
            return f"{key} is too long"
    return None


Handler = Callable[[Request], Awaitable[Response]]
