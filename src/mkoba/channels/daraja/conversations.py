"""Business requests (B2C, B2B, tax, balance, status, reversal): accept now, answer later.

Daraja acknowledges a business request at once and POSTs the ``Result`` to
its ``ResultURL`` when done. Here a request is first stored (a conversation),
then acknowledged, then sent to TranProc; the result and the conversation's
new state commit together. A request TranProc cannot take yet (busy) is asked
again under the same id, so it happens at most once; if no answer came within
``daraja_queue_timeout_s`` the ``QueueTimeOutURL`` is told once, and the real
result still follows. After a restart, accepted conversations are asked again:
TranProc answers a request it already decided from its own record.

B2C v3 carries the client's ``OriginatorConversationID``: the same id with the
same request is the same conversation (the first acknowledgement again, nothing
moves twice); with a different request it is ``500.002.1001``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from mkoba.channels.daraja import ids, payloads, results
from mkoba.channels.daraja.codes import Result, described
from mkoba.channels.daraja.envelope import DUPLICATE_ORIGINATOR, DarajaError, json_text
from mkoba.channels.daraja.owners import give_back, take
from mkoba.channels.daraja.registry import App
from mkoba.channels.daraja.schema import CONVERSATION_COLUMNS
from mkoba.codes import Code
from mkoba.commands import BadCommand, parse
from mkoba.ledger import Write, WriteMode
from mkoba.parties import PartyKind, Purpose
from mkoba.ports import Unavailable
from mkoba.processor.request import Channel, Request, Response

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

log = logging.getLogger("mkoba.daraja.business")

# Conversations remembered in memory (for duplicates and status queries); older ones are read.
kept_max = 200_000
# How long a busy TranProc is left before asking again, at first and at most.
retry_first_s = 0.05
retry_max_s = 5.0


class Kind(NamedTuple):
    """A kind of business request: the product it becomes and who may ask for it."""

    product: str
    # The initiator role it needs, and the API product the app must hold.
    role: str
    api: str


KINDS = {
    "b2c": Kind("b2c", "b2c", "b2c"),
    "b2pochi": Kind("b2c", "b2c", "b2pochi"),
    "b2b": Kind("b2b", "b2b", "b2b"),
    "tax": Kind("tax_remittance", "tax", "tax"),
    "balance": Kind("account_balance", "balance", "balance"),
    "status": Kind("transaction_status", "status", "status"),
    "reversal": Kind("business_reversal", "reversal", "reversal"),
}


@dataclass(slots=True)
class Conversation:
    """One business request, from acknowledgement to result."""

    conversation_id: str
    originator_id: str
    app_id: int
    kind: str
    shortcode: str
    initiator: str
    params: dict[str, str]
    fingerprint: str
    result_url: str
    timeout_url: str
    created: int
    state: str = "accepted"
    result_code: str = ""
    receipt: str = ""
    # The channel's own verdict on the initiator: "" (ok), or the result code to answer.
    refusal: str = ""
    # The front that owns it while it runs ("" in one process).
    owner: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def request_id(self) -> str:
        """The TranProc request this conversation becomes."""
        return f"daraja:{self.app_id}:{self.conversation_id}"

    def view(self) -> results.Conversation:
        """What a result builder needs of it."""
        return results.Conversation(
            self.kind, self.originator_id, self.conversation_id, self.timeout_url, self.params
        )

    def row(self) -> Write:
        """The conversation as first stored."""
        stored = dict(self.params, _refusal=self.refusal)
        values = (
            self.conversation_id,
            self.originator_id,
            self.app_id,
            self.kind,
            self.shortcode,
            self.initiator,
            json.dumps(stored, sort_keys=True),
            self.fingerprint,
            self.result_url,
            self.timeout_url,
            self.state,
            "",
            "",
            self.created,
            self.created,
            self.owner,
        )
        return Write("daraja_conversations", (*CONVERSATION_COLUMNS, "owner"), values)

    def owned(self, now: int) -> Write:
        """The conversation's new owner (a front took it over from one that is gone)."""
        return Write(
            "daraja_conversations",
            ("conversation_id", "owner", "updated"),
            (self.conversation_id, self.owner, now),
            ("conversation_id",),
            WriteMode.UPDATE,
        )

    def update(self, now: int) -> Write:
        """The conversation's outcome."""
        return Write(
            "daraja_conversations",
            ("conversation_id", "state", "result_code", "receipt", "updated"),
            (self.conversation_id, self.state, self.result_code, self.receipt, now),
            ("conversation_id",),
            WriteMode.UPDATE,
        )


def fingerprint(kind: str, shortcode: str, params: dict[str, str], urls: tuple[str, str]) -> str:
    """What must match for a repeated ``OriginatorConversationID`` to be the same request."""
    text = json.dumps([kind, shortcode, sorted(params.items()), list(urls)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Conversations:
    """Every business request the channel is working on, and the recent ones it finished."""

    def __init__(self, daraja: Daraja) -> None:
        self.daraja = daraja
        self.recent: OrderedDict[str, Conversation] = OrderedDict()
        self.originators: dict[tuple[int, str], str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def accept(
        self,
        app: App,
        kind: str,
        shortcode: str,
        initiator: str,
        refusal: str,
        params: dict[str, str],
        urls: tuple[str, str],
        originator_id: str = "",
    ) -> Conversation:
        """Store a new request and start it; or the same one again (same originator id)."""
        daraja = self.daraja
        now = daraja.now()
        print_ = fingerprint(kind, shortcode, params, urls)
        if originator_id:
            existing = await self.by_originator(app.id, originator_id)
            if existing is not None:
                if existing.fingerprint != print_:
                    raise DarajaError(DUPLICATE_ORIGINATOR)
                return existing
        conversation = Conversation(
            conversation_id=ids.conversation_id(now),
            originator_id=originator_id or ids.originator_id(),
            app_id=app.id,
            kind=kind,
            shortcode=shortcode,
            initiator=initiator,
            params=params,
            fingerprint=print_,
            result_url=urls[0],
            timeout_url=urls[1],
            created=now,
            refusal=refusal,
            owner=daraja.ports.fronts().me,
        )
        key = (app.id, conversation.originator_id)
        if key in self.originators:
            # Two identical first requests at once: the second waits for the first's row.
            raise DarajaError(DUPLICATE_ORIGINATOR)
        self.originators[key] = conversation.conversation_id
        self._remember(conversation)
        try:
            await daraja.commit([conversation.row()])
        except BaseException:
            self.originators.pop(key, None)
            self.recent.pop(conversation.conversation_id, None)
            raise
        self._spawn(self.run(conversation))
        return conversation

    async def by_originator(self, app_id: int, originator_id: str) -> Conversation | None:
        """The app's conversation with this ``OriginatorConversationID``: in memory, or stored."""
        conversation_id = self.originators.get((app_id, originator_id))
        if conversation_id is not None:
            found = self.recent.get(conversation_id)
            if found is not None:
                return found
        rows = await asyncio.to_thread(
            self.daraja.tables.query,
            f"SELECT {', '.join(CONVERSATION_COLUMNS)} FROM daraja_conversations"
            " WHERE app_id = ? AND originator_id = ?",
            (app_id, originator_id),
        )
        return _conversation(rows[0]) if rows else None

    async def find_by_request(self, request_id: str) -> Conversation | None:
        """The conversation whose TranProc request is ``request_id``, if Daraja made it."""
        parts = request_id.split(":", 2)
        if len(parts) != 3 or parts[0] != "daraja":
            return None
        found = self.recent.get(parts[2])
        if found is not None:
            return found
        rows = await asyncio.to_thread(
            self.daraja.tables.query,
            f"SELECT {', '.join(CONVERSATION_COLUMNS)} FROM daraja_conversations"
            " WHERE conversation_id = ?",
            (parts[2],),
        )
        return _conversation(rows[0]) if rows else None

    # -- running ----------------------------------------------------------------------

    async def run(self, conversation: Conversation) -> None:
        """Decide the request and deliver its result (or the channel's refusal)."""
        daraja = self.daraja
        view = conversation.view()
        if conversation.refusal:
            result = described(conversation.refusal)
            body = results.refused(view, result, self._facts())
            await self._finish(conversation, result, "", body)
            return
        kind = KINDS[conversation.kind]
        params = {k: v for k, v in conversation.params.items() if not k.startswith("_")}
        try:
            command = parse(kind.product, params, daraja.profile(conversation.created))
        except BadCommand as bad:
            response = Response(conversation.request_id, bad.code, bad.message)
            body = results.BUILDERS[conversation.kind](view, response, self._facts())
            await self._finish(conversation, results.outcome(response), "", body)
            return
        request = Request(
            conversation.request_id,
            Channel.DARAJA,
            kind.product,
            f"org:{conversation.shortcode}",
            command,
            None,
            conversation.created,
        )
        deciding = asyncio.ensure_future(self._decide(request))
        try:
            response = await asyncio.wait_for(
                asyncio.shield(deciding), daraja.settings.daraja_queue_timeout_s
            )
        except TimeoutError:
            await self._timed_out(conversation)
            response = await deciding
        facts = await self._gather(conversation, response)
        body = results.BUILDERS[conversation.kind](view, response, facts)
        outcome = results.outcome(response)
        await self._finish(conversation, outcome, response.receipt or "", body)

    async def _decide(self, request: Request) -> Response:
        """TranProc's answer; asked again under the same id while it is too busy to take it."""
        delay_s = retry_first_s
        while True:
            response = await self.daraja.ports.request(request)
            if response.code != Code.SYSTEM_BUSY:
                return response
            await asyncio.sleep(delay_s)
            delay_s = min(retry_max_s, delay_s * 2)

    async def _timed_out(self, conversation: Conversation) -> None:
        daraja = self.daraja
        now = daraja.now()
        body = json_text(
            payloads.queue_timeout(conversation.originator_id, conversation.conversation_id, now)
        )
        row = daraja.outbox.row(
            conversation.request_id,
            conversation.timeout_url,
            body,
            f"{conversation.kind}.timeout",
            now,
        )
        await daraja.commit([row], callbacks=True)

    async def _gather(self, conversation: Conversation, response: Response) -> results.Facts:
        """Balances and ids a result reports beyond the response itself."""
        facts = self._facts()
        if not response.ok:
            return facts
        if conversation.kind in ("b2c", "b2pochi", "b2b", "tax"):
            utility, working = await self._org_balances(conversation.shortcode)
            return facts._replace(utility=utility, working=working)
        if conversation.kind == "status":
            found = await self.find_by_request(str(response.data.get("request", "")))
            if found is not None:
                return facts._replace(
                    found_originator=found.originator_id,
                    found_conversation=found.conversation_id,
                )
        return facts

    async def _org_balances(self, shortcode: str) -> tuple[int, int]:
        """The available UTILITY and posted WORKING balances of a business, now."""
        directory = self.daraja.directory
        party = None
        for kind in (PartyKind.ORGANISATION, PartyKind.MERCHANT):
            party = party or directory.by_number(kind, shortcode)
        if party is None:
            return 0, 0
        utility = directory.account(party.id, Purpose.UTILITY) or directory.account(
            party.id, Purpose.TILL
        )
        working = directory.account(party.id, Purpose.WORKING) or utility
        accounts = [account for account in (utility, working) if account]
        if len(accounts) != 2:
            return 0, 0
        found = await self.daraja.tables.balances(accounts)
        first, second = found
        return (
            first.available if first is not None else 0,
            second.credit_balance if second is not None else 0,
        )

    def _facts(self) -> results.Facts:
        daraja = self.daraja
        now = daraja.now()
        return results.Facts(now, daraja.profile(now).currency.code)

    async def _finish(
        self, conversation: Conversation, result: Result, receipt: str, body: dict[str, Any]
    ) -> None:
        daraja = self.daraja
        now = daraja.now()
        conversation.state = "completed" if result.ok else "failed"
        conversation.result_code = result.code
        conversation.receipt = receipt
        row = daraja.outbox.row(
            conversation.request_id,
            conversation.result_url,
            json_text(body),
            f"{conversation.kind}.result",
            now,
        )
        await daraja.commit([conversation.update(now), row], callbacks=True)
        conversation.done.set()

    # -- bookkeeping -------------------------------------------------------------------

    def _remember(self, conversation: Conversation) -> None:
        self.recent[conversation.conversation_id] = conversation
        while len(self.recent) > kept_max:
            _, old = self.recent.popitem(last=False)
            key = (old.app_id, old.originator_id)
            if self.originators.get(key) == old.conversation_id:
                del self.originators[key]

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("business request failed", exc_info=task.exception())

    async def close(self) -> None:
        """Stop work in progress; accepted conversations are asked again at the next start."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover(self) -> int:
        """Ask again for every accepted conversation whose front is gone; how many.

        At start (what a stop left), and on a front every few seconds (``owners.py``):
        each is taken by exactly one front, which writes itself in as the owner.
        """
        daraja = self.daraja
        fronts = daraja.ports.fronts()
        rows = await asyncio.to_thread(
            daraja.tables.query,
            f"SELECT {', '.join(CONVERSATION_COLUMNS)}, owner FROM daraja_conversations"
            " WHERE state = 'accepted' ORDER BY created",
        )
        taken = 0
        for *row, owner in rows:
            conversation = _conversation(tuple(row))
            if not await take(fronts, "conv", conversation.conversation_id, str(owner)):
                continue
            conversation.owner = fronts.me
            if fronts.me:
                try:
                    await daraja.commit([conversation.owned(daraja.now())])
                except Unavailable:
                    await give_back(fronts, "conv", conversation.conversation_id, str(owner))
                    raise
            taken += 1
            self.originators[(conversation.app_id, conversation.originator_id)] = (
                conversation.conversation_id
            )
            self._remember(conversation)
            self._spawn(self.run(conversation))
        return taken


def _conversation(row: tuple[Any, ...]) -> Conversation:
    values = dict(zip(CONVERSATION_COLUMNS, row, strict=True))
    params = json.loads(str(values["params"]))
    refusal = str(params.pop("_refusal", ""))
    conversation = Conversation(
        conversation_id=str(values["conversation_id"]),
        originator_id=str(values["originator_id"]),
        app_id=int(values["app_id"]),
        kind=str(values["kind"]),
        shortcode=str(values["shortcode"]),
        initiator=str(values["initiator"]),
        params={str(k): str(v) for k, v in params.items()},
        fingerprint=str(values["fingerprint"]),
        result_url=str(values["result_url"]),
        timeout_url=str(values["timeout_url"]),
        created=int(values["created"]),
        state=str(values["state"]),
        result_code=str(values["result_code"]),
        receipt=str(values["receipt"]),
        refusal=refusal,
    )
    if conversation.state != "accepted":
        conversation.done.set()
    return conversation
