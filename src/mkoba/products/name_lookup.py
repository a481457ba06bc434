"""Name look-up before paying (M-Pesa's Hakikisha): a masked name, a few times a day."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind, PartyState, mask_msisdn
from mkoba.processor.context import Context
from mkoba.processor.plan import Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products.common import masked

_KINDS = {
    "till": PartyKind.MERCHANT,
    "paybill": PartyKind.ORGANISATION,
}


# Rule R11 (the profile's ``risk``): past the daily cap, look-ups lock for its hours.
LOCKOUT = "lookup_lockout"
LOCKED = "You have checked too many names. Name checks are locked for a while; you can still pay."


class NameLookup:
    """Who a payer is about to pay, masked, counted against a daily cap."""

    name = "name_lookup"
    # It spends the phone's daily look-ups: only the phone (or its PIN) may.
    proof = Proof.PHONE

    async def run(self, ctx: Context) -> Response:
        """The masked name for a number, a till, a paybill or an agent store."""
        party = ctx.initiator()
        await ctx.authenticate(party)
        command = ctx.command_as(commands.NameLookup)
        kind = command.kind
        used = ctx.usage(party, "lookups")
        if ctx.marked(party, LOCKOUT, days=2) > ctx.now:  # R11: a lockout runs its hours
            raise Refused(Code.NAME_LOOKUP_LIMIT, LOCKED)
        if used >= ctx.profile.name_lookups_per_day:
            rules = ctx.profile.risk
            if rules is not None and rules.R11.enabled:
                ctx.mark(party, LOCKOUT, ctx.now + rules.R11.lockout_hours * 3_600_000_000_000)
                raise Refused(Code.NAME_LOOKUP_LIMIT, LOCKED)
            raise Refused(Code.NAME_LOOKUP_LIMIT)
        found = self._find(ctx, command)
        # Every look-up counts, found or not: the cap is against enumeration.
        ctx.count(party, "lookups")
        if found is None:
            code = {
                "till": Code.UNKNOWN_TILL,
                "paybill": Code.UNKNOWN_PAYBILL,
                "agent": Code.UNKNOWN_AGENT,
            }.get(kind, Code.RECIPIENT_NOT_REGISTERED)
            raise Refused(code)
        ctx.looked_up(found.id)
        name = masked(found)
        number = mask_msisdn(found.msisdn, ctx.profile.country) if found.msisdn else ""
        left = ctx.profile.name_lookups_per_day - used - 1
        return Response(
            ctx.request.id,
            Code.OK,
            name,
            None,
            {"name": name, "number": number, "lookups_left": left},
        )

    def _find(self, ctx: Context, command: commands.NameLookup) -> Party | None:
        kind = command.kind
        if kind == "msisdn":
            target = ctx.directory.by_msisdn(command.number)
            if target is None or target.state == PartyState.UNREGISTERED:
                return None
            return target
        if kind == "agent":
            number = f"{command.number}/{command.store or '1'}"
            return ctx.directory.by_number(PartyKind.AGENT_STORE, number)
        if kind not in _KINDS:
            raise Refused(Code.INVALID_INPUT, "kind: msisdn, till, paybill or agent")
        return ctx.directory.by_number(_KINDS[kind], command.number)
