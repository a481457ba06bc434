"""Use a gift voucher: a till takes it (``redeem_gift``), or its recipient cashes it.

A till types the recipient's number and the code, or the recipient, on their own
phone, names the till and types the code; ``cash_gift`` puts it in the recipient's
wallet instead. The whole gift moves at once, out of the operator's gift account,
under the gift's lock (``gift_book.settling``): a code used twice at once pays
once. Wrong codes are counted per till (or customer) and day, so nobody can guess
codes; past the cap they cannot try again that day. No fee is charged on either
side: the buyer paid the gift's.
"""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.commands import requests as commands
from mkoba.parties import Party, PartyKind, Purpose, local_msisdn
from mkoba.processor.context import Context
from mkoba.processor.guarded import Guarded
from mkoba.processor.plan import Line, Note, Posted, Record, Refused
from mkoba.processor.request import Response
from mkoba.products import gift_book
from mkoba.products.common import display_name
from mkoba.products.gift_book import Gift
from mkoba.products.kit import Kit
from mkoba.products.transfer import collector

# Wrong gift codes one till (or one customer) may enter in one day.
misses_per_day_max = 5
_MISSES = "gift_misses"


def why_not(gift: Gift, now: int) -> str:
    """Why a gift cannot be used, in words for whoever typed its code."""
    if gift.state in (gift_book.REDEEMED, gift_book.CASHED):
        return "This gift has already been used."
    if gift.state in (gift_book.REFUNDED, gift_book.VOID):
        return "This gift has lapsed and the money has gone back to the buyer."
    if gift.purchase_status == "pending":
        return "This gift is not confirmed yet. Try again in a minute."
    if gift.purchase_status != "completed":
        return Code.VOUCHER_NOT_FOUND.message
    assert now >= gift.expires
    return "This gift has lapsed."


async def find_gift(
    ctx: Context, kit: Kit, party: Party, recipient: str, code: str
) -> Gift | Record:
    """The live gift for ``recipient`` and ``code``, typed by ``party`` (PIN checked here).

    A ``Record`` when this very request already used it (a replay after a crash).
    """
    if not (code.isdigit() and len(code) == gift_book.code_digits):
        raise Refused(
            Code.INVALID_INPUT, f"code: the {gift_book.code_digits} digits of the gift SMS"
        )
    if ctx.usage(party, _MISSES) >= misses_per_day_max:
        raise Refused(Code.NOT_ALLOWED, "Too many wrong gift codes today. Try tomorrow.")
    key = kit.key()
    await ctx.verify_pin(party)
    found = await gift_book.by_digest(ctx.services.store, gift_book.digest(key, recipient, code))
    if not found:
        ctx.count(party, _MISSES)
        raise Refused(Code.VOUCHER_NOT_FOUND, "There is no such gift for that number.")
    mine = [gift for gift in found if gift.settled_by == ctx.request.id]
    if mine:
        return _answer(ctx, party, mine[0], mine[0].settled_receipt)
    live = [gift for gift in found if gift.live(ctx.now)]
    if not live:
        raise Refused(Code.VOUCHER_NOT_FOUND, why_not(found[0], ctx.now))
    return live[0]


def _answer(ctx: Context, party: Party, gift: Gift, receipt: str) -> Record:
    local = local_msisdn(gift.recipient, ctx.profile.country)
    response = Response(
        ctx.request.id,
        Code.OK,
        f"Gift of {ctx.money(gift.amount)} for {local} ({gift.receipt}) used.",
        receipt,
        {"amount": gift.amount, "recipient": gift.recipient, "gift": gift.receipt},
    )
    return Record(response, party.id)


def _settle(
    ctx: Context, party: Party, gift: Gift, settlement: gift_book.Settlement
) -> Guarded[Gift | None]:
    def answer(settled: Gift, posted: Posted | None) -> Record:
        if posted is None:
            raise Refused(Code.VOUCHER_NOT_FOUND, why_not(settled, ctx.now))
        if not posted.ok:
            raise Refused(Code.SYSTEM_ERROR)
        return _answer(ctx, party, settled, posted.receipt)

    return gift_book.settling(ctx.services, gift, settlement, ctx.request, ctx.now, answer)


def used_note(ctx: Context, gift: Gift) -> tuple[Note, ...]:
    """The buyer's SMS that their gift was used (none for a buyer without a phone)."""
    buyer = ctx.directory.get(gift.buyer_id)
    if buyer is None or not buyer.msisdn:
        return ()
    params = {
        "amount": ctx.money(gift.amount),
        "msisdn": local_msisdn(gift.recipient, ctx.profile.country),
        "gift": gift.receipt,
    }
    return (Note(buyer.msisdn, buyer.language, "gift.used", params),)


class RedeemGift:
    """A gift pays a merchant's till: the till types number and code, or the recipient pays.

    A merchant asks with the recipient's number and the code (and the till's PIN); a
    registered recipient asks from their own phone with the till's number and the code
    (and their PIN). Either way the whole gift goes to the till.
    """

    name = "redeem_gift"

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Record | Guarded[Gift | None]:
        """Find the gift by number and code, then settle it into the till."""
        party = ctx.initiator(PartyKind.MERCHANT, PartyKind.CUSTOMER)
        command = ctx.command_as(commands.RedeemGift)
        merchant, recipient = self._sides(ctx, party, command)
        till = ctx.account(merchant, Purpose.TILL)
        found = await find_gift(ctx, self.kit, party, recipient, command.code)
        if isinstance(found, Record):
            return found
        gift = found
        local = local_msisdn(gift.recipient, ctx.profile.country)
        amount = ctx.money(gift.amount)
        buyer = ctx.directory.get(gift.buyer_id)
        owner = ctx.directory.by_msisdn(gift.recipient)
        language = owner.language if owner is not None else "en"
        if owner is None and buyer is not None:
            language = buyer.language
        params = {"amount": amount, "name": display_name(merchant)}
        notes = [
            Note(gift.recipient, language, "gift.redeemed", params),
            *used_note(ctx, gift),
        ]
        if merchant.msisdn:
            params = {"amount": amount, "msisdn": local}
            notes.insert(0, Note(merchant.msisdn, merchant.language, "gift.till", params, till))
        settlement = gift_book.Settlement(
            product=self.name,
            state=gift_book.REDEEMED,
            account=till,
            payee_id=merchant.id,
            notes=tuple(notes),
            lines=(Line(merchant.id, till, f"Gift {gift.receipt} from {local}", gift.amount),),
        )
        return _settle(ctx, party, gift, settlement)

    @staticmethod
    def _sides(ctx: Context, party: Party, command: commands.RedeemGift) -> tuple[Party, str]:
        """The till paid and the number the gift was sent to, as the asker's kind says."""
        if party.kind == PartyKind.MERCHANT:
            if not command.recipient:
                raise Refused(Code.INVALID_INPUT, "recipient: the number the gift was sent to")
            return party, command.recipient
        assert party.msisdn
        if not command.till:
            raise Refused(Code.INVALID_INPUT, "till: the till to pay")
        if command.recipient and command.recipient != party.msisdn:
            raise Refused(Code.NOT_ALLOWED, "A gift is used from the phone it was sent to.")
        merchant = collector(ctx, PartyKind.MERCHANT, command.till, Code.UNKNOWN_TILL, "this till")
        return merchant, party.msisdn


class CashGift:
    """The recipient, registered, puts a gift sent to their number into their wallet."""

    name = "cash_gift"

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    async def run(self, ctx: Context) -> Record | Guarded[Gift | None]:
        """Find the gift by the asker's number and the code, then settle it into the wallet."""
        recipient = ctx.initiator(PartyKind.CUSTOMER)
        command = ctx.command_as(commands.CashGift)
        wallet = ctx.account(recipient, Purpose.WALLET)
        assert recipient.msisdn
        found = await find_gift(ctx, self.kit, recipient, recipient.msisdn, command.code)
        if isinstance(found, Record):
            return found
        gift = found
        buyer = ctx.directory.get(gift.buyer_id)
        name = display_name(buyer) if buyer is not None else ""
        params = {"amount": ctx.money(gift.amount), "name": name}
        settlement = gift_book.Settlement(
            product=self.name,
            state=gift_book.CASHED,
            account=wallet,
            payee_id=recipient.id,
            notes=(
                Note(recipient.msisdn, recipient.language, "gift.cashed", params, wallet),
                *used_note(ctx, gift),
            ),
            lines=(Line(recipient.id, wallet, f"Gift {gift.receipt} from {name}", gift.amount),),
        )
        return _settle(ctx, recipient, gift, settlement)
