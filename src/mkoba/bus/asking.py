"""Request-reply across the bus, asked again until an answer comes or the deadline passes.

A front's rows (``remote.RemoteRows``) and a front's calls to the validation server
(``channels/app/validation/remote.py``) ask one server that may be restarting, taking
over or slow: no responders means nobody listens yet (wait a little, ask again); a
timeout means the ask may have been heard (ask again at once, flagged as ``again``
where the caller has such a form); ``wait_on`` is an answer that means "busy, ask
again". Past the deadline, ``NoAnswer``: the caller's channel answers busy.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError

from mkoba.bus.jetstream import retry_pause_s

log = logging.getLogger("mkoba.bus")

# How long one ask waits for its answer before asking again.
ask_timeout_s = 5.0


class NoAnswer(Exception):
    """No answer came before the deadline."""


async def ask_until(
    client: Client,
    subject: str,
    timeout_s: float,
    first: bytes,
    again: bytes | None = None,
    *,
    wait_on: bytes | None = None,
) -> bytes:
    """The first answer to ``first`` (then ``again``, if given) on ``subject``."""
    deadline = time.monotonic() + timeout_s
    body = first
    while True:
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise NoAnswer(f"no answer on {subject} in {timeout_s:g} s")
        try:
            answer = await client.request(subject, body, timeout=min(ask_timeout_s, left_s))
        except NoRespondersError:
            pause = True
        except (TimeoutError, NatsError) as problem:
            log.warning("%s: %s; asking again", subject, type(problem).__name__)
            pause = not isinstance(problem, TimeoutError)  # not connected: no busy loop
        else:
            if wait_on is None or answer.data != wait_on:
                return bytes(answer.data)
            pause = True
        if again is not None:  # from now on, it may have been heard
            body = again
        if pause:
            await asyncio.sleep(min(retry_pause_s, max(0.0, deadline - time.monotonic())))
