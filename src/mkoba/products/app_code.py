"""Text a smartphone enrolment code to a customer's phone (the app's validation server asks).

The validation server (``channels/app/validation``) makes the one-time code and
keeps only its keyed digest; it hands TranProc the code sealed under the
transport key for this request alone (``commands.AppCode``), as a PIN travels.
TranProc checks the number is a registered customer's, counts the day's codes,
and queues the SMS as a secret note: sealed in the outbox, opened only for the
gateway, then scrubbed. No PIN: the SMS reaches only the number's own phone,
and only the app channel may ask (``Proof.APP``).
"""

from __future__ import annotations

import base64
import binascii

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import PartyKind, SealedPin, open_pin
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response

# Codes one number may be texted in a day: the validation server allows 3 per 10
# minutes; this caps what a patient abuser could make one phone receive.
codes_per_day = 10
# What the SMS says the code lives (the validation server's ``code_life_s``).
code_life_minutes = 5
# A sealed six-digit code: a 12-byte nonce, the digits and a 16-byte tag.
_sealed_chars_max = 64


def _sealed(text: str) -> SealedPin:
    if len(text) > _sealed_chars_max:
        raise Refused(Code.INVALID_INPUT, "the code could not be read")
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Refused(Code.INVALID_INPUT, "the code could not be read") from None
    return SealedPin(blob)


class AppCode:
    """Send the app's enrolment code, sealed, to a registered customer's phone."""

    name = "app_code"
    proof = Proof.APP

    async def run(self, ctx: Context) -> Record:
        """Check the customer and the day's count; open the code; queue it as a secret SMS."""
        party = ctx.initiator(PartyKind.CUSTOMER)
        if not party.msisdn:
            raise Refused(Code.NOT_ALLOWED, "App codes go to a customer's own phone.")
        command = ctx.command_as(commands.AppCode)
        context = commands.AppCode.context(ctx.request.id)
        try:
            code = open_pin(_sealed(command.sealed), ctx.services.transport_key, context)
        except ValueError:
            raise Refused(Code.INVALID_INPUT, "the code could not be read") from None
        if ctx.usage(party, "app_codes") >= codes_per_day:
            raise Refused(
                Code.LIMIT_EXCEEDED, f"A phone gets at most {codes_per_day} app codes a day."
            )
        ctx.count(party, "app_codes")
        note = Note(
            party.msisdn,
            party.language,
            "app.code",
            {"code": code.reveal(), "minutes": str(code_life_minutes)},
            secret=True,
        )
        response = Response(ctx.request.id, Code.OK, "The app code was sent by SMS.")
        return Record(response, party.id, notes=(note,))
