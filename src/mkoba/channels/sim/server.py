"""The SIM channel's server: a secured packet in from a number, a secured answer out.

Transport-free: the SMSC side (``deliver_sm`` in, ``submit_sm`` out) hands
``handle`` the joined packet and the number the network says sent it, and sends
back what it returns. The steps, in order:

1. The number's active card (``Cards``). None: the number's last ended card, if
   any, gets a refusal sealed under its keys ('06': its keys are no longer
   held); a number that never had a card gets nothing (a log line, no secret).
2. The packet opened with the card's MO key and last counter (``packet.py``),
   TAR ``4D4B01`` only: a refusal is answered with its PoR status, sealed under
   the server's keys.
3. The applet's request decoded (``applet.py``); then the counter committed
   (``Cards.receive``) *before* anything acts, also when the request turns out
   malformed, so a replay is refused across a crash or a restart.
4. The command parsed as every channel's edge parses it; the PIN sealed for
   TranProc with the transport key, bound to the request id
   ``sim:ICCID:COUNTER`` (one per SIM counter: a retry of the same packet is
   refused before it, so TranProc never sees an id twice from here).
5. TranProc's answer (code, message, receipt) sealed as the response, PoR '00',
   under the server's next MT counter, taken durably first (``Cards.take_sent``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mkoba.catalog import Profile
from mkoba.channels.sim.cards import Cards
from mkoba.channels.sim.schema import CardRow
from mkoba.codes import Code
from mkoba.commands import BadCommand, parse
from mkoba.parties import SecretKey, seal_pin
from mkoba.ports import AnswerPrompt, Submit, Unavailable
from mkoba.processor.request import Channel, Request
from mkoba.simcard import applet, prompt
from mkoba.simcard.applet import Answer
from mkoba.simcard.keys import Direction, KeyRing
from mkoba.simcard.packet import (
    KNOWN_TARS,
    TAR_MONEY,
    open_command,
    seal_response,
)
from mkoba.simcard.refusals import (
    MalformedRequest,
    PacketRefused,
    PorStatus,
    UnknownKeyVersion,
)

log = logging.getLogger(__name__)
# The services a SIM's command packets ask for. On the menu TAR (TAR_MENU) the server
# sends the commands (the chunks of a menu) and the SIM answers with proofs of receipt
# (``ota.py``): a command packet from the SIM there is refused, TAR unknown.
SERVED_TARS = frozenset({TAR_MONEY})
_header_counter = slice(10, 15)
_header_tar = slice(7, 10)


class SimServer:
    """Secured SIM packets to TranProc requests and back."""

    def __init__(
        self,
        cards: Cards,
        keys: KeyRing,
        request: Submit,
        transport_key: SecretKey,
        clock: Callable[[], int],
        profile: Callable[[], Profile],
    ) -> None:
        self._cards = cards
        self._keys = keys
        self._request = request
        self._transport_key = transport_key
        self._clock = clock
        self._profile = profile
        # Set by the composition root where a Daraja channel runs: STK prompts the SIM answers.
        self.answer_prompt: AnswerPrompt | None = None

    async def handle(self, msisdn: str, packet: bytes) -> bytes | None:
        """The response packet for ``packet`` from ``msisdn``, or None: nothing to send."""
        card = self._cards.by_msisdn(msisdn)
        if card is None:
            ended = await self._cards.last_ended(msisdn)
            if ended is None:
                log.warning("sim: a packet from a number with no SIM card was dropped")
                return None
            log.info("sim: a packet for ended card %s refused", _tail(ended.iccid))
            return await self._refusal(ended, packet, UnknownKeyVersion.status)
        try:
            command = open_command(
                packet,
                keys={card.key_version: self._key(card, Direction.MO)},
                last_counter=card.mo_counter,
                tars=SERVED_TARS,
            )
            try:
                asked: applet.AppletRequest | None = applet.decode_request(command.data)
                malformed = None
            except MalformedRequest as error:
                asked, malformed = None, error
            menu = None if asked is None else asked.menu_version
            try:
                await self._cards.receive(card.iccid, command.counter, menu)
            except Unavailable:  # not committed, so not taken: the SIM may send it again
                log.warning("sim: card %s: no store to commit to; nothing taken", _tail(card.iccid))
                return None
            if malformed is not None:
                raise malformed
        except PacketRefused as refused:
            log.info("sim: card %s: %s", _tail(card.iccid), refused)
            return await self._refusal(card, packet, refused.status)
        assert asked is not None
        answer = await self._ask(card, command.counter, msisdn, asked)
        return await self._seal(card, command.tar, command.counter, PorStatus.OK, answer)

    async def _ask(
        self, card: CardRow, counter: int, msisdn: str, asked: applet.AppletRequest
    ) -> Answer:
        if asked.product == prompt.PRODUCT:
            return await self._answer_prompt(msisdn, asked)
        request_id = f"sim:{card.iccid}:{counter}"
        try:
            command = parse(asked.product, asked.fields, self._profile())
        except BadCommand as bad:
            return Answer(str(bad.code), bad.message)
        pin = asked.pin
        sealed = None if pin is None else seal_pin(pin, self._transport_key, request_id.encode())
        request = Request(
            request_id,
            Channel.SIM,
            asked.product,
            msisdn,
            command,
            sealed,
            self._clock(),
            phone_verified=True,  # the network says which phone; the SIM's keys say which SIM
        )
        try:
            response = await self._request(request)
        except (Unavailable, TimeoutError):
            return Answer(str(Code.SYSTEM_BUSY), Code.SYSTEM_BUSY.message)
        return Answer(str(response.code), response.message, response.receipt or "")

    async def _answer_prompt(self, msisdn: str, asked: applet.AppletRequest) -> Answer:
        """The SIM answered an STK prompt pushed to it: the PIN (or Cancel) to Daraja's
        prompt, which checks that the prompt is this number's before it looks at the PIN."""
        checkout_id = asked.fields.get(prompt.FIELD, "")
        if self.answer_prompt is None or not checkout_id:
            return Answer("unknown_prompt", "There is no such request.")
        try:
            answered = await self.answer_prompt(msisdn, checkout_id, asked.pin)
        except (Unavailable, TimeoutError):
            return Answer(str(Code.SYSTEM_BUSY), Code.SYSTEM_BUSY.message)
        return Answer(answered.code, answered.message, answered.receipt)

    async def _refusal(self, card: CardRow, packet: bytes, status: PorStatus) -> bytes | None:
        """A refusal sealed for the card's SIM: it names the counter the header gave."""
        tar = bytes(packet[_header_tar])
        counter = int.from_bytes(packet[_header_counter], "big") if len(packet) >= 15 else 0
        try:
            return await self._seal(card, tar if tar in KNOWN_TARS else TAR_MONEY, counter, status)
        except PacketRefused:  # the card's MT counters are used up: nothing can be sealed
            log.warning("sim: card %s has no counter left to answer with", _tail(card.iccid))
            return None

    async def _seal(
        self,
        card: CardRow,
        tar: bytes,
        answers: int,
        status: PorStatus,
        answer: Answer | None = None,
    ) -> bytes:
        counter = await self._cards.take_sent(card.iccid)
        data = b"" if answer is None else applet.encode_answer(answer)
        return seal_response(
            self._key(card, Direction.MT),
            card.key_version,
            tar=tar,
            counter=counter,
            answers=answers,
            status=status,
            data=data,
        )

    def _key(self, card: CardRow, direction: Direction) -> SecretKey:
        return self._keys.key(card.iccid, card.key_version, direction)


def _tail(iccid: str) -> str:
    """An ICCID as logs show it: enough to find the card, not to list them."""
    return f"...{iccid[-6:]}"
