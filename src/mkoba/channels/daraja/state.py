"""The running channel: its registry, secrets, prompts, conversations and callback gateway.

One ``Daraja`` per channel (``channel.DarajaChannel`` builds it from its ports);
routes find it through the app's state at request time, once it has started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from mkoba.catalog import Profile
from mkoba.channels.daraja.callbacks import CallbackGateway, OutboxRows, first_outbox_id
from mkoba.channels.daraja.credential import Credentials
from mkoba.channels.daraja.registry import App, Registry, read_tables, refresh_interval_s
from mkoba.channels.daraja.sandbox import Sandbox, parse_rules
from mkoba.channels.daraja.schema import OWNERS, OWNERS_MIGRATION, SCHEMA
from mkoba.channels.daraja.vault import Vault
from mkoba.ledger import Write
from mkoba.outbox import Message
from mkoba.ports import DirectoryView, Ports, ReachHandset, Tables, Unavailable
from mkoba.settings import Settings

if TYPE_CHECKING:
    from mkoba.channels.daraja.conversations import Conversations
    from mkoba.channels.daraja.prompts import Prompts

log = logging.getLogger("mkoba.daraja")


class Daraja:
    """Everything the Daraja channel keeps while it runs."""

    def __init__(self, ports: Ports, settings: Settings, tables: Tables, *, front: bool) -> None:
        self.ports = ports
        self.settings = settings
        # Its own tables: read here, committed by the ledger writer (the core's, from a front).
        self.tables = tables
        # A front serves the routes; the core creates the tables and sends the callbacks.
        self.front = front
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
        # The outbox's "callback" gateway, where this process sends callbacks (not a front).
        self.gateway = (
            None
            if front
            else CallbackGateway(
                tables,
                self.app_of,
                settings.daraja_callback_timeout_s,
                settings.daraja_callback_attempts,
            )
        )
        self.prompts: Prompts
        self.conversations: Conversations
        # Between the channel's start and stop: the routes answer only then.
        self.running = False
        # Set by the composition root: shows a prompt on a handset another channel reaches
        # (the SIM toolkit's secured push); the handset routes serve every prompt anyway.
        self.reach: ReachHandset | None = None
        self._passkeys: dict[str, str] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def open(self) -> None:
        """Create the tables, load the registry and start the callback gateway.

        A front neither creates tables nor sends callbacks: the core does both.
        """
        from mkoba.channels.daraja.conversations import Conversations
        from mkoba.channels.daraja.prompts import Prompts

        tables = self.tables
        if not self.front:
            await asyncio.to_thread(tables.migrate_script, "daraja-0001", SCHEMA)
            await asyncio.to_thread(tables.migrate_script, OWNERS_MIGRATION, OWNERS)
        await self.refresh()
        rows = await asyncio.to_thread(
            tables.query,
            "SELECT digest, app_id, expires FROM daraja_tokens WHERE expires > ?",
            (self.now(),),
        )
        self.registry.load_tokens(rows)
        self.outbox = OutboxRows(await asyncio.to_thread(first_outbox_id, tables))
        self.prompts = Prompts(self)
        self.conversations = Conversations(self)
        self._refresher = asyncio.get_running_loop().create_task(
            self._refresh_forever(), name="daraja-registry"
        )

    async def recover(self) -> None:
        """Finish what a stop left open: prompts and conversations.

        In the cluster form with no core serving yet, what is left waits for a later
        look (``owners.Takeover``) rather than stopping the front's start.
        """
        try:
            await self.prompts.recover()
            await self.conversations.recover()
        except Unavailable:
            log.warning("no core took the rows of open prompts: they are settled later")

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
        tables = await asyncio.to_thread(read_tables, self.tables)
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

    async def commit(
        self, writes: list[Write], *, callbacks: bool = False, batch: str = ""
    ) -> None:
        """Commit rows through the ledger writer; wake the outbox when they hold callbacks.

        ``batch``: the same rows again, as the batch an ``Unavailable`` named.
        """
        await self.tables.submit(writes, poke=callbacks, batch=batch)

    def now(self) -> int:
        """The platform's clock (ns)."""
        return self.ports.clock()

    def profile(self, at: int) -> Profile:
        """The catalog version in force at ``at`` (ns)."""
        return self.ports.profile_at(at)

    @property
    def directory(self) -> DirectoryView:
        """Parties and their accounts, read-only."""
        return self.ports.directory()
