"""An agent registers a customer at the store, capturing the ID number, as M-Pesa agents do.

The agent store's operator or assistant asks from their own phone with their own
PIN, for a customer standing at the counter: the customer's number, name and ID
document number. The wallet opens at once (on the profile's tier), so the agent can
take a first deposit, but it has **no PIN**: nothing can be spent from it until the
customer sets one.

Why no PIN from the agent, and none by SMS: a PIN anyone else typed or read is not
the customer's secret (DESIGN.md, "PINs and secrets"). A temporary PIN in an SMS is
readable in the inbox and by whoever holds the phone; a PIN typed on the agent's
phone is known to the agent. So the customer sets the first PIN themselves, from
their own phone (``pin_unlock_self``: the network proves the number, the ID number
the agent saw must match its keyed digest, three wrong a day, the new PIN sealed at
the edge): the same PIN Manager that replaces a forgotten PIN. The welcome SMS says
how, and carries no secret.

Refused: a number already registered, a malformed ID number or name, an agent
registering their own phone or their own ID document, an agent (or a store) that is
suspended. The registering operator and store are recorded with the party's audit
entry (for commission and investigation), and the ID number is kept only as its
keyed digest.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Change, PartyKind, PartyState, Purpose, Role, local_msisdn
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.request import Response
from mkoba.products.common import display_name, store_of
from mkoba.products.register import (
    language_and_tier,
    name_length_max,
    new_customer,
    wallet_account,
)

# An ID document number: letters and digits, this long (a Kenyan ID has 7 or 8 digits,
# a passport letters and digits).
id_chars_min = 5
id_chars_max = 20


class RegisterCustomer:
    """An agent store's operator or assistant registers a customer; the customer sets the PIN."""

    name = "register_customer"

    async def run(self, ctx: Context) -> Record:
        """Check the agent and the customer's details, then open a wallet with no PIN yet."""
        operator = ctx.initiator(PartyKind.AGENT_STORE, PartyKind.AGENT_ASSISTANT)
        if operator.kind == PartyKind.AGENT_ASSISTANT:
            # An assistant of a suspended store is told so (``store_of`` only says "no").
            parent = ctx.directory.get(operator.parent_id)
            if parent is not None and parent.kind == PartyKind.AGENT_STORE and not parent.active:
                raise Refused(Code.ACCOUNT_INACTIVE, "This agent store is suspended.")
        store = store_of(ctx, operator)
        command = ctx.command_as(commands.AgentRegister)
        msisdn = command.customer
        if msisdn in (operator.msisdn, store.msisdn):
            raise Refused(Code.NOT_ALLOWED, "An agent cannot register their own number.")
        existing = ctx.directory.by_msisdn(msisdn)
        if existing is not None and existing.state != PartyState.UNREGISTERED:
            raise Refused(Code.ALREADY_REGISTERED, "That number is registered already.")
        name = " ".join(command.name.split())
        if (
            not name
            or len(name) > name_length_max
            or not all(c.isalpha() or c in " '-." for c in name)
        ):
            raise Refused(Code.INVALID_INPUT, "name: letters, spaces, ' - and . only")
        id_number = command.id_number.strip().upper()
        if (
            not (id_chars_min <= len(id_number) <= id_chars_max)
            or not id_number.isascii()
            or not id_number.isalnum()
        ):
            raise Refused(
                Code.INVALID_INPUT,
                f"id_number: {id_chars_min} to {id_chars_max} letters and digits",
            )
        vault = ctx.services.vault
        for own in (operator, store):
            if own.id_digest is not None and vault.id_matches(own.id_digest, id_number):
                raise Refused(Code.NOT_ALLOWED, "An agent cannot register themselves.")
        language, tier = language_and_tier(ctx, command.language, command.tier)
        await ctx.verify_pin(operator)
        party_id = existing.id if existing is not None else ctx.directory.allocate_id()
        wallet = wallet_account(ctx, party_id, tier)
        party = new_customer(ctx, party_id, msisdn, name, tier, language, id_number)
        detail = {"tier": tier, "agent": operator.id, "store": store.id}
        change = Change(
            parties=(party,),
            accounts=((party_id, Purpose.WALLET, wallet.id),),
            roles=((party_id, Role.CUSTOMER, 0),),
            # No credential: the customer sets the first PIN from their own phone.
            audit=((ctx.now, operator.id, "register_customer", party_id, detail),),
        )
        agent = display_name(store)
        response = Response(
            ctx.request.id,
            Code.OK,
            f"{name} is registered. They set their PIN from their own phone.",
            None,
            {"party_id": party_id, "tier": tier, "store": store.id, "agent": operator.id},
        )
        notes = (
            Note(msisdn, language, "registered.by_agent", {"name": name.upper(), "agent": agent}),
            Note(
                operator.msisdn or "",
                operator.language,
                "registered.agent",
                {"name": name.upper(), "msisdn": local_msisdn(msisdn, ctx.profile.country)},
            ),
        )
        return Record(
            response,
            party_id,
            change,
            tuple(note for note in notes if note.recipient),
            accounts=(wallet,),
        )
