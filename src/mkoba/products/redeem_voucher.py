"""Cash a voucher at an agent: the voucher's money to the store's float; the agent pays out cash.

The agent types the recipient's number and the code from their SMS (and checks
their ID). Wrong codes are counted per store and day, so nobody can guess
codes at a counter; past the cap the store cannot try again that day.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind, Purpose, local_msisdn
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded
from mkoba.processor.plan import Line, Note, Posted, Record, Refused
from mkoba.processor.request import Response
from mkoba.products import voucher_book
from mkoba.products.common import display_name, store_of
from mkoba.products.kit import Kit
from mkoba.products.voucher_book import Voucher

# Wrong voucher codes a store may enter in one day.
misses_per_day_max = 5
_MISSES = "voucher_misses"


def _why_not(voucher: Voucher, now: int) -> str:
    """Why a voucher cannot be cashed, in words for the agent."""
    if voucher.state == voucher_book.REDEEMED:
        return "This voucher has already been collected."
    if voucher.state in (voucher_book.REFUNDED, voucher_book.VOID):
        return "This voucher has lapsed and the money has gone back to the sender."
    if voucher.state == voucher_book.CREDITED:
        return "The recipient has registered and the money is already in their account."
    if voucher.send_status == "pending":
        return "This voucher is not confirmed yet. Try again in a minute."
    if voucher.send_status != "completed":
        return Code.VOUCHER_NOT_FOUND.message
    assert now >= voucher.expires
    return "This voucher has lapsed."


class RedeemVoucher:
    """An agent store (or its assistant) pays out a voucher in cash."""

    name = "redeem_voucher"

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Record | Guarded[Voucher | None]:
        """Find the voucher by number and code, then settle it into the store's float."""
        operator = ctx.initiator(PartyKind.AGENT_STORE, PartyKind.AGENT_ASSISTANT)
        store = store_of(ctx, operator)
        command = ctx.command_as(commands.RedeemVoucher)
        code = command.code
        if not (code.isdigit() and len(code) == voucher_book.code_digits):
            raise Refused(
                Code.INVALID_INPUT,
                f"code: the {voucher_book.code_digits} digits of the voucher SMS",
            )
        recipient = command.recipient
        if ctx.usage(store, _MISSES) >= misses_per_day_max:
            raise Refused(
                Code.NOT_ALLOWED, "Too many wrong voucher codes at this store today. Try tomorrow."
            )
        key = self.kit.key()
        await ctx.verify_pin(operator)
        found = await voucher_book.by_digest(
            ctx.services.store, voucher_book.digest(key, recipient, code)
        )
        if not found:
            ctx.count(store, _MISSES)
            raise Refused(Code.VOUCHER_NOT_FOUND)
        mine = [v for v in found if v.settled_by == ctx.request.id]
        if mine:
            # A replay of a redemption whose answer was not recorded (a crash in between).
            return self._record(ctx, operator, mine[0], mine[0].settled_receipt)
        live = [v for v in found if v.live(ctx.now)]
        if not live:
            raise Refused(Code.VOUCHER_NOT_FOUND, _why_not(found[0], ctx.now))
        voucher = live[0]
        settlement = self._settlement(ctx, store, voucher)

        def answer(settled: Voucher, posted: Posted | None) -> Record:
            if posted is None:
                raise Refused(Code.VOUCHER_NOT_FOUND, _why_not(settled, ctx.now))
            if not posted.ok:
                raise Refused(Code.SYSTEM_ERROR)
            return self._record(ctx, operator, settled, posted.receipt)

        return voucher_book.settling(
            ctx.services, voucher, settlement, ctx.request, ctx.now, answer
        )

    def _settlement(self, ctx: Context, store: Party, voucher: Voucher) -> voucher_book.Settlement:
        float_account = ctx.account(store, Purpose.FLOAT)
        local = local_msisdn(voucher.recipient, ctx.profile.country)
        amount = ctx.money(voucher.amount)
        payer = ctx.directory.get(voucher.payer_id)
        notes = [
            Note(
                store.msisdn or "",
                store.language,
                "voucher.agent",
                {"amount": amount, "msisdn": local, "voucher": voucher.receipt},
                float_account,
            ),
            Note(
                voucher.recipient,
                payer.language if payer is not None else "en",
                "voucher.redeemed",
                {
                    "amount": amount,
                    "agent": display_name(store),
                    "name": display_name(payer) if payer is not None else "",
                },
            ),
        ]
        notes.extend(voucher_book.collected(ctx.services, payer, voucher, amount, local))
        return voucher_book.Settlement(
            product=self.name,
            state=voucher_book.REDEEMED,
            account=float_account,
            payee_id=store.id,
            notes=tuple(notes),
            lines=(
                Line(
                    store.id,
                    float_account,
                    f"Voucher {voucher.receipt} for {local}",
                    voucher.amount,
                ),
            ),
        )

    def _record(self, ctx: Context, operator: Party, voucher: Voucher, receipt: str) -> Record:
        local = local_msisdn(voucher.recipient, ctx.profile.country)
        response = Response(
            ctx.request.id,
            Code.OK,
            f"Give {ctx.money(voucher.amount)} cash to {local} for voucher {voucher.receipt}.",
            receipt,
            {"amount": voucher.amount, "recipient": voucher.recipient, "voucher": voucher.receipt},
        )
        return Record(response, operator.id)
