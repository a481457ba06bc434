"""The running channel: its registry, secrets, prompts, conversations and callback gateway.

One ``Daraja`` per platform, built by ``start`` and kept in
``platform.extras["daraja"]``; routes find it there at request time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from mkoba.channels.daraja.callbacks import (
    CallbackGateway,
    OutboxRows,
    first_delivery_id,
    first_outbox_id,
)
from mkoba.channels.daraja.credential import Credentials
from mkoba.channels.daraja.registry import App, Registry, read_tables, refresh_interval_s
from mkoba.channels.daraja.sandbox import Sandbox, parse_rules
from mkoba.channels.daraja.schema import SCHEMA
from mkoba.channels.daraja.vault import Vault
from mkoba.ledger import Write
from mkoba.outbox import Message

if TYPE_CHECKING:
    from mkoba.app import Platform
    from mkoba.channels.daraja.conversations import Conversations
    from mkoba.channels.daraja.prompts import Prompts

log = logging.getLogger("mkoba.daraja")
EXTRA = "daraja"


class Daraja:
    """Everything the Daraja channel keeps while it runs."""

    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        self.platform = platform
        self.settings = settings
        self.services = platform.services
        self.writer = platform.writer
        self.store = platform.writer.store
        self.rows = platform.rows
        self.vault = Vault.load(settings.keys_dir)
        self.credentials = Credentials(settings.daraja_credentials, settings.keys_dir)
        self.registry = Registry()
        self.sandbox = Sandbox(
            settings.daraja_sandbox,
            tuple(p.strip() for p in settings.daraja_sandbox_msisdns.split(",") if p.strip()),
            parse_rules(
                settings.daraja_auto_answer,
                settings.daraja_auto_rules,
                settings.daraja_auto_answer_s,
            ),
        )
        self.outbox: OutboxRows
        self.gateway: CallbackGateway | None = None
        self.prompts: Prompts
        self.conversations: Conversations
        self._passkeys: dict[str, str] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def open(self) -> None:
        """Create the tables, load the registry and start the callback gateway.

        A front neither creates tables nor sends callbacks: the core does both.
        """
        from mkoba.channels.daraja.conversations import Conversations
        from mkoba.channels.daraja.prompts import Prompts

        store = self.store
        front = self.platform.front
        if not front:
            await asyncio.to_thread(store.migrate_script, "daraja-0001", SCHEMA)
        await self.refresh()
        now = self.services.clock()
        rows = await asyncio.to_thread(
            store.query,
            "SELECT digest, app_id, expires FROM daraja_tokens WHERE expires > ?",
            (now,),
        )
        self.registry.load_tokens(rows)
        self.outbox = OutboxRows(await asyncio.to_thread(first_outbox_id, store))
        if not front:
            self.gateway = CallbackGateway(
                self.writer,
                self.app_of,
                self.settings.daraja_callback_timeout_s,
                self.settings.daraja_callback_attempts,
                await asyncio.to_thread(first_delivery_id, store),
            )
            self.platform.outbox.gateways["callback"] = self.gateway
        self.prompts = Prompts(self)
        self.conversations = Conversations(self)
        self._refresher = asyncio.get_running_loop().create_task(
            self._refresh_forever(), name="daraja-registry"
        )

    async def recover(self) -> None:
        """Finish what a stop left open: prompts and conversations."""
        await self.prompts.recover()
        await self.conversations.recover()

    async def close(self) -> None:
        """Stop timers and background work, then the gateway."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.prompts.close()
        await self.conversations.close()
        if self.gateway is not None:
            await self.gateway.close()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``work`` in the background; cancelled at stop, failures logged."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    def check_initiator(self, app: App, name: str, credential: str, role: str) -> str:
        """The channel's verdict on an initiator: "" (go on), "2001" (invalid) or "21" (role)."""
        initiator = self.registry.initiator(app, name)
        if initiator is None:
            return "2001"
        if not self.credentials.accepts(self.vault, initiator.verifier, credential):
            return "2001"
        if not initiator.may(role):
            return "21"
        return ""

    # -- the registry -----------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the registry's tables again (the CLI changes them directly)."""
        generation = self.registry.generation
        tables = await asyncio.to_thread(read_tables, self.store)
        if self.registry.replace(tables, generation):
            self._passkeys.clear()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(refresh_interval_s)
            try:
                await self.refresh()
            except Exception:  # a failed read must not stop the channel; try again later
                log.exception("Daraja registry refresh failed")

    def passkey(self, shortcode: str, sealed: str) -> str | None:
        """The clear passkey of a shortcode (cached), or None when it has none."""
        if not sealed:
            return None
        cached = self._passkeys.get(shortcode)
        if cached is None:
            try:
                cached = self.vault.open(f"passkey:{shortcode}", sealed)
            except ValueError:
                log.error("the passkey of %s cannot be read with this key", shortcode)
                return None
            self._passkeys[shortcode] = cached
        return cached

    def app_of(self, message: Message) -> int:
        """Which app an outgoing callback belongs to (for its delivery log)."""
        parts = message.request_id.split(":", 2)
        if len(parts) == 3 and parts[0] in ("stk", "c2b", "daraja") and parts[1].isdigit():
            return int(parts[1])
        for urls in self.registry.urls.values():
            if message.recipient in (urls.confirmation_url, urls.validation_url):
                return urls.app_id
        return 0

    # -- writing ----------------------------------------------------------------------

    async def commit(self, writes: list[Write], *, callbacks: bool = False) -> None:
        """Commit rows through the ledger writer; wake the outbox when they hold callbacks."""
        await self.rows.submit(writes, poke=callbacks)

    def now(self) -> int:
        """The platform's clock (ns)."""
        return self.services.clock()


def daraja_of(platform: Platform) -> Daraja | None:
    """The running channel of ``platform``, if started."""
    found = platform.extras.get(EXTRA)
    return found if isinstance(found, Daraja) else None
