"""PIN administration: staff unlock and reset; customers unlock themselves with their ID.

M-Pesa locks a PIN after the profile's wrong tries (5). Customer care, in the
operator console (``Proof.CONSOLE``; its policy wants a checker), may unlock it or
reset it to a temporary PIN sent by SMS, which must be changed before anything
else (``Context.verify_pin`` refuses every product but ``change_pin`` until then).
A customer may also unlock by self-service, with the ID number they registered with
(checked against its keyed digest, a few tries a day) and a new PIN. Staff never
act on a wallet linked to themselves; a staff party's PIN is unlocked from the
server's command line only. Every change leaves an audit record.
"""

from __future__ import annotations

import secrets

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Credential,
    Party,
    PartyKind,
    Pin,
    is_weak,
)
from mkoba.parties.resets import PIN_RESET_ACTION
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response, Staff
from mkoba.products.common import by_staff, console_staff, not_their_own

# Wrong ID numbers a party may give in one day before self-service stops for the day.
id_checks_per_day_max = 3
temporary_pin_digits = 4
_ID_CHECKS = "id_checks"


def _subject(ctx: Context, staff: Staff) -> tuple[Party, Credential]:
    """The party whose PIN staff act on, and its credential."""
    target = ctx.directory.by_msisdn(ctx.command_as(commands.CustomerPin).customer)
    if target is None:
        raise Refused(Code.NOT_REGISTERED, "That number is not registered.")
    if target.kind == PartyKind.STAFF:
        raise Refused(
            Code.NOT_ALLOWED, "A staff PIN is unlocked from the server's command line only."
        )
    not_their_own(ctx, staff, target)
    credential = ctx.directory.credentials.get(target.id)
    if credential is None:
        raise Refused(Code.PIN_NOT_SET, "That account has no PIN yet.")
    return target, credential


def temporary_pin() -> Pin:
    """A random PIN that is not one of the easy ones."""
    while True:
        pin = Pin(f"{secrets.randbelow(10**temporary_pin_digits):0{temporary_pin_digits}d}")
        if not is_weak(pin):
            return pin


class UnlockPin:
    """Staff unlock a locked PIN; the wrong-try count starts again."""

    name = "unlock_pin"
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Unlock, audit, and tell the owner by SMS."""
        staff = console_staff(ctx)
        target, credential = _subject(ctx, staff)
        if not credential.locked:
            raise Refused(Code.NOT_ALLOWED, "That PIN is not locked.")
        change = Change(
            credentials=(credential._replace(failed_attempts=0, locked=False),),
            audit=((ctx.now, OPERATOR_ID, "pin_unlock", target.id, by_staff(staff)),),
        )
        response = Response(ctx.request.id, Code.OK, f"The PIN of {target.name} is unlocked.")
        notes = (Note(target.msisdn or "", target.language, "pin.unlocked", {}),)
        return Record(response, OPERATOR_ID, change, notes if target.msisdn else ())


class OperatorUnlock:
    """The operator unlocks a staff member's PIN from the server's command line.

    Anyone who knows a staff number can lock that PIN with wrong tries, and care
    may not unlock staff; without this, locking the only admin would be for good.
    Customers keep M-Pesa's rule: care, or their ID number, unlocks them.
    """

    name = "operator_unlock"
    proof = Proof.OPERATOR

    async def run(self, ctx: Context) -> Record:
        """Unlock, audit (who ran the command), and tell the staff member by SMS."""
        command = ctx.command_as(commands.OperatorUnlock)
        target = ctx.directory.by_msisdn(command.staff)
        if target is None or target.kind != PartyKind.STAFF:
            raise Refused(
                Code.NOT_ALLOWED,
                "Only staff are unlocked here; customer care or the ID number unlock customers.",
            )
        credential = ctx.directory.credentials.get(target.id)
        if credential is None:
            raise Refused(Code.PIN_NOT_SET, "That staff member has no PIN yet.")
        if not credential.locked:
            raise Refused(Code.INVALID_INPUT, "That PIN is not locked.")
        detail: dict[str, object] = {
            "by": "command line",
            "user": command.user or "?",
        }
        change = Change(
            credentials=(credential._replace(failed_attempts=0, locked=False),),
            audit=((ctx.now, target.id, "pin_unlock", target.id, detail),),
        )
        response = Response(ctx.request.id, Code.OK, f"The PIN of {target.name} is unlocked.")
        notes = (Note(target.msisdn or "", target.language, "pin.unlocked", {}),)
        return Record(response, target.id, change, notes if target.msisdn else ())


class ResetPin:
    """Staff reset a PIN to a temporary one, sent to the owner by SMS, to be changed at once."""

    name = "reset_pin"
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Reset, audit, and send the temporary PIN to the owner's phone (never to staff)."""
        staff = console_staff(ctx)
        target, _ = _subject(ctx, staff)
        if not target.msisdn:
            raise Refused(Code.NOT_ALLOWED, "That account has no phone to send a PIN to.")
        risk = ctx.services.risk
        if risk is not None:  # R6: not for a number whose SIM changed within the cool-off
            verdict = await risk.check_reset(target.msisdn, target.id, ctx.profile, ctx.now)
            if verdict.action != "allow":
                raise Refused(Code.REFUSED_FOR_SECURITY, verdict.message)
        pin = temporary_pin()
        credential = ctx.services.vault.new_credential(target.id, pin, ctx.now, must_change=True)
        change = Change(
            credentials=(credential,),
            audit=((ctx.now, OPERATOR_ID, PIN_RESET_ACTION, target.id, by_staff(staff)),),
        )
        response = Response(
            ctx.request.id,
            Code.OK,
            f"The PIN of {target.name} is reset; a temporary PIN was sent to their phone.",
        )
        # The temporary PIN reaches only the owner's phone: it is in this SMS and nowhere else.
        note = Note(target.msisdn, target.language, "pin.reset", {"pin": pin.reveal()}, secret=True)
        return Record(response, OPERATOR_ID, change, (note,))


class PinUnlockSelf:
    """M-Pesa's PIN Manager: unlock (or replace a forgotten PIN) with the ID number."""

    name = "pin_unlock_self"
    # There is no PIN to give (that is the point): only the phone itself may ask.
    proof = Proof.NETWORK

    async def run(self, ctx: Context) -> Record:
        """Check the ID number (a few tries a day), then set the new PIN."""
        party = ctx.initiator(PartyKind.CUSTOMER)
        if ctx.usage(party, _ID_CHECKS) >= id_checks_per_day_max:
            raise Refused(
                Code.NOT_ALLOWED, "Too many wrong ID numbers today. Call customer care on 100."
            )
        new_pin = ctx.new_pin()
        id_number = ctx.command_as(commands.PinUnlockSelf).id_number
        if party.id_digest is None:
            raise Refused(Code.NOT_ALLOWED, "There is no ID on record. Call customer care on 100.")
        if not ctx.services.vault.id_matches(party.id_digest, id_number):
            ctx.count(party, _ID_CHECKS)
            raise Refused(Code.NOT_ALLOWED, "That ID number does not match our records.")
        if is_weak(new_pin):
            raise Refused(Code.WEAK_PIN)
        credential = ctx.services.vault.new_credential(party.id, new_pin, ctx.now)
        change = Change(
            credentials=(credential,),
            audit=((ctx.now, party.id, "pin_unlock_self", party.id, {"by": "id_number"}),),
        )
        response = Response(ctx.request.id, Code.OK, "Your new PIN is set and your account open.")
        notes = (Note(party.msisdn or "", party.language, "pin.unlocked_self", {}),)
        return Record(response, party.id, change, notes if party.msisdn else ())
