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
from mkoba.parties import Party, PartyKind
from mkoba.processor.context import Context
from mkoba.processor.plan import Refused
from mkoba.processor.proof import Proof
from mkoba.processor.request import Response
from mkoba.products.business.common import business, check_channel, public_name

_COLUMNS = (
    "receipt",
    "request_id",
    "product",
    "status",
    "payer_id",
    "payee_id",
    "amount",
    "fee",
    "business_fee",
    "reference",
    "created",
    "completed",
)
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
        party = business(ctx, ctx.param("shortcode"))
        receipt = ctx.param("receipt", required=False)
        request = ctx.param("request", required=False)
        if not receipt and not request:
            raise Refused(Code.INVALID_INPUT, "give a receipt or the request that made it")
        found = await self._find(ctx, receipt, request)
        if found is None or party.id not in (int(found["payer_id"]), int(found["payee_id"])):
            raise Refused(Code.UNKNOWN_RECEIPT)
        status = _STATUS.get(str(found["status"]), "Failed")
        reversed_by = await asyncio.to_thread(
            ctx.services.store.query,
            "SELECT receipt FROM receipts WHERE reference = ? AND status = 'completed'"
            f" AND product IN ({', '.join('?' * len(REVERSALS))})",
            (found["receipt"], *REVERSALS),
        )
        if reversed_by:
            status = "Reversed"
        payer = ctx.directory.get(int(found["payer_id"]))
        payee = ctx.directory.get(int(found["payee_id"]))
        product = str(found["product"])
        data: dict[str, Any] = {
            "receipt": found["receipt"],
            "request": found["request_id"],
            "product": product,
            "status": status,
            "amount": int(found["amount"]),
            "charges": int(found["fee"]) + int(found["business_fee"]),
            "reference": found["reference"],
            "initiated": int(found["created"]),
            "finalised": int(found["completed"]) or int(found["created"]),
            "debit_party": public_name(payer) if payer else "",
            "credit_party": public_name(payee) if payee else "",
            "debit_account_type": _account_type(payer, product),
            "reason_type": _REASONS.get(product, product.replace("_", " ").title()),
        }
        return Response(ctx.request.id, Code.OK, f"{found['receipt']} {status}.", None, data)

    async def _find(self, ctx: Context, receipt: str, request: str) -> dict[str, Any] | None:
        column, value = ("receipt", receipt) if receipt else ("request_id", request)
        rows = await asyncio.to_thread(
            ctx.services.store.query,
            f"SELECT {', '.join(_COLUMNS)} FROM receipts WHERE {column} = ?"
            " ORDER BY created DESC LIMIT 1",
            (value,),
        )
        return dict(zip(_COLUMNS, rows[0], strict=True)) if rows else None
