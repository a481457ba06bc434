"""Change PIN: the old PIN (the request's) and a new one (sealed in ``sealed_new_pin``)."""

from __future__ import annotations

import base64
import binascii

from mkoba.codes import Code
from mkoba.parties import Change, SealedPin, is_weak, open_pin
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.request import Response


class ChangePin:
    """M-Pesa's "Change PIN": needs the current PIN, refuses weak new ones."""

    name = "change_pin"

    async def run(self, ctx: Context) -> Record:
        """Verify the old PIN, then store the new verifier and tell the owner by SMS."""
        party = ctx.initiator()
        try:
            blob = base64.b64decode(ctx.param("sealed_new_pin"), validate=True)
            new_pin = open_pin(
                SealedPin(blob), ctx.services.transport_key, ctx.request.id.encode() + b":new"
            )
        except (ValueError, binascii.Error):
            raise Refused(Code.INVALID_INPUT, "the new PIN could not be read") from None
        await ctx.verify_pin(party)
        if is_weak(new_pin):
            raise Refused(Code.WEAK_PIN)
        credential = ctx.services.vault.new_credential(party.id, new_pin, ctx.now)
        change = Change(
            credentials=(credential,),
            audit=((ctx.now, party.id, "pin_change", party.id, {}),),
        )
        response = Response(ctx.request.id, Code.OK, "Your PIN has been changed.")
        note = Note(party.msisdn or "", party.language, "pin_changed", {})
        return Record(response, party.id, change, (note,) if party.msisdn else ())
