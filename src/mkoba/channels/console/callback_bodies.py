"""A callback's body as a member of staff may read it: no personal data unless their role
may see it, and never a URL's path or query.

Callback bodies (Daraja's STK callbacks, C2B confirmations, results) carry a customer's
phone number and names. Staff whose role may not see personal data unmasked
(``customer_unmasked``) read every value masked except those known to be about the
payment itself (``SAFE``: codes, ids, amounts, times, the shortcode); the rest keep only
each word's first character and a phone number its ends (``2547*****678``). A value that
is a URL shows its host only, for everyone: a client may put a secret in its path or
query. A body that is not JSON is not shown masked at all.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

# The keys (or the Name/Key of a Name-Value item) whose values are about the payment, not
# about a person.
SAFE = frozenset(
    {
        "Amount",
        "Balance",
        "BusinessShortCode",
        "CheckoutRequestID",
        "ConversationID",
        "Currency",
        "B2CChargesPaidAccountAvailableFunds",
        "B2CRecipientIsRegisteredCustomer",
        "B2CUtilityAccountAvailableFunds",
        "B2CWorkingAccountAvailableFunds",
        "DebitAccountBalance",
        "FinalisedTime",
        "InitiatorAccountCurrentBalance",
        "InvoiceNumber",
        "MerchantRequestID",
        "MpesaReceiptNumber",
        "OrgAccountBalance",
        "OriginatorConversationID",
        "ReasonType",
        "ReceiptNo",
        "ResultCode",
        "ResultDesc",
        "ResultType",
        "ThirdPartyTransID",
        "TransAmount",
        "TransID",
        "TransTime",
        "TransactionAmount",
        "TransactionCompletedDateTime",
        "TransactionDate",
        "TransactionID",
        "TransactionReceipt",
        "TransactionStatus",
        "TransactionType",
    }
)
LABELS = ("Name", "Key")
NOT_JSON = "[not shown: the body is not JSON]"
_URL = re.compile(r"^https?://", re.IGNORECASE)
# Bodies are bounded by what the channel sends; nesting past this is not read.
depth_max = 16


def shown(body: str, unmasked: bool) -> str:
    """``body`` as its reader may see it, pretty-printed."""
    try:
        data = json.loads(body)
    except ValueError:
        return body if unmasked else NOT_JSON
    return json.dumps(_walk(data, "", unmasked, 0), indent=2, ensure_ascii=False)


def _walk(value: Any, key: str, unmasked: bool, depth: int) -> Any:
    if depth > depth_max:
        return "[not shown]"
    if isinstance(value, dict):
        label = next((str(value[k]) for k in LABELS if isinstance(value.get(k), str)), "")
        out = {}
        for name, item in value.items():
            if name in LABELS and label:
                out[name] = item
            elif name == "Value" and label:
                out[name] = _walk(item, label, unmasked, depth + 1)
            else:
                out[name] = _walk(item, str(name), unmasked, depth + 1)
        return out
    if isinstance(value, list):
        return [_walk(item, key, unmasked, depth + 1) for item in value]
    if isinstance(value, str) and _URL.match(value):
        return _host_only(value)
    if value is None or isinstance(value, bool) or unmasked or key in SAFE:
        return value
    return mask(str(value))


def mask(text: str) -> str:
    """A value with a person's data hidden: ``2547*****678``, ``W****** K****``."""
    if text.isdigit():
        return (
            f"{text[:4]}{'*' * (len(text) - 7)}{text[-3:]}" if len(text) >= 9 else "*" * len(text)
        )
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in text.split(" "))


def _host_only(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "[a URL]"
    return f"{parts.scheme}://{host}{port}/…"
