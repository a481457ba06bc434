"""Transaction status: what became of a transaction a business took part in.

Found by its receipt, or by the request that made it (Daraja's
``OriginatorConversationID``, which the channel turns into the request id). A
business sees only transactions it paid or was paid by; any other receipt is
unknown to it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.parties import Party, PartyKind
from mkoba.processor import history
from mkoba.processor.context import Context
from mkoba.processor.plan import Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.processor.status import Status
from mkoba.products.business.common import business, check_channel, public_name

_STATUS = {
    "completed": "Completed",
    "pending": "Pending",
    "rolled_back": "Failed",
    "failed": "Failed",
}
_REASONS = {
    "b2c": "Business Payment to Customer via API",
    "b2b": "Business Pay Bill",
    "tax_remittance": "Pay Tax to KRA",
    "pay_bill": "Pay Bill Online",
    "buy_goods": "Pay Merchant",
    "send_money": "Customer Transfer",
    "business_reversal": "Reversal",
}
# Products whose completed receipts undo another (theirs names it in ``reference``).
REVERSALS = ("business_reversal", "reversal")


def _account_type(party: Party | None, product: str) -> str:
    if party is None or party.kind == PartyKind.CUSTOMER:
        return "Customer Account"
    if party.kind == PartyKind.MERCHANT:
        return "Merchant Account"
    return "Utility Account" if product == "b2c" else "Working Account"


class TransactionStatus:
    """Daraja's ``TransactionStatusQuery``."""

    name = "transaction_status"
    proof = Proof.BUSINESS

    async def run(self, ctx: Context) -> Response:
        """The transaction's parties, amounts, times and status."""
        check_channel(ctx)
        asked = ctx.command_as(commands.TransactionStatus)
        party = business(ctx, asked.shortcode)
        receipt, request = asked.receipt, asked.request
        if not receipt and not request:
            raise Refused(Code.INVALID_INPUT, "give a receipt or the request that made it")
        found = await self._find(ctx, receipt, request)
        if found is None or party.id not in (found.payer_id, found.payee_id):
            raise Refused(Code.UNKNOWN_RECEIPT)
        status = _STATUS.get(found.status, "Failed")
        reversed_by = await asyncio.to_thread(
            history.reversals_of, ctx.services.store, found.receipt, REVERSALS, (Status.COMPLETED,)
        )
        if reversed_by:
            status = "Reversed"
        payer = ctx.directory.get(found.payer_id)
        payee = ctx.directory.get(found.payee_id)
        product = found.product
        data: dict[str, Any] = {
            "receipt": found.receipt,
            "request": found.request_id,
            "product": product,
            "status": status,
            "amount": found.amount,
            "charges": found.fee + found.business_fee,
            "reference": found.reference,
            "initiated": found.created,
            "finalised": found.completed or found.created,
            "debit_party": public_name(payer) if payer else "",
            "credit_party": public_name(payee) if payee else "",
            "debit_account_type": _account_type(payer, product),
            "reason_type": _REASONS.get(product, product.replace("_", " ").title()),
        }
        return Response(ctx.request.id, Code.OK, f"{found.receipt} {status}.", None, data)

    async def _find(self, ctx: Context, receipt: str, request: str) -> history.Receipt | None:
        if receipt:
            return await asyncio.to_thread(history.receipt, ctx.services.store, receipt)
        return await asyncio.to_thread(history.receipt_of_request, ctx.services.store, request)
