"""Onboarding a business: agents (head office, store, assistant), super-agents, merchants
and organisations, from the operator console only (``Proof.CONSOLE``; agent network
makes, compliance checks).

Each kind gets its accounts and role, as the network is built: a head office earns
commissions, its stores hold float, an assistant serves at one store, a merchant's
till and an organisation's paybill (utility and working accounts) take payments. A
business number is unique per kind; a store's is its head office's number and its
own, e.g. ``123456/3``. A party with a phone gets a temporary PIN by SMS, to be
changed before anything else; it never reaches staff.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Credential,
    Party,
    PartyKind,
    emoney_account,
)
from mkoba.parties.holders import BUSINESSES, Business
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products.common import by_staff, console_staff, not_their_own
from mkoba.products.pin_admin import temporary_pin

name_chars_max = 80
number_chars_max = 20
TARIFFS = ("customer_bears", "business_bears", "shared")


class OnboardBusiness:
    """Add a business to the network, with its accounts, role and a temporary PIN."""

    name = "onboard_business"
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Check what is asked, then make the party, its accounts and role."""
        staff = console_staff(ctx)
        command = ctx.command_as(commands.Onboard)
        kind = BUSINESSES.get(command.kind)
        if kind is None:
            raise Refused(Code.INVALID_INPUT, f"kind: one of {', '.join(BUSINESSES)}")
        name = " ".join(command.name.split())
        if not name or len(name) > name_chars_max:
            raise Refused(Code.INVALID_INPUT, f"name: 1 to {name_chars_max} characters")
        parent = self._parent(ctx, kind, command.parent)
        number = self._number(ctx, kind, command, parent)
        phone = command.phone or None
        if kind.phone and phone is None:
            raise Refused(Code.INVALID_INPUT, "phone: the business's phone number")
        if phone is not None and ctx.directory.by_msisdn(phone) is not None:
            raise Refused(Code.NOT_ALLOWED, "That phone number is registered already.")
        tariff = command.tariff or None
        if kind.party == PartyKind.ORGANISATION:
            tariff = tariff or "customer_bears"
            if tariff not in TARIFFS:
                raise Refused(Code.INVALID_INPUT, f"tariff: one of {', '.join(TARIFFS)}")
        if parent is not None:
            not_their_own(ctx, staff, parent)
        party_id = ctx.directory.allocate_id()
        profile = ctx.profile
        party = Party(
            party_id,
            kind.party,
            name,
            phone,
            number,
            parent.id if parent is not None else 0,
            tariff=tariff,
            created=ctx.now,
        )
        accounts = tuple(
            emoney_account(party_id, purpose, profile.ledger, profile.currency.code)
            for purpose in kind.purposes
        )
        scope = parent.id if parent is not None else 0
        notes: tuple[Note, ...] = ()
        credentials: tuple[Credential, ...] = ()
        if phone is not None:
            pin = temporary_pin()
            credentials = (
                ctx.services.vault.new_credential(party_id, pin, ctx.now, must_change=True),
            )
            # An assistant serves at its store: the store's number is theirs to give.
            shown = number or (parent.number if parent is not None else None) or str(party_id)
            values = {"name": name, "number": shown, "pin": pin.reveal()}
            notes = (Note(phone, "en", "business.welcome", values, secret=True),)
        detail = by_staff(staff, kind=command.kind, number=number or "")
        change = Change(
            parties=(party,),
            accounts=tuple(
                (party_id, purpose, account.id)
                for purpose, account in zip(kind.purposes, accounts, strict=True)
            ),
            roles=((party_id, kind.role, scope),),
            credentials=credentials,
            audit=((ctx.now, OPERATOR_ID, "onboard", party_id, detail),),
        )
        response = Response(
            ctx.request.id,
            Code.OK,
            f"{name} is onboarded as {command.kind.replace('_', ' ')} {number or party_id}.",
            None,
            {"party_id": party_id, "number": number or ""},
        )
        return Record(response, OPERATOR_ID, change, notes, accounts=accounts)

    @staticmethod
    def _parent(ctx: Context, kind: Business, number: str) -> Party | None:
        if kind.parent is None:
            if number:
                raise Refused(Code.INVALID_INPUT, "parent: only stores and assistants have one")
            return None
        found = ctx.directory.by_number(kind.parent, number) if number else None
        if found is None or not found.active:
            raise Refused(Code.UNKNOWN_AGENT, "parent: the head office's (or store's) number")
        return found

    @staticmethod
    def _number(
        ctx: Context, kind: Business, command: commands.Onboard, parent: Party | None
    ) -> str | None:
        if kind.party == PartyKind.AGENT_ASSISTANT:
            return None
        if kind.party == PartyKind.AGENT_STORE:
            assert parent is not None and parent.number
            index = len(ctx.directory.children(parent.id, PartyKind.AGENT_STORE)) + 1
            while ctx.directory.by_number(PartyKind.AGENT_STORE, f"{parent.number}/{index}"):
                index += 1
            return f"{parent.number}/{index}"
        number = command.number.strip().upper()
        if not number or len(number) > number_chars_max or not number.isalnum():
            raise Refused(Code.INVALID_INPUT, "number: the business number, letters and digits")
        if ctx.directory.by_number(kind.party, number) is not None:
            raise Refused(Code.NOT_ALLOWED, f"{number} is taken already.")
        return number
