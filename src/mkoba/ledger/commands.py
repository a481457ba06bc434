"""The ledger writer's commands: what a caller hands over, and how its future is resolved.

A command is decided in a batch by the writer thread (``writer.py``); its
future, a thread's or an event loop's, is resolved only once its batch is
durable, in one hop to the caller's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

from mkoba.ledger.results import TransferResult
from mkoba.ledger.store.base import Write

# Rows committed with a command's transfers: given, or made from the transfers' results.
Attach = Sequence[Write] | Callable[[list[TransferResult]], Sequence[Write]] | None
Clock = Callable[[], int]

# A command that raised while being decided (in its attach or read function).
_FAULT_DECIDE = "decide"
_STOP = "stop"


class WriterError(Exception):
    """The writer cannot take commands or lost one: stopped, store failing, overloaded."""


class _Command:
    __slots__ = ("kind", "payload", "attach", "future", "size", "loop")

    def __init__(
        self,
        kind: str,
        payload: Any,
        attach: Attach = None,
        size: int = 1,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.kind = kind
        self.payload = payload
        self.attach = attach
        self.size = size
        # On a loop: an asyncio future, only ever touched from its loop's thread.
        self.loop = loop
        self.future: Future[Any] | asyncio.Future[Any] = (
            Future() if loop is None else loop.create_future()
        )


class _Undecided(Exception):
    """Deciding a batch raised; ``command`` is the one it raised in (None: the engine's own)."""

    def __init__(self, error: Exception, command: _Command | None) -> None:
        super().__init__(type(error).__name__)
        self.error = error
        self.command = command


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, bool]]) -> None:
    """On a loop: resolve its commands of one batch; ``failed`` marks an exception."""
    for future, outcome, failed in outcomes:
        if future.done():  # the caller stopped waiting; the command still happened
            continue
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _resolve(
    batch: list[_Command],
    outcomes: Sequence[Any],
    *,
    failed: bool,
    here: asyncio.AbstractEventLoop | None = None,
) -> None:
    """Resolve each command's future: thread futures here, loop futures on their loop.

    ``here``: the loop this runs on, whose futures are resolved at once.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, bool]]] = {}
    for command, outcome in zip(batch, outcomes, strict=True):
        future = command.future
        if command.loop is not None:
            assert isinstance(future, asyncio.Future)
            by_loop.setdefault(command.loop, []).append((future, outcome, failed))
            continue
        assert isinstance(future, Future)
        # A caller may stop waiting (asyncio.wrap_future cancels on task
        # cancellation): its command still happened, nobody needs the answer.
        with contextlib.suppress(InvalidStateError):
            if failed:
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
    for loop, settled in by_loop.items():
        if loop is here:
            _settle(settled)
            continue
        # A closed loop has nobody left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)
