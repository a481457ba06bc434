"""Message texts of money requests, split bills and gift vouchers, by template id and language.

A request or a reminder moves no money: its ``receipt`` is empty and its texts do
not show one. Gift codes appear only in the SMS to the gift's recipient.
"""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, str]] = {
    # -- Money requests ---------------------------------------------------------------
    "request.payer": {
        "en": "{name} {msisdn} asks you for {amount}. {note}To pay, use request number"
        " {number} in the M-PESA app by {expires}, or decline it there.",
        "sw": "{name} {msisdn} anakuomba {amount}. {note}Kulipa, tumia nambari ya ombi"
        " {number} kwenye programu ya M-PESA kabla ya {expires}, au ulikatae hapo.",
    },
    "request.bill": {
        "en": "{name} {msisdn} has split a bill of {total}: your share is {amount}. {note}"
        "To pay, use request number {number} in the M-PESA app by {expires}.",
        "sw": "{name} {msisdn} amegawa bili ya {total}: sehemu yako ni {amount}. {note}"
        "Kulipa, tumia nambari ya ombi {number} kwenye programu ya M-PESA kabla ya {expires}.",
    },
    "request.reminder": {
        "en": "Reminder: {name} {msisdn} is waiting for your share of {amount} for a bill. "
        "{note}Pay with request number {number} in the M-PESA app by {expires}.",
        "sw": "Kumbusho: {name} {msisdn} anasubiri sehemu yako ya {amount} ya bili. {note}"
        "Lipa kwa nambari ya ombi {number} kwenye programu ya M-PESA kabla ya {expires}.",
    },
    "request.paid.payer": {
        "en": "{receipt} Confirmed. {amount} paid to {name} {msisdn} for request {number} on"
        " {date} at {time}. New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. {amount} imelipwa kwa {name} {msisdn} kwa ombi"
        " {number} tarehe {date} saa {time}. Salio jipya la M-PESA ni {balance}."
        " Gharama ni {fee}.",
    },
    "request.paid.requester": {
        "en": "{receipt} Confirmed. {name} {msisdn} has paid your request {number} of {amount}"
        " on {date} at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. {name} {msisdn} amelipa ombi lako {number} la {amount}"
        " tarehe {date} saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    "request.declined": {
        "en": "{name} {msisdn} has declined your request {number} for {amount}.",
        "sw": "{name} {msisdn} amekataa ombi lako {number} la {amount}.",
    },
    # -- Gift vouchers ----------------------------------------------------------------
    "gift.buyer": {
        "en": "{receipt} Confirmed. A gift of {amount} sent to {msisdn} on {date} at {time}."
        " It can be used until {expires}, or it comes back to you. New M-PESA balance is"
        " {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. Zawadi ya {amount} imetumwa kwa {msisdn} tarehe {date}"
        " saa {time}. Inaweza kutumika hadi {expires}, la sivyo itarudi kwako. Salio jipya la"
        " M-PESA ni {balance}. Gharama ni {fee}.",
    },
    "gift.recipient": {
        "en": "{receipt} {name} {msisdn} has sent you an M-PESA gift of {amount}. Pay at any"
        " till with this code, {code}, or put it in your M-PESA, by {expires}."
        " Do not share the code.",
        "sw": "{receipt} {name} {msisdn} amekutumia zawadi ya M-PESA ya {amount}. Lipa kwa till"
        " yoyote kwa nambari hii, {code}, au iweke kwenye M-PESA yako, kabla ya {expires}."
        " Usimpe mtu nambari hii.",
    },
    "gift.till": {
        "en": "{receipt} Confirmed. Gift of {amount} from {msisdn} taken on {date} at {time}."
        " New Till balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Zawadi ya {amount} kutoka kwa {msisdn} imepokelewa"
        " tarehe {date} saa {time}. Salio jipya la Till ni {balance}.",
    },
    "gift.redeemed": {
        "en": "{receipt} Confirmed. Your gift of {amount} was used at {name} on {date} at {time}.",
        "sw": "{receipt} Imethibitishwa. Zawadi yako ya {amount} imetumika kwa {name} tarehe"
        " {date} saa {time}.",
    },
    "gift.cashed": {
        "en": "{receipt} Confirmed. Your gift of {amount} from {name} is in your M-PESA since"
        " {date} at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Zawadi yako ya {amount} kutoka kwa {name} iko kwenye"
        " M-PESA yako tangu tarehe {date} saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    "gift.used": {
        "en": "{receipt} Confirmed. Your gift of {amount} to {msisdn} ({gift}) was used on"
        " {date} at {time}.",
        "sw": "{receipt} Imethibitishwa. Zawadi yako ya {amount} kwa {msisdn} ({gift}) imetumika"
        " tarehe {date} saa {time}.",
    },
    "gift.refunded": {
        "en": "{receipt} Confirmed. Your gift of {amount} to {msisdn} ({gift}) was not used"
        " and has been returned to you. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Zawadi yako ya {amount} kwa {msisdn} ({gift})"
        " haikutumika na imerudishwa kwako. Salio jipya la M-PESA ni {balance}.",
    },
}
