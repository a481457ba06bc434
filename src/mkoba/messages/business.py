"""Message texts of the business products (B2C, reversals by a business), by id and language."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, str]] = {
    "b2c.recipient": {
        "en": "{receipt} Confirmed. You have received {amount} from {business} on {date} at"
        " {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Umepokea {amount} kutoka kwa {business} tarehe {date}"
        " saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    "business_reversal.customer": {
        "en": "{receipt} Confirmed. Transaction {original} has been reversed. {amount} is"
        " credited to your M-PESA account on {date} at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Muamala {original} umebatilishwa. {amount} imerudishwa"
        " kwenye akaunti yako ya M-PESA tarehe {date} saa {time}. Salio jipya la M-PESA ni"
        " {balance}.",
    },
}
