"""Register a customer: a party, a wallet within the tier's limits, a PIN, a welcome SMS."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.ledger import Account
from mkoba.parties import (
    Change,
    Party,
    PartyKind,
    PartyState,
    Purpose,
    Role,
    emoney_account,
    is_weak,
    open_pin,
)
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response

name_length_max = 80
LANGUAGES = ("en", "sw")


def wallet_account(ctx: Context, party_id: int, tier: str) -> Account:
    """A customer wallet: may not go below zero nor above the tier's maximum balance."""
    limits = ctx.profile.limits(tier)
    profile = ctx.profile
    return emoney_account(
        party_id, Purpose.WALLET, profile.ledger, profile.currency.code, limits.balance_max
    )


def language_and_tier(ctx: Context, language: str | None, tier: str | None) -> tuple[str, str]:
    """A new customer's language and KYC tier (the profile's top tier by default), checked."""
    language = language or "en"
    if language not in LANGUAGES:
        raise Refused(Code.INVALID_INPUT, f"language: one of {', '.join(LANGUAGES)}")
    tier = tier or ctx.profile.tiers[-1]
    if tier not in ctx.profile.tiers:
        raise Refused(Code.INVALID_INPUT, f"tier: one of {', '.join(ctx.profile.tiers)}")
    return language, tier


def new_customer(
    ctx: Context, party_id: int, msisdn: str, name: str, tier: str, language: str, id_number: str
) -> Party:
    """An active customer on ``msisdn``, with only its ID number's keyed digest."""
    return Party(
        party_id,
        PartyKind.CUSTOMER,
        name,
        msisdn,
        None,
        0,
        PartyState.ACTIVE,
        tier,
        language,
        None,
        ctx.now,
        ctx.services.vault.id_digest(id_number),
    )


class Register:
    """Self-registration with a name, an ID number and a first PIN (the request's PIN)."""

    name = "register"
    # A new wallet on a number: only that number's phone may open it (the PIN it
    # brings is the first PIN, not a proof).
    proof = Proof.NETWORK

    async def run(self, ctx: Context) -> Record:
        """Open the wallet, then record the party, its role and its PIN together."""
        msisdn = ctx.request.msisdn
        existing = ctx.directory.by_msisdn(msisdn)
        if existing is not None and existing.state != PartyState.UNREGISTERED:
            raise Refused(Code.ALREADY_REGISTERED)
        command = ctx.command_as(commands.Register)
        name = " ".join(command.name.split())
        if len(name) > name_length_max or not all(c.isalpha() or c in " '-." for c in name):
            raise Refused(Code.INVALID_INPUT, "name: letters, spaces, ' - and . only")
        id_number = command.id_number
        if not id_number.isalnum() or len(id_number) > 20:
            raise Refused(Code.INVALID_INPUT, "id_number: letters and digits only")
        language, tier = language_and_tier(ctx, command.language, command.tier)
        if ctx.request.pin is None:
            raise Refused(Code.INVALID_INPUT, "choose a PIN")
        try:
            pin = open_pin(ctx.request.pin, ctx.services.transport_key, ctx.request.id.encode())
        except ValueError:
            raise Refused(Code.INVALID_INPUT, "the PIN could not be read") from None
        if is_weak(pin):
            raise Refused(Code.WEAK_PIN)
        party_id = existing.id if existing is not None else ctx.directory.allocate_id()
        wallet = wallet_account(ctx, party_id, tier)
        party = new_customer(ctx, party_id, msisdn, name, tier, language, id_number)
        credential = ctx.services.vault.new_credential(party_id, pin, ctx.now)
        change = Change(
            parties=(party,),
            accounts=((party_id, Purpose.WALLET, wallet.id),),
            roles=((party_id, Role.CUSTOMER, 0),),
            credentials=(credential,),
            audit=((ctx.now, party_id, "register", party_id, {"tier": tier}),),
        )
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Welcome, {name}. Your wallet is ready.",
            None,
            {"party_id": party_id, "tier": tier},
        )
        note = Note(msisdn, language, "registered", {"name": name.upper()})
        return Record(response, party_id, change, (note,), accounts=(wallet,))
