"""STK prompts: the push reaches the customer's handset; the customer's answer moves money.

A prompt is pending until the customer answers with the PIN (``mkoba phone``, a
USSD push, ``POST /api/v1/stk/{checkout_id}/answer``, or the sandbox's
auto-answer), cancels it (1032), or lets it time out (1037). One prompt per
customer at a time, as M-Pesa locks the subscriber. An approval becomes a
``pay_bill``/``buy_goods`` request on the STK channel; its outcome is the
callback and the query answer:

- success: the ``stkCallback`` and the prompt row's outcome are a note and a
  row of the payment itself (confirmation.py), so they commit with the money;
- anything else: the prompt row and the failure callback commit together.

Each prompt's record, row and answer: ``stk_prompt.py``. After a restart, open
prompts are settled from the processor's own record of their request, so a
callback is neither lost nor sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from mkoba.channels.daraja import payloads
from mkoba.channels.daraja.codes import Result, described, for_stk
from mkoba.channels.daraja.envelope import json_text
from mkoba.channels.daraja.owners import PromptOwners
from mkoba.channels.daraja.sandbox import Action, wrong_pin
from mkoba.channels.daraja.schema import PROMPT_COLUMNS
from mkoba.channels.daraja.stk_prompt import (
    BAD_PIN,
    SUCCESS,
    Answer,
    Prompt,
    business_name,
    closed_answer,
    prompt_length_max,
    prompt_of,
    prompt_text,
)
from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.ledger import Write
from mkoba.outbox import reads as outbox_reads
from mkoba.parties import PartyKind, Pin, SealedPin, seal_pin
from mkoba.ports import HandsetPrompt, Unavailable
from mkoba.processor import history
from mkoba.processor.request import Callback, Channel, Request, Response
from mkoba.processor.status import Status

if TYPE_CHECKING:
    from mkoba.channels.daraja.state import Daraja

log = logging.getLogger("mkoba.daraja.stk")

# Finished prompts kept in memory for queries; older ones are read from the store.
finished_kept_max = 200_000


# An ending of a prompt that no core answered is sent again this often.
end_again_s = 1.0
# A payment whose acknowledgement went unanswered: its record is read this often, this
# many times (the ledger's own timeout has undone an unposted one well before).
known_check_s = 1.0
known_checks_max = 900


def lock_key(msisdn: str) -> str:
    """The claim that locks a subscriber while a prompt is open (on any front)."""
    return f"stk-lock.{msisdn}"


class Prompts:
    """Every STK prompt the channel knows, open ones first."""

    def __init__(self, daraja: Daraja) -> None:
        self.daraja = daraja
        self.open: dict[str, Prompt] = {}
        self.by_msisdn: dict[str, str] = {}
        self.finished: OrderedDict[str, Prompt] = OrderedDict()
        self.arrivals: dict[str, asyncio.Event] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.owners = PromptOwners(self)

    # -- creating ---------------------------------------------------------------------

    def locked(self, msisdn: str) -> bool:
        """Whether ``msisdn`` has a prompt open on this front (``lock`` asks every front)."""
        return msisdn in self.by_msisdn

    async def lock(self, msisdn: str) -> bool:
        """Lock the subscriber for a new prompt: False when one is open on any front."""
        if msisdn in self.by_msisdn:
            return False
        return await self.daraja.ports.fronts().claim(lock_key(msisdn))

    async def push(self, prompt: Prompt) -> None:
        """Store ``prompt``, show it on the handset and arm its timers; return once durable.

        The handset may answer before the row is durable: the writer commits in order
        (a front's requests follow its rows: ``bus/order.py``), so the prompt's row
        commits with its payment or before it."""
        assert prompt.msisdn not in self.by_msisdn
        prompt.owner = self.daraja.ports.fronts().me
        self.by_msisdn[prompt.msisdn] = prompt.checkout_id
        self.open[prompt.checkout_id] = prompt
        rows = self.daraja.tables
        assert rows.ordered, "a prompt's payment must follow its row to the writer"
        try:
            stored = rows.submit([prompt.row(self.daraja.now())])
            self._arm(prompt)
            await stored
        except BaseException:
            # Not stored: the push fails, and an answer already on its way sends no
            # failure callback for a push its client was told failed.
            self._forget(prompt)
            if prompt.open:
                prompt.state = "failed"
            raise

    def _arm(self, prompt: Prompt) -> None:
        daraja = self.daraja
        currency = daraja.profile(prompt.created).currency
        customer = daraja.directory.by_msisdn(prompt.msisdn)
        if customer is None or customer.kind != PartyKind.CUSTOMER or not customer.active:
            self._spawn(self.fail(prompt, described("1037")))
            return
        if len(prompt_text(prompt, currency)) > prompt_length_max:
            self._spawn(self.fail(prompt, described("1025")))
            return
        delay_s = max(0.0, (prompt.expires - daraja.now()) / 1e9)
        loop = asyncio.get_running_loop()
        self._timers[prompt.checkout_id] = loop.call_later(delay_s, self._expire, prompt)
        event = self.arrivals.pop(prompt.msisdn, None)
        if event is not None:
            event.set()
        if daraja.reach is not None:  # a SIM-toolkit SIM: pushed to it, secured
            text = prompt_text(prompt, currency)
            daraja.reach(HandsetPrompt(prompt.msisdn, prompt.checkout_id, text, int(delay_s)))
        if daraja.sandbox.acts_for(prompt.msisdn):
            action = daraja.sandbox.rules.action(prompt.amount // currency.minor_per_major)
            if action not in (Action.OFF, Action.IGNORE):
                self._spawn(self._auto(prompt, action))

    async def _auto(self, prompt: Prompt, action: Action) -> None:
        """The sandbox's simulated customer answers (daraja_auto_answer, daraja_auto_rules)."""
        rules = self.daraja.sandbox.rules
        if rules.delay_s:
            await asyncio.sleep(rules.delay_s)
        pin = self.daraja.settings.daraja_sandbox_pin
        if action == Action.APPROVE:
            await self.answer(prompt.checkout_id, pin)
        elif action == Action.WRONG_PIN:
            await self.answer(prompt.checkout_id, wrong_pin(pin))
        elif action == Action.CANCEL:
            await self.cancel(prompt.checkout_id)
        else:
            assert action == Action.UNREACHABLE, action
            if prompt.state == "pending":
                await self.fail(prompt, described("1037"))

    # -- looking -----------------------------------------------------------------------

    def pending(self, msisdn: str) -> list[Prompt]:
        """The prompts waiting on ``msisdn``'s handset."""
        checkout_id = self.by_msisdn.get(msisdn)
        prompt = None if checkout_id is None else self.open.get(checkout_id)
        return [prompt] if prompt is not None and prompt.state == "pending" else []

    async def wait(self, msisdn: str, timeout_s: float) -> None:
        """Wait until a prompt reaches ``msisdn`` (or the timeout passes)."""
        event = self.arrivals.setdefault(msisdn, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            return

    async def find(self, checkout_id: str) -> Prompt | None:
        """A prompt by checkout id: in memory, or as stored."""
        prompt = self.open.get(checkout_id) or self.finished.get(checkout_id)
        if prompt is not None:
            return prompt
        rows = await asyncio.to_thread(
            self.daraja.tables.query,
            f"SELECT {', '.join(PROMPT_COLUMNS)} FROM daraja_prompts WHERE checkout_id = ?",
            (checkout_id,),
        )
        return prompt_of(rows[0]) if rows else None

    # -- answering ---------------------------------------------------------------------

    async def answer(self, checkout_id: str, pin: str) -> Answer:
        """The customer entered ``pin``: pay, and report what happened.

        A prompt another front owns is answered there (``owners.py``).
        """
        prompt = self.open.get(checkout_id)
        if prompt is None:
            elsewhere = await self.owners.answer_elsewhere(checkout_id, pin)
            if elsewhere is not None:
                return elsewhere
            prompt = self.open.get(checkout_id)
        if prompt is None or prompt.state != "pending":
            return closed_answer(prompt or self.finished.get(checkout_id))
        request_id = prompt.request_id.encode()
        try:
            sealed = seal_pin(Pin(pin), self.daraja.ports.transport_key, request_id)
        except ValueError:
            # Not 4 to 6 digits: M-Pesa's handset would not send it; the customer is told.
            return BAD_PIN
        return await self.answer_sealed(prompt, sealed)

    async def answer_sealed(self, prompt: Prompt, sealed: SealedPin) -> Answer:
        """Pay an open prompt with the PIN sealed for its request."""
        if prompt.state != "pending":
            return closed_answer(prompt)
        prompt.state = "answering"
        self._disarm(prompt)
        daraja = self.daraja
        # The PIN is in: the handset no longer shows the prompt, and the payment's commit
        # may queue its callback, which a client answers by pushing again: free them now.
        self._release(prompt)
        request = Request(
            prompt.request_id,
            Channel.STK,
            "buy_goods" if prompt.kind == "till" else "pay_bill",
            prompt.msisdn,
            _command(prompt),
            sealed,
            daraja.now(),
            phone_verified=True,  # the PIN was typed on the prompted phone
            # For the success callback, which the payment's commit carries (confirmation.py).
            callback=Callback(prompt.checkout_id, prompt.merchant_request_id, prompt.callback_url),
        )
        response = await daraja.ports.request(request)
        if not response.ok:
            result = for_stk(response.code)
            await self.fail(prompt, result)
            return Answer(False, str(response.code), response.message, None, result)
        return await self._paid(prompt, request, response)

    async def _paid(self, prompt: Prompt, request: Request, response: Response) -> Answer:
        """The payment is decided: post it where the profile holds it pending, record it."""
        daraja = self.daraja
        prompt.state = "completed"
        prompt.result = SUCCESS
        prompt.receipt = response.receipt or ""
        profile = daraja.profile(request.received)
        # With no STK deadline (the profiles' default) the payment committed once, posted,
        # with its callback; a deadline holds it pending until this acknowledgement.
        try:
            posted = not profile.deadline_s(str(Channel.STK)) or await daraja.ports.acknowledge(
                prompt.request_id
            )
        except Unavailable:
            # Whether it posted is not known yet (a core lost meanwhile): the prompt is
            # settled from TranProc's record once that says, callback and all.
            prompt.state = "answering"
            self._spawn(self._settle_when_known(prompt))
            result = for_stk(Code.SYSTEM_BUSY)
            return Answer(False, str(Code.SYSTEM_BUSY), Code.SYSTEM_BUSY.message, None, result)
        if not posted:
            # Too late: the STK deadline rolled it back and the payer was told by SMS.
            result = described("1019")
            prompt.state = "answering"
            await self.fail(prompt, result)
            return Answer(False, str(Code.ROLLED_BACK), Code.ROLLED_BACK.message, None, result)
        # The success callback and the prompt's row committed with the money (confirmation.py).
        self._finish(prompt)
        return Answer(True, str(Code.OK), response.message, prompt.receipt, prompt.result)

    async def _settle_when_known(self, prompt: Prompt) -> None:
        """Settle ``prompt`` from TranProc's record once the payment is posted or undone."""
        tables = self.daraja.tables
        for _ in range(known_checks_max):
            await asyncio.sleep(known_check_s)
            stored = await asyncio.to_thread(history.outcome, tables, prompt.request_id)
            if stored is not None and stored[0] is not Status.PENDING:
                await self._settle(prompt, *stored)
                return
        log.error("STK prompt %s: its payment's outcome never came", prompt.checkout_id)

    async def cancel(self, checkout_id: str) -> Answer:
        """The customer pressed Cancel (1032) (on the front that owns the prompt)."""
        prompt = self.open.get(checkout_id)
        if prompt is None:
            elsewhere = await self.owners.cancel_elsewhere(checkout_id)
            if elsewhere is not None:
                return elsewhere
            prompt = self.open.get(checkout_id)
        if prompt is None or prompt.state != "pending":
            return closed_answer(prompt or self.finished.get(checkout_id))
        result = described("1032")
        await self.fail(prompt, result)
        return Answer(True, "cancelled", "You cancelled the request.", None, result)

    def _expire(self, prompt: Prompt) -> None:
        self._timers.pop(prompt.checkout_id, None)
        if prompt.state == "pending":
            self._spawn(self.fail(prompt, described("1037")))

    async def fail(self, prompt: Prompt, result: Result) -> None:
        """End an open prompt without payment: its row and the failure callback, together.

        Once decided, an ending stands. Where no core answered in time (cluster form),
        one may still commit it (an ask in flight when the front gave up): the same
        rows go again as the same batch until a core answers (``_end_again``), so the
        business is told one outcome, never a cancel and then a timeout.
        """
        if not prompt.open:
            return
        assert not result.ok
        self._disarm(prompt)
        prompt.state = "failed"
        prompt.result = result
        daraja = self.daraja
        now = daraja.now()
        body = json_text(
            payloads.stk_failure(prompt.merchant_request_id, prompt.checkout_id, result)
        )
        row = daraja.outbox.row(prompt.request_id, prompt.callback_url, body, "stk.callback", now)
        self._release(prompt)
        writes = [prompt.update(now), row]
        try:
            await daraja.commit(writes, callbacks=True)
        except Unavailable as error:
            self._spawn(self._end_again(prompt, writes, getattr(error, "batch", "")))
            raise
        self._finish(prompt)

    async def _end_again(self, prompt: Prompt, writes: list[Write], batch: str) -> None:
        """Send an ending no core answered again, as the same batch, until one does."""
        while True:
            await asyncio.sleep(end_again_s)
            try:
                await self.daraja.commit(writes, callbacks=True, batch=batch)
            except Unavailable as error:
                batch = getattr(error, "batch", "") or batch
                continue
            except Exception:  # refused: sending it again would not help
                log.exception("STK prompt %s: its ending did not commit", prompt.checkout_id)
            self._finish(prompt)
            return

    def _success_row(self, prompt: Prompt, now: int) -> Write:
        body = json_text(
            payloads.stk_success(
                prompt.merchant_request_id,
                prompt.checkout_id,
                prompt.amount,
                prompt.receipt,
                now,
                prompt.msisdn,
            )
        )
        return self.daraja.outbox.row(
            prompt.request_id, prompt.callback_url, body, "stk.callback", now
        )

    # -- bookkeeping -------------------------------------------------------------------

    def _finish(self, prompt: Prompt) -> None:
        self._forget(prompt)
        self.finished[prompt.checkout_id] = prompt
        while len(self.finished) > finished_kept_max:
            self.finished.popitem(last=False)

    def _forget(self, prompt: Prompt) -> None:
        self.open.pop(prompt.checkout_id, None)
        self._release(prompt)
        self._disarm(prompt)

    def _release(self, prompt: Prompt) -> None:
        """The customer may take another prompt (on any front)."""
        if self.by_msisdn.get(prompt.msisdn) == prompt.checkout_id:
            del self.by_msisdn[prompt.msisdn]
            self._spawn(self.daraja.ports.fronts().release(lock_key(prompt.msisdn)))

    def _disarm(self, prompt: Prompt) -> None:
        timer = self._timers.pop(prompt.checkout_id, None)
        if timer is not None:
            timer.cancel()

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("STK prompt work failed", exc_info=task.exception())

    async def close(self) -> None:
        """Stop timers and answers in progress (open prompts are settled at the next start)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- after a restart ---------------------------------------------------------------

    async def recover(self) -> int:
        """Settle open prompts whose front is gone (or a stop left), from TranProc's record.

        At start, and on a front every few seconds (``owners.py``): each is taken by
        exactly one front, which settles it, or arms it again if it may still be paid.
        How many were taken.
        """
        daraja = self.daraja
        rows = await asyncio.to_thread(
            daraja.tables.query,
            f"SELECT {', '.join(PROMPT_COLUMNS)}, owner FROM daraja_prompts"
            " WHERE state IN ('pending', 'answering') ORDER BY created",
        )
        taken = 0
        for *row, owner in rows:
            prompt = prompt_of(tuple(row))
            if prompt.checkout_id in self.open or not await self.owners.take(
                "stk", prompt.checkout_id, str(owner)
            ):
                continue
            taken += 1
            await self.settle_taken(prompt, str(owner))
        return taken

    async def settle_taken(self, prompt: Prompt, owner: str) -> None:
        """A prompt this front took over: settle it, or arm it again while it may be paid.

        ``Unavailable`` when no core took its rows: the prompt is given back as it was.
        """
        try:
            await self._settle_taken(prompt)
        except Unavailable:
            self._forget(prompt)
            await self.owners.give_back("stk", prompt.checkout_id, owner)
            raise

    async def _settle_taken(self, prompt: Prompt) -> None:
        daraja = self.daraja
        prompt.state = "pending"
        prompt.owner = daraja.ports.fronts().me
        prompt.business = business_name(daraja, prompt.party_b)
        stored = await asyncio.to_thread(history.outcome, daraja.tables, prompt.request_id)
        self.open[prompt.checkout_id] = prompt
        if stored is not None:
            await self._settle(prompt, *stored)
        elif prompt.expires > daraja.now() and prompt.msisdn not in self.by_msisdn:
            if prompt.owner:
                await daraja.commit([prompt.owned(daraja.now())])
            self.by_msisdn[prompt.msisdn] = prompt.checkout_id
            self._arm(prompt)
        else:
            await self.fail(prompt, described("1037"))
        if prompt.msisdn not in self.by_msisdn:
            # Settled at once: the gone front's lock on the subscriber goes with it.
            await daraja.ports.fronts().release(lock_key(prompt.msisdn))

    async def _settle(self, prompt: Prompt, status: Status, response: Response) -> None:
        daraja = self.daraja
        if status is not Status.COMPLETED:
            rolled_back = status in (Status.ROLLED_BACK, Status.PENDING)
            code = Code.ROLLED_BACK if rolled_back else response.code
            await self.fail(prompt, for_stk(code))
            return
        prompt.state = "completed"
        prompt.result = SUCCESS
        prompt.receipt = response.receipt or ""
        noted = await asyncio.to_thread(
            outbox_reads.queued_for, daraja.tables, prompt.request_id, payloads.STK_TEMPLATE
        )
        writes = [prompt.update(daraja.now())]
        if not noted:
            writes.append(self._success_row(prompt, daraja.now()))
        await daraja.commit(writes, callbacks=not noted)
        self._finish(prompt)


def _command(prompt: Prompt) -> commands.BuyGoods | commands.PayBill:
    """The payment the prompt asked for, as its product's command (amount in minor units)."""
    if prompt.kind == "till":
        return commands.BuyGoods(prompt.party_b, prompt.amount)
    return commands.PayBill(prompt.party_b, prompt.account, prompt.amount)
