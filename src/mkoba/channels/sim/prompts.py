"""STK prompts over the SIM: Daraja's push reaches the SIM as a secured push.

When a business's STK push opens a prompt for a customer whose line has an
active SIM card, the composition root hands it here (``reach``): it is sealed
for that SIM (an MT command packet on the prompt TAR, the server's next MT
counter, no proof of receipt asked) and sent as SIM data SMS. The SIM shows it
and answers with an applet request, ``stk_answer`` with the checkout id and
the PIN typed on the SIM (none: Cancel), which ``SimServer`` hands to the
Daraja channel's answer (``answer_prompt``): the payment and the business's
callback follow as for any STK prompt. The prompt's text names no secret; no
log line here carries it or the number.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.ota import Send
from mkoba.ports import HandsetPrompt
from mkoba.simcard import prompt
from mkoba.simcard.concat import COMMAND_PACKET, split_packet
from mkoba.simcard.keys import Direction, KeyRing
from mkoba.simcard.packet import TAR_PROMPT, PorRequest, seal_command

log = logging.getLogger("mkoba.sim.prompts")


class SimPrompts:
    """Pushes prompts to SIMs."""

    def __init__(self, cards: Cards, keys: KeyRing, send: Callable[[], Send | None]) -> None:
        self._cards = cards
        self._keys = keys
        self._send = send
        self._references = itertools.cycle(range(256))
        self._tasks: set[asyncio.Task[None]] = set()

    def reach(self, notice: HandsetPrompt) -> bool:
        """Push ``notice`` to the number's SIM; False when it has no SIM card to reach."""
        card = self._cards.by_msisdn(notice.msisdn)
        send = self._send()
        if card is None or send is None:
            return False
        try:
            data = prompt.encode(
                prompt.PushedPrompt(notice.checkout_id, notice.text, notice.expires_in_s)
            )
        except ValueError:
            log.warning("sim: a prompt that cannot be carried to a SIM was not pushed")
            return False
        task = asyncio.get_running_loop().create_task(
            self._push(card.iccid, notice.msisdn, data, send)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _push(self, iccid: str, msisdn: str, data: bytes, send: Send) -> None:
        card = self._cards.get(iccid)
        if card is None:
            return
        try:
            counter = await self._cards.take_sent(iccid)
            packet = seal_command(
                self._keys.key(iccid, card.key_version, Direction.MT),
                card.key_version,
                tar=TAR_PROMPT,
                counter=counter,
                data=data,
                por=PorRequest.NONE,
                direction=Direction.MT,
            )
            parts = split_packet(
                packet, identifier=COMMAND_PACKET, reference=next(self._references)
            )
            await send(msisdn, parts)
        except Exception as error:  # the prompt stays open: the SIM cannot show it, it expires
            log.error("sim: a prompt push failed: %s", type(error).__name__)

    async def stop(self) -> None:
        """Cancel the pushes still under way."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
