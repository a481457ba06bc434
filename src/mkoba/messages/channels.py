"""Texts of the channels themselves, by id and language.

``ussd.*``: what the USSD menu engine says around the menus (the menus' own
texts are data, in ``channels/ussd/menus``); ``ussd.code.*``: a request's
outcome, per result code, for a final screen or an SMS reply; ``sms.*``: replies
to inbound SMS. All GSM-7, and a USSD text fits a screen (160 characters).
"""

from __future__ import annotations

from mkoba.codes import Code

# The Swahili of every outcome (the English is the code's own message).
_OUTCOMES_SW: dict[Code, str] = {
    Code.OK: "Imekamilika.",
    Code.PENDING_DELIVERY: "Imepokelewa; itakamilika jibu hili likifika.",
    Code.INVALID_INPUT: "Ombi si sahihi.",
    Code.UNKNOWN_PRODUCT: "Huduma hiyo haipo.",
    Code.NOT_REGISTERED: "Nambari hii haijasajiliwa kwa M-PESA.",
    Code.ALREADY_REGISTERED: "Nambari hii tayari imesajiliwa.",
    Code.ACCOUNT_INACTIVE: "Akaunti hii haiwezi kufanya muamala. Tafadhali wasiliana na huduma"
    " kwa wateja.",
    Code.NOT_ALLOWED: "Huruhusiwi kufanya hivyo.",
    Code.WRONG_PIN: "PIN si sahihi.",
    Code.PIN_LOCKED: "PIN yako imefungwa baada ya majaribio mengi. Ifungue kwa nambari ya"
    " kitambulisho au piga huduma kwa wateja.",
    Code.PIN_NOT_SET: "Weka PIN yako kwanza.",
    Code.WEAK_PIN: "Chagua PIN isiyo rahisi kukisia (si 1111 wala 1234).",
    Code.INSUFFICIENT_FUNDS: "Huna pesa za kutosha kufanya hivyo.",
    Code.INSUFFICIENT_FLOAT: "Wakala hana float ya kutosha.",
    Code.BELOW_MINIMUM: "Kiasi ni chini ya kiwango cha chini.",
    Code.ABOVE_MAXIMUM: "Kiasi ni zaidi ya kiwango cha juu kwa muamala mmoja.",
    Code.LIMIT_EXCEEDED: "Kiasi ni zaidi ya kikomo chako cha muamala.",
    Code.DAILY_LIMIT_EXCEEDED: "Hii itazidi kikomo chako cha siku.",
    Code.RECIPIENT_LIMIT: "Mpokeaji hawezi kupokea kiasi hiki (kikomo cha salio lake).",
    Code.RECIPIENT_NOT_REGISTERED: "Mpokeaji hajasajiliwa kwa M-PESA.",
    Code.SAME_ACCOUNT: "Huwezi kujitumia pesa mwenyewe.",
    Code.UNKNOWN_TILL: "Nambari hiyo ya till haipo.",
    Code.UNKNOWN_PAYBILL: "Nambari hiyo ya biashara haipo.",
    Code.UNKNOWN_AGENT: "Wakala au duka hilo halipo.",
    Code.UNKNOWN_RECEIPT: "Muamala huo haupo.",
    Code.NAME_LOOKUP_LIMIT: "Umeangalia majina mengi mno leo.",
    Code.DUPLICATE_REQUEST: "Nambari ya ombi hili imeshatumika kwa ombi lingine.",
    Code.REVERSAL_NOT_POSSIBLE: "Muamala huu hauwezi kurudishwa.",
    Code.VOUCHER_NOT_FOUND: "Vocha hiyo haipo, au muda wake umekwisha.",
    Code.REQUEST_NOT_FOUND: "Ombi hilo halipo, au halijafunguliwa tena.",
    Code.AIRTIME_FAILED: "Airtime haikuweza kutumwa; hakuna pesa iliyotumwa.",
    Code.ROLLED_BACK: "Ombi lako halikukamilika na hakuna pesa iliyotumwa. Unaweza kujaribu tena.",
    Code.HELD_FOR_REVIEW: "Kwa usalama wako malipo haya yamesimamishwa kwa ukaguzi. Hakuna pesa"
    " iliyotumwa bado; utapata SMS yakikamilika.",
    Code.CONFIRM_REQUIRED: "Kwa usalama wako, thibitisha malipo haya: yatume tena, na PIN yako,"
    " ndani ya dakika 5.",
    Code.REFUSED_FOR_SECURITY: "Kwa usalama wako hili haliwezi kufanyika sasa. Tafadhali piga"
    " huduma kwa wateja.",
    Code.OPERATOR_UNFUNDED: "Huduma haiwezi kulipa sehemu yake sasa; hakuna pesa iliyotumwa.",
    Code.SYSTEM_BUSY: "Mfumo una shughuli nyingi. Tafadhali jaribu tena.",
    Code.SYSTEM_ERROR: "Hitilafu imetokea kwetu; hakuna pesa iliyotumwa.",
}
assert set(_OUTCOMES_SW) == set(Code)

TEMPLATES: dict[str, dict[str, str]] = {
    # -- USSD: around the menus -------------------------------------------------------
    "ussd.not_registered": {
        "en": "This number is not registered for M-PESA. Visit an M-PESA agent to register.",
        "sw": "Nambari hii haijasajiliwa kwa M-PESA. Tembelea wakala wa M-PESA kujisajili.",
    },
    "ussd.no_menu": {
        "en": "There is no M-PESA menu for this line. Call customer care on 100.",
        "sw": "Hakuna menyu ya M-PESA kwa laini hii. Piga huduma kwa wateja 100.",
    },
    "ussd.expired": {
        "en": "Your session has ended. Dial *334# to start again.",
        "sw": "Kipindi chako kimekwisha. Piga *334# kuanza upya.",
    },
    "ussd.too_many_invalid": {
        "en": "Too many invalid entries. Dial *334# to try again.",
        "sw": "Umekosea mara nyingi mno. Piga *334# kujaribu tena.",
    },
    "ussd.busy": {
        "en": "The system is busy. Please try again.",
        "sw": "Mfumo una shughuli nyingi. Tafadhali jaribu tena.",
    },
    "ussd.nav": {"en": "0 Back 00 Home", "sw": "0 Rudi 00 Mwanzo"},
    "ussd.more": {"en": "98 More", "sw": "98 Zaidi"},
    "ussd.invalid.option": {"en": "Invalid choice.", "sw": "Chaguo si sahihi."},
    "ussd.invalid.msisdn": {"en": "Invalid phone number.", "sw": "Nambari ya simu si sahihi."},
    "ussd.invalid.amount": {"en": "Invalid amount.", "sw": "Kiasi si sahihi."},
    "ussd.invalid.number": {"en": "Invalid number.", "sw": "Nambari si sahihi."},
    "ussd.invalid.account": {
        "en": "Invalid account number.",
        "sw": "Nambari ya akaunti si sahihi.",
    },
    "ussd.invalid.receipt": {
        "en": "Enter the 10-character transaction code.",
        "sw": "Weka nambari ya muamala yenye herufi 10.",
    },
    "ussd.invalid.name": {
        "en": "Enter the name in letters.",
        "sw": "Weka jina kwa herufi.",
    },
    "ussd.invalid.pin": {"en": "A PIN is 4 to 6 digits.", "sw": "PIN ni tarakimu 4 hadi 6."},
    "ussd.invalid.new_pin": {
        "en": "A PIN is 4 to 6 digits.",
        "sw": "PIN ni tarakimu 4 hadi 6.",
    },
    "ussd.invalid.confirm_pin": {"en": "The PINs do not match.", "sw": "PIN hazilingani."},
    "ussd.invalid.email": {
        "en": "Enter an email address such as name@example.com.",
        "sw": "Weka anwani ya barua pepe kama name@example.com.",
    },
    "ussd.invalid.code": {
        "en": "Enter the digits of the code we emailed.",
        "sw": "Weka tarakimu za nambari tuliyotuma kwa barua pepe.",
    },
    "ussd.statement.title": {"en": "M-PESA statement:", "sw": "Taarifa ya M-PESA:"},
    "ussd.statement.empty": {"en": "No transactions yet.", "sw": "Bado hakuna miamala."},
    # -- SMS: replies to what customers send ------------------------------------------
    "sms.help": {
        "en": "M-PESA: to reverse a transaction, forward its confirmation SMS to {reversal}."
        " For customer care send HELP and your question. For your balance dial *334#.",
        "sw": "M-PESA: kurudisha muamala, tuma SMS yake ya uthibitisho kwa {reversal}."
        " Kwa huduma kwa wateja tuma MSAADA na swali lako. Kwa salio piga *334#.",
    },
    "sms.no_pin_by_sms": {
        "en": "M-PESA never asks for your PIN by SMS. To check your balance dial *334#"
        " and choose My Account.",
        "sw": "M-PESA haiombi PIN yako kwa SMS. Kuangalia salio piga *334# kisha uchague"
        " Akaunti Yangu.",
    },
    "sms.not_registered": {
        "en": "This number is not registered for M-PESA. Visit an M-PESA agent to register.",
        "sw": "Nambari hii haijasajiliwa kwa M-PESA. Tembelea wakala wa M-PESA kujisajili.",
    },
    "sms.reversal.no_receipt": {
        "en": "To reverse a transaction, forward the whole M-PESA confirmation SMS to"
        " {reversal}, starting with the transaction code.",
        "sw": "Kurudisha muamala, tuma SMS nzima ya uthibitisho wa M-PESA kwa {reversal},"
        " ikianza na nambari ya muamala.",
    },
    "sms.reversal.confirm": {
        "en": "To reverse {receipt}, dial *334#, choose My Account, then Reverse Transaction,"
        " and confirm with your M-PESA PIN.",
        "sw": "Kurudisha {receipt}, piga *334#, chagua Akaunti Yangu, kisha Rudisha Muamala,"
        " na uthibitishe kwa PIN yako ya M-PESA.",
    },
    "sms.reversal.received": {
        "en": "{receipt} Reversal request received. We will confirm with the recipient and"
        " send you an SMS when it is done.",
        "sw": "{receipt} Ombi la kurudisha limepokelewa. Tutathibitisha na mpokeaji na"
        " kukutumia SMS likikamilika.",
    },
    "sms.reversal.refused": {
        "en": "{receipt} Reversal request not accepted. {reason}",
        "sw": "{receipt} Ombi la kurudisha halikukubaliwa. {reason}",
    },
    "sms.ticket.refused": {
        "en": "M-PESA: we could not open your request. {reason}",
        "sw": "M-PESA: hatukuweza kupokea ombi lako. {reason}",
    },
}

for _code in Code:
    TEMPLATES[f"ussd.code.{_code}"] = {"en": _code.message, "sw": _OUTCOMES_SW[_code]}
