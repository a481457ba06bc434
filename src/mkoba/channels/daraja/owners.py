"""Which front owns an open STK prompt or conversation, and what the others do about it.

In the cluster form any number of fronts serve Daraja. Each open prompt and
conversation belongs to the front that made it (the ``owner`` column):

- an STK answer or cancel that reaches another front is forwarded to the owner
  (the PIN sealed for the prompt's request, as it goes to TranProc);
- a front that is gone (``Fronts.alive``: it stopped beating) has its open
  prompts and conversations taken over, each by exactly one front (a claim
  named after the prompt and the owner it was taken from), which writes itself
  in as the new owner and finishes them from TranProc's record;
- a subscriber is locked by a claim while a prompt is open, on every front.

In one process there is one owner, and a start takes over what the last run left.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from mkoba.channels.daraja.codes import Result
from mkoba.channels.daraja.schema import PROMPT_COLUMNS
from mkoba.channels.daraja.stk_prompt import (
    BAD_PIN,
    Answer,
    Prompt,
    business_name,
    closed_answer,
    prompt_of,
)
from mkoba.parties import Pin, SealedPin, seal_pin
from mkoba.ports import Fronts, Unavailable

if TYPE_CHECKING:
    from mkoba.channels.daraja.prompts import Prompts
    from mkoba.channels.daraja.state import Daraja

log = logging.getLogger("mkoba.daraja.owners")

# How often a front looks for prompts and conversations of fronts that are gone.
scan_s = 3.0


def _take_key(kind: str, item: str, owner: str) -> str:
    return f"{kind}-take.{item}.{owner or 'none'}"


async def take(fronts: Fronts, kind: str, item: str, owner: str) -> bool:
    """Whether this front takes ``item`` over from ``owner`` (never from a live front)."""
    if await fronts.alive(owner):
        return False
    return await fronts.claim(_take_key(kind, item, owner))


async def give_back(fronts: Fronts, kind: str, item: str, owner: str) -> None:
    """Undo ``take`` (no core took the new owner's row): another look may take it again."""
    await fronts.release(_take_key(kind, item, owner))


class PromptOwners:
    """Forwarding answers to a prompt's owner, and taking over a gone front's prompts."""

    def __init__(self, prompts: Prompts) -> None:
        self.prompts = prompts

    @property
    def fronts(self) -> Fronts:
        """The fronts, as the platform has them now."""
        return self.prompts.daraja.ports.fronts()

    async def take(self, kind: str, item: str, owner: str) -> bool:
        """``take`` with this channel's fronts."""
        return await take(self.fronts, kind, item, owner)

    async def give_back(self, kind: str, item: str, owner: str) -> None:
        """``give_back`` with this channel's fronts."""
        await give_back(self.fronts, kind, item, owner)

    async def serve(self) -> None:
        """Answer the STK answers other fronts forward to this one."""
        await self.fronts.answer("stk", self._forwarded)

    async def answer_elsewhere(self, checkout_id: str, pin: str) -> Answer | None:
        """Answer a prompt this front does not hold: at its owner, or here once taken over.

        None when it is not another front's open prompt (the caller answers as usual).
        """
        prompt = await self._theirs(checkout_id)
        if prompt is None:
            return None
        key = self.prompts.daraja.ports.transport_key
        try:
            sealed = seal_pin(Pin(pin), key, prompt.request_id.encode())
        except ValueError:
            return BAD_PIN
        if prompt.owner == self.fronts.me:  # taken over just now: ours to answer
            return await self.prompts.answer_sealed(prompt, sealed)
        body = {"checkout": checkout_id, "action": "answer", "pin": _b64(sealed.blob)}
        return await self._ask(prompt.owner, body)

    async def cancel_elsewhere(self, checkout_id: str) -> Answer | None:
        """Cancel a prompt this front does not hold (see ``answer_elsewhere``)."""
        prompt = await self._theirs(checkout_id)
        if prompt is None:
            return None
        if prompt.owner == self.fronts.me:
            return await self.prompts.cancel(checkout_id)
        return await self._ask(prompt.owner, {"checkout": checkout_id, "action": "cancel"})

    async def pending_elsewhere(self, msisdn: str) -> list[Prompt]:
        """The prompts other fronts show ``msisdn``'s handset."""
        fronts = self.fronts
        if not fronts.me:
            return []
        daraja = self.prompts.daraja
        rows = await asyncio.to_thread(
            daraja.tables.query,
            f"SELECT {', '.join(PROMPT_COLUMNS)}, owner FROM daraja_prompts"
            " WHERE msisdn = ? AND state = 'pending' AND expires > ? ORDER BY created",
            (msisdn, daraja.now()),
        )
        found = []
        for *row, owner in rows:
            prompt = prompt_of(tuple(row))
            if owner != fronts.me and await fronts.alive(str(owner)):
                prompt.business = business_name(daraja, prompt.party_b)
                found.append(prompt)
        return found

    async def _theirs(self, checkout_id: str) -> Prompt | None:
        """Another front's open prompt (taken over first if that front is gone), or None."""
        fronts = self.fronts
        if not fronts.me:
            return None
        rows = await asyncio.to_thread(
            self.prompts.daraja.tables.query,
            f"SELECT {', '.join(PROMPT_COLUMNS)}, owner FROM daraja_prompts"
            " WHERE checkout_id = ? AND state IN ('pending', 'answering')",
            (checkout_id,),
        )
        if not rows:
            return None
        *row, owner = rows[0]
        prompt = prompt_of(tuple(row))
        prompt.owner = str(owner)
        if prompt.owner == fronts.me:
            return None
        if await self.take("stk", checkout_id, prompt.owner):
            await self.prompts.settle_taken(prompt, prompt.owner)
            taken = self.prompts.open.get(checkout_id)
            return taken if taken is not None and taken.state == "pending" else None
        return prompt

    async def _ask(self, owner: str, body: dict[str, str]) -> Answer | None:
        answer = await self.fronts.ask(owner, "stk", json.dumps(body).encode())
        if not answer:
            return None
        try:
            ok, code, message, receipt, result_code, result_text = json.loads(answer)
            return Answer(
                bool(ok), str(code), str(message), receipt, Result(result_code, result_text)
            )
        except (ValueError, TypeError):
            log.error("front %s answered a forwarded STK answer with nonsense", owner)
            return None

    async def _forwarded(self, data: bytes) -> bytes:
        """An STK answer or cancel another front forwarded here (the owner)."""
        try:
            body: Any = json.loads(data)
            checkout_id, action = str(body["checkout"]), str(body["action"])
            sealed = (
                SealedPin(base64.b64decode(body["pin"], validate=True))
                if action == "answer"
                else None
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return b""
        prompts = self.prompts
        prompt = prompts.open.get(checkout_id)
        if prompt is None:
            answer = closed_answer(prompts.finished.get(checkout_id))
        elif sealed is not None:
            answer = await prompts.answer_sealed(prompt, sealed)
        else:
            answer = await prompts.cancel(checkout_id)
        result = answer.result
        return json.dumps(
            [
                answer.ok,
                answer.code,
                answer.message,
                answer.receipt,
                result.code,
                result.description,
            ]
        ).encode()


class Takeover:
    """On a front: every few seconds, take over what fronts that are gone left open."""

    def __init__(self, daraja: Daraja) -> None:
        self.daraja = daraja
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start looking (only where there are other fronts to look after)."""
        if self.daraja.ports.fronts().me:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="takeover")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(scan_s)
            try:
                prompts = await self.daraja.prompts.recover()
                conversations = await self.daraja.conversations.recover()
            except Unavailable:
                log.warning("no core took the rows of a gone front's prompts: later")
                continue
            except Exception:  # a failed look must not stop the front; look again later
                log.exception("taking over a gone front's prompts failed")
                continue
            if prompts or conversations:
                log.warning(
                    "took over %d prompts and %d conversations of a front that is gone",
                    prompts,
                    conversations,
                )

    async def stop(self) -> None:
        """Stop looking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()
