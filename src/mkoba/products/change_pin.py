"""Change PIN: the old PIN (the request's ``pin``) and a new one (its ``new_pin``)."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.parties import Change, is_weak
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.request import Response


class ChangePin:
    """M-Pesa's "Change PIN": needs the current PIN, refuses weak new ones."""

    name = "change_pin"

    async def run(self, ctx: Context) -> Record:
        """Verify the old PIN, then store the new verifier and tell the owner by SMS."""
        party = ctx.initiator()
        new_pin = ctx.new_pin()
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
