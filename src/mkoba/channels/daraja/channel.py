"""The Daraja channel, wired: routes, the running channel, C2B validation, callbacks.

The composition root builds ``DarajaChannel`` with the ports and its tables,
hands the outbox ``gateway`` (where callbacks go), gives TranProc the channel's
``validation`` and subscribes its ``payments`` to payments to businesses
(``processor/events.py``), and lets a core commit the rows a front sends
(``front_rows``). On a front the channel serves the routes only; on the core
it serves none but validates, reacts to payments and sends the callbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mkoba.channels.daraja.callback_log import DarajaCallbackLog
from mkoba.channels.daraja.callbacks import CallbackGateway, OutboxRows, outbox_id_base
from mkoba.channels.daraja.confirmation import DarajaPayments
from mkoba.channels.daraja.owners import Takeover
from mkoba.channels.daraja.payloads import RENDERERS
from mkoba.channels.daraja.state import Daraja
from mkoba.channels.daraja.validation import DarajaValidation
from mkoba.codes import Code
from mkoba.ledger import Write, WriteMode
from mkoba.parties import Pin
from mkoba.ports import Ports, PromptAnswer, Tables
from mkoba.processor.services import Renderer
from mkoba.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mkoba.bus.rows import Admission

log = logging.getLogger("mkoba.daraja")

# The channel's own tables: a front may have the core commit rows of these.
OWN_TABLES = (
    "daraja_prompts",
    "daraja_tokens",
    "daraja_urls",
    "daraja_pull",
    "daraja_conversations",
)


class DarajaChannel:
    """Everything the Daraja channel runs, in one process's role (all, front or core)."""

    def __init__(self, ports: Ports, settings: Settings, tables: Tables) -> None:
        self.settings = settings
        self.role = settings.role
        self.daraja = Daraja(ports, settings, tables, front=self.role == "front")
        self.takeover = Takeover(self.daraja)
        # On a process that runs TranProc: payments to businesses ask their validation
        # URLs, and carry their callbacks as they commit.
        core = self.role != "front"
        self.validation = DarajaValidation(self.daraja) if core else None
        self.payments = DarajaPayments(self.daraja) if core else None
        # The callbacks and their delivery log, for the operator console (where callbacks go).
        self.callback_log = DarajaCallbackLog(ports, tables, self.daraja.registry) if core else None

    @property
    def renderers(self) -> Mapping[str, Renderer]:
        """How TranProc renders this channel's callbacks (STK result, C2B confirmation)."""
        return RENDERERS

    @property
    def gateway(self) -> CallbackGateway | None:
        """The outbox's "callback" gateway, or None on a front (the core sends them)."""
        return self.daraja.gateway

    def front_rows(self) -> Admission:
        """What the core commits for fronts (after ``start``): see ``front_rows``."""
        return front_rows(self.daraja.outbox)

    async def answer_from_handset(
        self, msisdn: str, checkout_id: str, pin: Pin | None
    ) -> PromptAnswer:
        """A prompt answered on another channel's handset (the PIN typed on a SIM-toolkit
        SIM, or None: Cancel). Another number's prompt is answered as one that does not
        exist, before its PIN is looked at (as the handset routes do)."""
        daraja = self.daraja
        if not daraja.running:
            return PromptAnswer(str(Code.SYSTEM_BUSY), Code.SYSTEM_BUSY.message)
        prompt = await daraja.prompts.find(checkout_id)
        if prompt is None or prompt.msisdn != msisdn:
            return PromptAnswer("unknown_prompt", "There is no such request.")
        if pin is None:
            outcome = await daraja.prompts.cancel(checkout_id)
        else:
            outcome = await daraja.prompts.answer(checkout_id, pin.reveal())
        return PromptAnswer(outcome.code, outcome.message, outcome.receipt or "")

    def mount(self, app: FastAPI) -> None:
        """The Daraja routes and the handset's STK routes (not on a core: fronts serve them)."""
        from mkoba.channels.daraja.routes import mount as mount_routes

        if self.role != "core":
            mount_routes(app, self.daraja)

    async def start(self) -> None:
        """Open the tables and the registry, then settle what a stop left open.

        The core settles nothing: fronts own prompts and conversations, settle what
        a stop left when they start, and take over those of a front that is gone
        (``owners.py``).
        """
        await self.daraja.open()
        self.daraja.running = True
        if self.role != "core":
            await self.daraja.recover()
            await self.daraja.prompts.owners.serve()
            self.takeover.start()

    async def ensure_sandbox(self) -> bool:
        """The sandbox's app, shortcodes and initiator on a store with no app yet."""
        from mkoba.channels.daraja.demo import CONSUMER_KEY, ensure_sandbox

        created = await ensure_sandbox(self.daraja)
        if created:
            log.info("Daraja sandbox ready: consumer key %s (see docs/daraja.md)", CONSUMER_KEY)
        return created

    async def stop(self) -> None:
        """Stop timers and background work, then the HTTP clients.

        The composition root stops the outbox sender first: callbacks still queued
        go out at the next start instead of being handed to a closing gateway.
        Validation stays in place for requests still in flight; without its client,
        it falls back to the registered default action.
        """
        self.daraja.running = False
        await self.takeover.stop()
        await self.daraja.close()
        if self.validation is not None:
            await self.validation.close()


def front_rows(outbox: OutboxRows) -> Admission:
    """The rows a Daraja front may have the core commit: its own tables, its callbacks.

    A front's callback gets its outbox id from the core's ``outbox`` (the one range
    the core's own callbacks use), so fronts never hand out the same id.
    """

    def anything(write: Write) -> Write:
        return write

    def callback(write: Write) -> Write | None:
        row = dict(zip(write.columns, write.values, strict=True))
        number = row.get("id")
        if not (
            write.mode == WriteMode.INSERT
            and write.columns[0] == "id"
            and row.get("channel") == "callback"
            and row.get("state") == "queued"
            and isinstance(number, int)
            and number >= outbox_id_base
        ):
            return None
        return outbox.renumbered(write)

    admission: Admission = {"outbox": callback}
    for table in OWN_TABLES:
        admission[table] = anything
    return admission
