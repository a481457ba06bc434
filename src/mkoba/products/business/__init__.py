"""Products a business asks for over its API: pay customers and businesses, query, reverse.

One module each: ``b2c`` (B2C and B2Pochi), ``b2b`` (paybill, buy goods, B2C
top-up, moves between a business's own accounts), ``tax_remittance``,
``account_balance``, ``transaction_status``, ``business_reversal``, and ``bulk``
(the console's bulk disbursement, paid as B2C). See
``common`` for who may ask and which accounts they use.
"""

from __future__ import annotations

from mkoba.processor.processor import Product
from mkoba.products.business.account_balance import AccountBalance
from mkoba.products.business.b2b import B2B
from mkoba.products.business.b2c import B2C
from mkoba.products.business.bulk import BulkDisbursement, BulkPayment
from mkoba.products.business.business_reversal import BusinessReversal
from mkoba.products.business.tax_remittance import TaxRemittance
from mkoba.products.business.transaction_status import TransactionStatus

__all__ = [
    "B2B",
    "B2C",
    "AccountBalance",
    "BulkDisbursement",
    "BulkPayment",
    "BusinessReversal",
    "TaxRemittance",
    "TransactionStatus",
    "business_products",
]


def business_products() -> list[Product]:
    """One of each business product."""
    return [
        B2C(),
        B2B(),
        TaxRemittance(),
        AccountBalance(),
        TransactionStatus(),
        BusinessReversal(),
        BulkDisbursement(),
        BulkPayment(),
    ]
