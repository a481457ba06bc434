"""The message texts, by template id and language."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, str]] = {
    "send_money.payer": {
        "en": "{receipt} Confirmed. {amount} sent to {name} {msisdn} on {date} at {time}."
        " New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. {amount} imetumwa kwa {name} {msisdn} tarehe {date}"
        " saa {time}. Salio jipya la M-PESA ni {balance}. Gharama ya kutuma ni {fee}.",
    },
    "send_money.payee": {
        "en": "{receipt} Confirmed. You have received {amount} from {name} {msisdn} on {date}"
        " at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Umepokea {amount} kutoka kwa {name} {msisdn} tarehe"
        " {date} saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    "deposit.customer": {
        "en": "{receipt} Confirmed. On {date} at {time} Give {amount} cash to {agent}."
        " New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Tarehe {date} saa {time} Mpe {agent} pesa taslimu"
        " {amount}. Salio jipya la M-PESA ni {balance}.",
    },
    "deposit.agent": {
        "en": "{receipt} Confirmed. On {date} at {time} Take {amount} cash from {name} {msisdn}."
        " New float balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Tarehe {date} saa {time} Chukua pesa taslimu {amount}"
        " kutoka kwa {name} {msisdn}. Salio jipya la float ni {balance}.",
    },
    "withdraw.customer": {
        "en": "{receipt} Confirmed. On {date} at {time} Withdraw {amount} from {agent_number}"
        " - {agent}. New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. Tarehe {date} saa {time} Toa {amount} kutoka kwa"
        " {agent_number} - {agent}. Salio jipya la M-PESA ni {balance}. Gharama ni {fee}.",
    },
    "withdraw.agent": {
        "en": "{receipt} Confirmed. On {date} at {time} Give {amount} cash to {name} {msisdn}."
        " New float balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Tarehe {date} saa {time} Mpe {name} {msisdn} pesa"
        " taslimu {amount}. Salio jipya la float ni {balance}.",
    },
    "rolled_back": {
        "en": "Your request of {date} at {time} could not be completed and no money moved."
        " You may try again.",
        "sw": "Ombi lako la tarehe {date} saa {time} halikukamilika na hakuna pesa iliyotumwa."
        " Unaweza kujaribu tena.",
    },
    "registered": {
        "en": "Welcome to M-PESA, {name}. Your account is ready. Dial *334# to use it.",
        "sw": "Karibu M-PESA, {name}. Akaunti yako iko tayari. Piga *334# kuitumia.",
    },
    "registered.by_agent": {
        "en": "Welcome to M-PESA, {name}. {agent} registered this number. Set your PIN now:"
        " dial *334#, My Account, PIN Manager, with your ID number. Never tell anyone your PIN.",
        "sw": "Karibu M-PESA, {name}. {agent} amesajili nambari hii. Weka PIN yako sasa:"
        " piga *334#, Akaunti Yangu, Meneja wa PIN, na nambari ya kitambulisho."
        " Usimwambie mtu PIN yako.",
    },
    "registered.agent": {
        "en": "You registered {name} {msisdn} for M-PESA on {date} at {time}. They set their"
        " own PIN from their phone.",
        "sw": "Umemsajili {name} {msisdn} kwa M-PESA tarehe {date} saa {time}. Ataweka PIN"
        " yake mwenyewe kwa simu yake.",
    },
    "pin_changed": {
        "en": "Your M-PESA PIN was changed on {date} at {time}. If this was not you, call"
        " customer care on 100.",
        "sw": "PIN yako ya M-PESA ilibadilishwa tarehe {date} saa {time}. Kama si wewe, piga"
        " huduma kwa wateja 100.",
    },
}
