"""TranProc: the one place that decides. Requests in, responses out.

For each request: check its shape, answer a replay from the stored response,
wait for an identical request already in flight, then run the product under
the initiator's lock. Money-moving products commit through ``commit.first``;
on channels with a delivery deadline the processor then waits for the channel
to say the response was delivered (``acknowledge``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from mkoba.codes import Code
from mkoba.commands.fields import text_length_max
from mkoba.ledger import Account, WriterError
from mkoba.parties import open_pin
from mkoba.processor import history, risk_port, schema
from mkoba.processor import request as request_module
from mkoba.processor.commit import Outcome, first, record
from mkoba.processor.context import Context
from mkoba.processor.delivery import Deliveries
from mkoba.processor.doubt import Doubts, Stored
from mkoba.processor.events import reactions
from mkoba.processor.guarded import Guarded, settle
from mkoba.processor.locks import PartyLocks
from mkoba.processor.plan import Plan, Record, Refused
from mkoba.processor.proof import needs_pin, proof_of, refusal
from mkoba.processor.request import Request, Response, failure
from mkoba.processor.services import Services
from mkoba.processor.status import Status
from mkoba.text import storable, text_problem

log = logging.getLogger("mkoba.processor")

# Replays are answered from memory for this long, and for at most this many requests.
replay_window_s = 24 * 3600
# About 670 bytes an entry (measured, with its id): 200,000 hold ~130 MB. Older ids
# are looked up in the store, so the cap bounds memory, not what is answered.
replay_entries_max = 200_000


class Product(Protocol):
    """A use case: parse the request, check the rules, plan the money, or refuse."""

    # A product may declare ``proof`` (``processor/proof.py``): what proves the request
    # comes from the phone it acts for. Without one, it needs the PIN.
    name: str

    async def run(self, ctx: Context) -> Response | Plan | Record | Guarded[Any]:
        """Answer directly (queries), or return a plan, a record or a guarded decision."""
        ...


class _Replay:
    """What the processor remembers of a request, to answer its replays.

    The response is kept as its compact JSON (about a third of the memory of the
    object) and parsed again only when a replay comes. ``pin_tag`` is the keyed tag
    of the PIN the request was decided with (memory only), so that a retry of the
    same attempt is not counted twice.
    """

    __slots__ = ("fingerprint", "stored", "created", "pin_tag")

    def __init__(
        self,
        fingerprint: str,
        response: Response,
        created: float,
        pin_tag: bytes | None = None,
        stored: str = "",
    ) -> None:
        self.fingerprint = fingerprint
        self.stored = stored or response.to_json()
        self.created = created
        self.pin_tag = pin_tag

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
        self.doubts = Doubts(services, self.deliveries.adopt, self._found)
        self._replays: OrderedDict[str, _Replay] = OrderedDict()
        # When (s) the newest request was made that memory forgot only for lack of room:
        # replays of ids since then are looked up in the store, so none executes twice.
        self._forgotten_until = 0.0
        self._inflight: dict[str, tuple[str, asyncio.Future[Response]]] = {}
        self.handled = 0
        self.observer: Callable[[Request, Response, float], None] | None = None

    async def start(self) -> None:
        """Load replays of the last day; settle what a restart left pending (``recover``)."""
        await asyncio.to_thread(schema.migrate, self.services.store)
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
        if recovered.rolled_back:
            log.warning(
                "rolled back %d requests left pending by the last stop", recovered.rolled_back
            )
        if recovered.waiting:
            log.warning("waiting again for the delivery of %d requests", recovered.waiting)

    async def stop(self) -> None:
        """Finish rollbacks in progress; the next start settles what is still pending."""
        await self.doubts.stop()
        await self.deliveries.drain()
        if self.services.risk is not None:  # the alerts on their way, before the store goes
            await self.services.risk.drain()

    async def handle(self, request: Request) -> Response:
        """The answer to ``request``: new, replayed or joined to an identical one in flight."""
        started = time.perf_counter()
        try:
            response = await self._handle(request)
        except WriterError:
            # The ledger cannot commit now (its store unreachable, the writer overloaded or
            # stopping): busy, so the client asks again under the same id and a replay
            # tells it what, if anything, was committed (``doubt.py``). A writer that
            # failed is a bug.
            if self.services.writer.health().get("state") == "failed":
                raise
            self.doubts.add(request.id)
            log.warning("request %s: the ledger cannot commit now; answered busy", request.id)
            response = failure(request, Code.SYSTEM_BUSY)
        self.handled += 1
        if self.observer is not None:
            self.observer(request, response, time.perf_counter() - started)
        return response

    async def acknowledge(self, request_id: str, delivered: bool = True) -> bool:
        """The channel's word on delivering a response: post (or roll back) its money.

        ``delivered``: the channel is about to show the answer. True when the money
        stands (posted now, or it never waited), False when it was rolled back: the
        channel then shows ``ROLLED_BACK`` instead of the success. Not ``delivered``:
        True when that rolled the request back now.
        """
        if not delivered:
            return await self.deliveries.undelivered(request_id)
        posted = await self.deliveries.delivered(request_id)
        if posted is not None:
            return posted
        return not await self._rolled_back(request_id)

    async def _rolled_back(self, request_id: str) -> bool:
        """Whether a request that no longer waits for its delivery was rolled back."""
        known = self._replays.get(request_id)
        if known is not None:
            return known.response.code is Code.ROLLED_BACK
        stored = await asyncio.to_thread(history.outcome, self.services.store, request_id)
        return stored is not None and stored[0] is Status.ROLLED_BACK

    async def _handle(self, request: Request) -> Response:
        problem = _shape_problem(request)
        if problem is not None:
            return failure(request, Code.INVALID_INPUT, problem)
        fingerprint = request.fingerprint()
        known = self._replays.get(request.id)
        if known is not None:
            if known.fingerprint != fingerprint:
                return failure(request, Code.DUPLICATE_REQUEST)
            return await self._replay(request, known.response, known.pin_tag)
        inflight = self._inflight.get(request.id)
        if inflight is not None:
            if inflight[0] != fingerprint:
                return failure(request, Code.DUPLICATE_REQUEST)
            response = await asyncio.shield(inflight[1])
            joined = self._replays.get(request.id)
            return await self._replay(request, response, joined.pin_tag if joined else None)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._inflight[request.id] = (fingerprint, future)
        try:
            stored = await self._recall(request, fingerprint)
            if stored is not None:
                response = await self._replay(request, stored, None)
            else:
                response = await self._decide(request, fingerprint)
            future.set_result(response)
            return response
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the joiners see it, nobody is left unaware
            raise
        finally:
            del self._inflight[request.id]

    async def _replay(
        self, request: Request, response: Response, pin_tag: bytes | None
    ) -> Response:
        """A decided answer, for a request with the same id: only to whoever may see it.

        Where the product needs a PIN, the replay needs it too. A retry of the very
        attempt (the same PIN as the first, by its keyed tag) is answered as the
        first was, even if that PIN has changed since (a retried PIN change); any
        other PIN is checked, and counted when wrong, as a new request's would be.
        """
        product = self.products.get(request.product)
        if product is None or not needs_pin(proof_of(product), request):
            return response
        party = self.services.directory.by_msisdn(request.msisdn)
        if party is None:
            return response  # nobody's PIN to check: the answer said NOT_REGISTERED
        async with self.locks.hold(request.msisdn):
            ctx = Context(self.services, request, self.services.clock(), proof_of(product))
            if pin_tag is not None and request.pin is not None:
                try:
                    pin = open_pin(request.pin, self.services.transport_key, request.id.encode())
                except ValueError:
                    return failure(request, Code.INVALID_INPUT, "the PIN could not be read")
                if hmac.compare_digest(self.services.vault.attempt_tag(party.id, pin), pin_tag):
                    return response
            try:
                await ctx.verify_pin(party)
            except Refused as refused:
                await ctx.commit_checks()
                if refused.code is Code.PIN_NOT_SET and response.code is not Code.OK:
                    return response
                return failure(request, refused.code, refused.message, **refused.data)
            await ctx.commit_checks()
        return response

    async def _recall(self, request: Request, fingerprint: str) -> Response | None:
        """The stored answer to a request memory had to forget (after memory filled up),
        or to one in doubt (an earlier attempt's commit failed with its outcome unknown)."""
        if self.doubts.doubted(request.id):
            found = await self.doubts.settled_of(request.id)
            if found is None:
                return None
            if found.fingerprint != fingerprint:
                return failure(request, Code.DUPLICATE_REQUEST)
            known = self._replays.get(request.id)
            return known.response if known is not None else found.response
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
        proof = proof_of(product)
        refused_for = refusal(proof, request)
        if refused_for is not None:
            return failure(request, Code.NOT_ALLOWED, refused_for)
        async with self.locks.hold(request.msisdn):
            ctx = Context(self.services, request, self.services.clock(), proof)
            try:
                answer = await product.run(ctx)
                if isinstance(answer, Guarded):
                    settled = await settle(
                        self.services,
                        self.services.record_locks,
                        request,
                        answer,
                        ctx.now,
                        vouch=lambda: _vouch(ctx, product),
                    )
                    answer = settled.record
                    asked = risk_port.reversal_asked(request, settled, ctx.now)
                    if asked is not None and self.services.risk is not None:
                        self.services.risk.observed(asked, ctx.profile)
                _check_proof(ctx, product, answer)
            except Refused as refused:
                # A wrong PIN try (and an allowance used) is durable before the answer.
                await ctx.commit_checks()
                response = failure(request, refused.code, refused.message, **refused.data)
                # A retry of a wrong PIN must not count again, nor a retried look-up; input
                # that fails validation is not kept, so the corrected request may use the id.
                if refused.code is not Code.INVALID_INPUT:
                    self._remember(request.id, fingerprint, response, time.time(), ctx.pin_tag)
                return response
            if isinstance(answer, Response):
                await ctx.commit_checks()
                self._remember(request.id, fingerprint, answer, time.time(), ctx.pin_tag)
                return answer
            if isinstance(answer, Record):
                if answer.accounts and not await self._open(answer.accounts):
                    await ctx.commit_checks()
                    response = failure(
                        request, Code.SYSTEM_ERROR, "the accounts could not be opened"
                    )
                    self._remember(request.id, fingerprint, response, time.time(), ctx.pin_tag)
                    return response
                await ctx.commit_checks(credentials=False)
                response = await record(
                    self.services,
                    request,
                    answer,
                    ctx.now,
                    fingerprint=fingerprint,
                    checked=ctx.checked(),
                )
                risk = self.services.risk
                if risk and response.ok and request.product in risk_port.REGISTRATIONS:
                    risk.registered(answer.change.parties if answer.change else (), request.id)
                self._remember(request.id, fingerprint, response, time.time(), ctx.pin_tag)
                return response
            if answer.event is not None and self.services.subscribers:
                # The subscribers' callbacks and rows commit with the money, or not at all.
                reaction = reactions(self.services.subscribers, answer.event)
                answer = answer._replace(
                    notes=answer.notes + reaction.notes, rows=answer.rows + reaction.rows
                )
            initiator = self.services.directory.by_msisdn(request.msisdn)
            party_id = initiator.id if initiator is not None else answer.payer_id
            payment = risk_port.payment_of(request, answer, initiator, ctx.now, ctx.otp())
            verdict = risk_port.ALLOWED
            if payment is not None and self.services.risk is not None:
                verdict = await self.services.risk.check(payment, ctx.profile)
            if verdict.action in risk_port.REFUSING or (
                verdict.action == risk_port.HOLD and answer.effect is not None
            ):
                await ctx.commit_checks()
                code = risk_port.code_of(verdict)
                message = verdict.message or code.message
                response = failure(request, code, message, **risk_port.data_of(verdict))
                self._remember(request.id, fingerprint, response, time.time(), ctx.pin_tag)
                return response
            held = (verdict.hold_s, verdict.message) if verdict.action == risk_port.HOLD else None
            if verdict.change is not None:  # committed with the money (a dormant wallet woken)
                answer = answer._replace(change=verdict.change.then(answer.change))
            await ctx.commit_checks(credentials=False)
            outcome: Outcome = await first(
                self.services,
                request,
                party_id,
                answer,
                ctx.now,
                fingerprint=fingerprint,
                checked=ctx.checked(),
                hold=held,
            )
            moved = outcome.response.ok or outcome.response.code is Code.HELD_FOR_REVIEW
            if self.services.risk is not None and moved:
                if payment is not None:
                    self.services.risk.committed(payment)
                event = risk_port.movement_of(request, answer, initiator, ctx.now, bool(held))
                self.services.risk.observed(event, ctx.profile)
        self._remember(
            request.id, fingerprint, outcome.response, time.time(), ctx.pin_tag, outcome.stored
        )
        if outcome.awaiting is not None:
            self.deliveries.expect(outcome.awaiting)
        return outcome.response

    async def _open(self, accounts: tuple[Account, ...]) -> bool:
        """Open a record's new ledger accounts; whether every one is open now."""
        results = await asyncio.wrap_future(self.services.writer.create_accounts(list(accounts)))
        return all(result.ok for result in results)

    def _remember(
        self,
        request_id: str,
        fingerprint: str,
        response: Response,
        at: float,
        pin_tag: bytes | None = None,
        stored: str = "",
    ) -> None:
        replays = self._replays
        replays[request_id] = _Replay(fingerprint, response, at, pin_tag, stored)
        replays.move_to_end(request_id)
        horizon = time.time() - replay_window_s
        while replays:
            oldest = next(iter(replays.values()))
            if len(replays) > replay_entries_max:
                self._forgotten_until = max(self._forgotten_until, oldest.created)
            elif oldest.created >= horizon:
                break
            replays.popitem(last=False)

    def _found(self, request_id: str, stored: Stored) -> None:
        """A request in doubt that the store holds: its replays answer as stored."""
        self._remember(request_id, stored.fingerprint, stored.response, stored.created / 1e9)

    async def release(self, request_id: str, approve: bool) -> bool | None:
        """Compliance's word on a payment the risk rules held: post it or give the money
        back (``Deliveries.release``); replays answer what came of it."""
        done = await self.deliveries.release(request_id, approve)
        known = self._replays.get(request_id)
        if done and approve and known is not None:
            known.response = Response(request_id, Code.OK, Code.OK.message, *known.response[3:])
        return done

    def forget_rollback(self, request_id: str, response: Response) -> None:
        """Replace a remembered response (a rolled-back request answers ROLLED_BACK)."""
        known = self._replays.get(request_id)
        if known is not None:
            known.response = response


def _check_proof(ctx: Context, product: Product, answer: Response | Plan | Record) -> None:
    """Refuse an OK answer from a product that needed the PIN and never checked it.

    Products check the PIN themselves (some only after other checks, as M-Pesa's
    menus do); this is the backstop that makes forgetting it impossible.
    """
    if isinstance(answer, Record):
        ok = answer.response.ok
    elif isinstance(answer, Response):
        ok = answer.ok
    else:
        ok = True  # a plan moves money
    if ok:
        _vouch(ctx, product)


def _vouch(ctx: Context, product: Product) -> None:
    """Refuse to let money move (or success be said) for a product that skipped the PIN."""
    if not ctx.pin_verified and needs_pin(ctx.proof, ctx.request):
        log.error("product %s answered without checking the PIN", product.name)
        raise Refused(Code.SYSTEM_ERROR)


def _shape_problem(request: Request) -> str | None:
    """What is wrong with a request's envelope, before any product sees it.

    Channels refuse such requests at their edge, in their own format; this is the
    backstop that keeps text the store cannot hold away from the ledger writer.
    """
    if not isinstance(request.id, str) or not request.id:
        return "a request needs an id"
    if len(request.id) > request_module.request_id_length_max:
        return f"request ids are at most {request_module.request_id_length_max} characters"
    if not isinstance(request.msisdn, str) or not request.msisdn:
        return "a request needs the requester's number"
    if not isinstance(request.product, str) or not storable(request.product):
        return "a request needs a product"
    if not storable(request.id) or not storable(request.msisdn):
        return "the request id and number must be plain text"
    for key, value in request.command.texts():
        if not isinstance(value, str):
            return f"{key} is not text"
        if len(value) > text_length_max:
            return f"{key} is too long"
        problem = text_problem(value)
        if problem is not None:
            return f"{key} {problem}"
    for part in request.callback or ():
        if len(part) > request_module.callback_length_max or text_problem(part) is not None:
            return "the callback's names and address are plain text"
    return None


Handler = Callable[[Request], Awaitable[Response]]
