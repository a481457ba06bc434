"""Wallet administration by staff: freeze, unfreeze, and move a customer's KYC tier.

Only the operator console asks (``Proof.CONSOLE``; its policy wants a checker where
it should). A frozen wallet moves no money (``Party.active``); unfreezing makes it
active again. A tier change moves the customer's limits. Staff never act on a wallet
linked to themselves, the owner is told by SMS, and every change leaves an audit
record naming the maker and the checker.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import OPERATOR_ID, Change, Party, PartyKind, PartyState
from mkoba.processor.context import Context
from mkoba.processor.plan import Note, Record, Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products.common import by_staff, console_staff, not_their_own


def _customer(ctx: Context, msisdn: str) -> Party:
    party = ctx.directory.by_msisdn(msisdn)
    if party is None or party.kind != PartyKind.CUSTOMER:
        raise Refused(Code.NOT_REGISTERED, "That number is not a registered customer.")
    return party


class _WalletState:
    """Freeze (active to frozen) or unfreeze (frozen to active) a customer's wallet."""

    name = ""
    frozen = True
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Check the wallet's state, change it, tell the owner, audit."""
        staff = console_staff(ctx)
        command = ctx.command_as(commands.WalletState)
        party = _customer(ctx, command.customer)
        not_their_own(ctx, staff, party)
        # A dormant wallet may be frozen too (dormancy is a status, not a block).
        wanted, needed = (
            (PartyState.FROZEN, (PartyState.ACTIVE, PartyState.DORMANT))
            if self.frozen
            else (PartyState.ACTIVE, (PartyState.FROZEN,))
        )
        if party.state not in needed:
            raise Refused(
                Code.NOT_ALLOWED, f"That wallet is {party.state.value}, not {needed[0].value}."
            )
        action = "wallet_freeze" if self.frozen else "wallet_unfreeze"
        detail = by_staff(staff, reason=command.reason)
        change = Change(
            parties=(party._replace(state=wanted),),
            audit=((ctx.now, OPERATOR_ID, action, party.id, detail),),
        )
        verb = "frozen" if self.frozen else "reopened"
        template = "wallet.frozen" if self.frozen else "wallet.unfrozen"
        note = Note(party.msisdn or "", party.language, template, {})
        response = Response(ctx.request.id, Code.OK, f"The wallet of {party.name} is {verb}.")
        return Record(response, OPERATOR_ID, change, (note,) if party.msisdn else ())


class FreezeWallet(_WalletState):
    """Freeze a customer's wallet: it moves no money until unfrozen."""

    name = "freeze_wallet"
    frozen = True


class UnfreezeWallet(_WalletState):
    """Reopen a frozen wallet."""

    name = "unfreeze_wallet"
    frozen = False


class SetKycTier:
    """Move a customer to another of the profile's KYC tiers."""

    name = "set_kyc_tier"
    proof = Proof.CONSOLE

    async def run(self, ctx: Context) -> Record:
        """Check the tier, change it, tell the owner, audit."""
        staff = console_staff(ctx)
        command = ctx.command_as(commands.KycTier)
        party = _customer(ctx, command.customer)
        not_their_own(ctx, staff, party)
        tiers = ctx.profile.tiers
        if command.tier not in tiers:
            raise Refused(Code.INVALID_INPUT, f"tier: one of {', '.join(tiers)}")
        if party.kyc_tier == command.tier:
            raise Refused(Code.NOT_ALLOWED, f"That customer is on the {command.tier} tier already.")
        detail = by_staff(staff, before=party.kyc_tier or "", after=command.tier)
        change = Change(
            parties=(party._replace(kyc_tier=command.tier),),
            audit=((ctx.now, OPERATOR_ID, "kyc_tier", party.id, detail),),
        )
        note = Note(party.msisdn or "", party.language, "kyc.tier", {"tier": command.tier})
        response = Response(
            ctx.request.id, Code.OK, f"{party.name} is now on the {command.tier} tier."
        )
        return Record(response, OPERATOR_ID, change, (note,) if party.msisdn else ())
