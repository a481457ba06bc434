"""Messages from phones (MO): a confirmation forwarded to the reversal number, or help.

Nothing that arrives by SMS can move a customer's money: SMS carries no PIN
(and a PIN typed into an SMS is never read). A confirmation forwarded to 456
asks for a reversal, as on M-Pesa: it goes to TranProc (``request_reversal``)
without a PIN, so TranProc checks the transaction (whose it is, whether it can
still be reversed) and, when all that is left is the PIN, the reply tells the
customer how to confirm it on *334# (My Account, Reverse Transaction). Anything
else gets a helpful reply: messages that look like balance or PIN commands are
told to dial *334#; the rest how to reverse and where the menu is.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable

from mkoba.channels.sms.replies import Replies
from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.messages import render
from mkoba.parties import InvalidMsisdn, Party, normalize_msisdn
from mkoba.processor.request import Channel, Request, Response

log = logging.getLogger("mkoba.sms.inbound")

# An M-Pesa receipt (year, month, day letters then seven characters) near the start.
_RECEIPT = re.compile(r"\b([A-Z][A-L][1-9A-V][0-9A-Z]{7})\b")
receipt_search_chars = 40
# Words that ask for something only the PIN flow may give.
_PIN_WORDS = frozenset(
    {"BAL", "BALANCE", "SALIO", "PIN", "SEND", "TUMA", "STATEMENT", "TAARIFA", "WITHDRAW", "TOA"}
)
# Words that open a care ticket with the rest of the message (English and Swahili).
_CARE_WORDS = frozenset({"HELP", "CARE", "COMPLAINT", "MSAADA", "MALALAMIKO"})
_PIN_LIKE = re.compile(r"(?<![0-9])[0-9]{4,6}(?![0-9])")
# Replays of the same forwarded message within this window are one request.
replay_window_s = 60
text_chars_max = 1600
# What a care ticket keeps of a message (the ticket book's limit).
commands_text_chars_max = 500

Requester = Callable[[Request], Awaitable[Response]]


class Inbox:
    """Turns inbound SMS into requests and replies."""

    def __init__(
        self,
        requester: Requester,
        party_of: Callable[[str], Party | None],
        replies: Replies,
        reversal_number: str,
        country: Callable[[], str],
    ) -> None:
        self.requester = requester
        self.party_of = party_of
        self.replies = replies
        self.reversal_number = reversal_number
        self.country = country
        self.handled = 0

    async def handle(self, source: str, destination: str, text: str) -> str:
        """Act on one inbound message; the template of the reply sent."""
        self.handled += 1
        try:
            msisdn = normalize_msisdn(source, self.country())
        except InvalidMsisdn:
            log.info("inbound SMS from a number we cannot serve ignored")
            return ""
        text = text[:text_chars_max]
        party = self.party_of(msisdn)
        language = party.language if party is not None else "en"
        params = {"reversal": self.reversal_number}
        request_id = f"sms:{msisdn}:{int(time.time() // replay_window_s)}"
        if party is None or party.state == "unregistered":
            template = "sms.not_registered"
        elif destination.lstrip("+") == self.reversal_number:
            return await self._reversal(msisdn, language, text)
        elif text.split() and text.split()[0].upper().strip(":,.") in _CARE_WORDS:
            return await self._care(msisdn, language, text)
        elif self._asks_for_pin_flow(text):
            template = "sms.no_pin_by_sms"
        else:
            template = "sms.help"
        await self.replies.send(msisdn, language, template, params, request_id)
        return template

    async def _care(self, msisdn: str, language: str, text: str) -> str:
        """A care ticket with what the customer wrote (a PIN-like number is not kept)."""
        words = text.split()[1:]
        said = _PIN_LIKE.sub("****", " ".join(words))[:commands_text_chars_max]
        minute = int(time.time() // replay_window_s)
        request_id = f"sms:{msisdn}:care:{minute}"
        request = Request(
            request_id,
            Channel.SMS,
            "open_ticket",
            msisdn,
            commands.TicketOpen("other", said),
            None,
            time.time_ns(),
            phone_verified=True,  # the SMSC says which phone sent it
        )
        response = await self.requester(request)
        if response.ok:
            return "ticket.opened"  # its own SMS says the number and when to expect an answer
        reason = (
            response.message
            if language == "en"
            else render(f"ussd.code.{response.code}", language, {})
        )
        template = "sms.ticket.refused"
        await self.replies.send(msisdn, language, template, {"reason": reason}, request_id)
        return template

    def _asks_for_pin_flow(self, text: str) -> bool:
        words = text.upper().split()
        return bool(words and words[0] in _PIN_WORDS) or bool(_PIN_LIKE.search(text))

    async def _reversal(self, msisdn: str, language: str, text: str) -> str:
        found = _RECEIPT.search(text[:receipt_search_chars].upper())
        minute = int(time.time() // replay_window_s)
        if found is None:
            template = "sms.reversal.no_receipt"
            params = {"reversal": self.reversal_number}
            await self.replies.send(msisdn, language, template, params, f"sms:{msisdn}:{minute}")
            return template
        receipt = found.group(1)
        request_id = f"sms:{msisdn}:reverse:{receipt}:{minute}"
        request = Request(
            request_id,
            Channel.SMS,
            "request_reversal",
            msisdn,
            commands.Reversal(receipt),
            None,
            time.time_ns(),
            phone_verified=True,  # the SMSC says which phone sent it
        )
        response = await self.requester(request)
        if response.ok:
            template = "sms.reversal.received"
            params = {"receipt": receipt}
        elif response.code == Code.INVALID_INPUT:
            # The transaction passed every check but the PIN, which SMS cannot carry.
            template = "sms.reversal.confirm"
            params = {"receipt": receipt}
        else:
            template = "sms.reversal.refused"
            reason = (
                response.message
                if language == "en"
                else render(f"ussd.code.{response.code}", language, {})
            )
            params = {"receipt": receipt, "reason": reason}
        await self.replies.send(msisdn, language, template, params, request_id)
        return template
