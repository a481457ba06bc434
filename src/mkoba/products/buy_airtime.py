"""Buy airtime for oneself or another number: the wallet pays, the operator tops up.

The money is reserved first (``Plan.effect``); then the airtime gateway tops the
line up; only then does the money move to the operator's airtime account. If
the gateway refuses or fails, the reservation is voided and the customer is
told ``AIRTIME_FAILED``: no airtime, no money.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import OPERATOR_ID, PartyKind, Purpose, local_msisdn
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Line, Note, Plan, Refused
from mkoba.processor.services import Services
from mkoba.products.common import display_name, display_number, fee_legs, offered
from mkoba.products.kit import Kit

AIRTIME = Services.operator_account(Purpose.AIRTIME)


class BuyAirtime:
    """M-Pesa's "Buy Airtime": free, for "My Phone" or "Other Phone"."""

    name = "buy_airtime"

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Plan:
        """Check, then plan the payment with the top-up as its effect."""
        offered(ctx, self.name)
        payer = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.BuyAirtime)
        to = command.to or payer.msisdn or ""
        amount = command.amount
        ctx.check_limits(payer, self.name, amount)
        fee = ctx.profile.fee(self.name, amount).customer
        gateway = self.kit.airtime
        if gateway is None:
            raise Refused(
                Code.AIRTIME_FAILED, "Airtime cannot be bought right now; no money moved."
            )
        await ctx.verify_pin(payer)
        source = ctx.account(payer, Purpose.WALLET)
        reference = ctx.request.id
        local = local_msisdn(to, ctx.profile.country)

        async def top_up() -> bool:
            return await gateway.top_up(to, amount, reference)

        own = to == payer.msisdn
        notes = [
            Note(
                payer.msisdn or "",
                payer.language,
                "buy_airtime.self" if own else "buy_airtime.other",
                {"amount": ctx.money(amount), "msisdn": local, "fee": ctx.money(fee)},
                source,
            )
        ]
        if not own:
            recipient = ctx.directory.by_msisdn(to)
            notes.append(
                Note(
                    to,
                    recipient.language if recipient is not None else payer.language,
                    "buy_airtime.recipient",
                    {
                        "amount": ctx.money(amount),
                        "name": display_name(payer),
                        "msisdn": display_number(ctx, payer),
                    },
                )
            )
        excise = ctx.profile.excise(fee)
        return Plan(
            product=self.name,
            payer_id=payer.id,
            payee_id=OPERATOR_ID,
            amount=amount,
            legs=(Leg(source, AIRTIME, amount), *fee_legs(source, fee, excise)),
            fee=fee,
            excise=excise,
            reference=to,
            notes=tuple(notes),
            lines=(Line(payer.id, source, f"Airtime for {local}", -(amount + fee)),),
            usage=amount,
            balance_of=source,
            message=f"{ctx.money(amount)} of airtime bought for {local}.",
            effect=top_up,
            effect_failed=Code.AIRTIME_FAILED,
            data={"amount": amount, "fee": fee, "to": to},
        )
