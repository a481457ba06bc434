"""The outbox's "sms" gateway over SMPP: a message in, submit_sm out, receipts tracked.

Every part asks for a delivery receipt (registered_delivery 1). A message the
SMSC took whole is ``SENT``; the receipts later make it ``delivered`` or
``undelivered`` (``Tracker``). Throttling the client could not absorb, a
dropped link or no answer is ``RETRY`` (the outbox backs off and sends again;
parts already taken may then arrive twice, the usual at-least-once of SMS);
an answer that will never change (a bad number) is ``FAILED``.
"""

from __future__ import annotations

import asyncio
import logging

from mkoba.channels.sms import encoding
from mkoba.channels.sms.esme import (
    NPI_E164,
    TON_INTERNATIONAL,
    TRANSIENT,
    Esme,
    SubmitResult,
    address_type,
)
from mkoba.channels.sms.tracker import Tracker
from mkoba.outbox import Delivery, Message

log = logging.getLogger("mkoba.sms")


class SmppGateway:
    """Sends outbox messages to an SMSC over one bound ESME session."""

    def __init__(self, esme: Esme, tracker: Tracker, sender: str) -> None:
        self.esme = esme
        self.tracker = tracker
        self.sender = sender
        self.source_ton, self.source_npi = address_type(sender)

    async def send(self, message: Message) -> Delivery:
        """Submit every part; SENT once the SMSC took them all."""
        try:
            parts = encoding.parts(message.body)
        except encoding.TooLong as problem:
            log.error("outbox row %d not sent: %s", message.id, problem)
            return Delivery.FAILED
        results = await asyncio.gather(*(self._submit(message.recipient, p) for p in parts))
        if all(result.ok for result in results):
            ids = [result.message_id for result in results]
            self.tracker.sent(message.id, message.request_id, message.reference, ids)
            return Delivery.SENT
        worst = next(result for result in results if not result.ok)
        if worst.status < 0 or worst.status in TRANSIENT:
            return Delivery.RETRY
        log.warning("SMSC refused outbox row %d: status 0x%02X", message.id, worst.status)
        return Delivery.FAILED

    async def _submit(self, recipient: str, part: encoding.Part) -> SubmitResult:
        return await self.esme.submit(
            service_type="",
            source_addr_ton=self.source_ton,
            source_addr_npi=self.source_npi,
            source_addr=self.sender,
            dest_addr_ton=TON_INTERNATIONAL,
            dest_addr_npi=NPI_E164,
            destination_addr=recipient,
            esm_class=part.esm_class,
            protocol_id=0,
            priority_flag=0,
            schedule_delivery_time="",
            validity_period="",
            registered_delivery=1,
            replace_if_present_flag=0,
            data_coding=part.data_coding,
            sm_default_msg_id=0,
            short_message=part.short_message,
        )
