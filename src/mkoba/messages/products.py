"""Message texts of the products beyond the core ones, by template id and language.

Every product fills ``receipt``, ``date``, ``time`` (and ``balance`` where a
note names an account); the other placeholders are the product's own. Codes
and temporary PINs appear only in the SMS to their owner.
"""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, str]] = {
    # -- Lipa na M-PESA ---------------------------------------------------------------
    "pay_bill.payer": {
        "en": "{receipt} Confirmed. {amount} sent to {name} for account {account} on {date}"
        " at {time}. New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. {amount} imetumwa kwa {name} kwa akaunti {account}"
        " tarehe {date} saa {time}. Salio jipya la M-PESA ni {balance}. Gharama ni {fee}.",
    },
    "buy_goods.payer": {
        "en": "{receipt} Confirmed. {amount} paid to {name} on {date} at {time}."
        " New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. {amount} imelipwa kwa {name} tarehe {date} saa {time}."
        " Salio jipya la M-PESA ni {balance}. Gharama ni {fee}.",
    },
    "buy_goods.merchant": {
        "en": "{receipt} Confirmed. {amount} received from {name} {msisdn} on {date} at {time}."
        " New Till balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. {amount} imepokelewa kutoka kwa {name} {msisdn} tarehe"
        " {date} saa {time}. Salio jipya la Till ni {balance}.",
    },
    # -- Airtime ----------------------------------------------------------------------
    "buy_airtime.self": {
        "en": "{receipt} Confirmed. You bought {amount} of airtime on {date} at {time}."
        " New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. Umenunua airtime ya {amount} tarehe {date} saa {time}."
        " Salio jipya la M-PESA ni {balance}. Gharama ni {fee}.",
    },
    "buy_airtime.other": {
        "en": "{receipt} Confirmed. You bought {amount} of airtime for {msisdn} on {date} at"
        " {time}. New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. Umenunua airtime ya {amount} kwa {msisdn} tarehe {date}"
        " saa {time}. Salio jipya la M-PESA ni {balance}. Gharama ni {fee}.",
    },
    "buy_airtime.recipient": {
        "en": "You have received {amount} airtime from {name} {msisdn} on {date} at {time}.",
        "sw": "Umepokea airtime ya {amount} kutoka kwa {name} {msisdn} tarehe {date} saa {time}.",
    },
    # -- Vouchers (money sent to unregistered numbers) ----------------------------------
    "voucher.payer": {
        "en": "{receipt} Confirmed. {amount} sent to {msisdn} on {date} at {time}. They are not"
        " registered: they can collect it at any M-PESA agent by {expires}, or it comes back"
        " to you. New M-PESA balance is {balance}. Transaction cost, {fee}.",
        "sw": "{receipt} Imethibitishwa. {amount} imetumwa kwa {msisdn} tarehe {date} saa"
        " {time}. Hajasajiliwa: anaweza kuichukua kwa wakala yeyote wa M-PESA kabla ya"
        " {expires}, la sivyo itarudi kwako. Salio jipya la M-PESA ni {balance}."
        " Gharama ni {fee}.",
    },
    "voucher.recipient": {
        "en": "{receipt} {name} {msisdn} has sent you {amount} by M-PESA. Take your ID and this"
        " code, {code}, to any M-PESA agent by {expires} to collect it. Do not share the code.",
        "sw": "{receipt} {name} {msisdn} amekutumia {amount} kwa M-PESA. Peleka kitambulisho"
        " chako na nambari hii, {code}, kwa wakala yeyote wa M-PESA kabla ya {expires} kuichukua."
        " Usimpe mtu nambari hii.",
    },
    "voucher.agent": {
        "en": "{receipt} Confirmed. On {date} at {time} Give {amount} cash to {msisdn} for"
        " voucher {voucher}. New float balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Tarehe {date} saa {time} Mpe {msisdn} pesa taslimu"
        " {amount} kwa vocha {voucher}. Salio jipya la float ni {balance}.",
    },
    "voucher.redeemed": {
        "en": "{receipt} Confirmed. You have collected {amount} sent by {name} from {agent} on"
        " {date} at {time}. Register for M-PESA at any agent.",
        "sw": "{receipt} Imethibitishwa. Umechukua {amount} uliyotumiwa na {name} kutoka kwa"
        " {agent} tarehe {date} saa {time}. Jisajili kwa M-PESA kwa wakala yeyote.",
    },
    "voucher.collected": {
        "en": "{receipt} Confirmed. {msisdn} has received the {amount} you sent on {sent}"
        " ({voucher}).",
        "sw": "{receipt} Imethibitishwa. {msisdn} amepokea {amount} uliyotuma tarehe {sent}"
        " ({voucher}).",
    },
    "voucher.refunded": {
        "en": "{receipt} Confirmed. The {amount} you sent to {msisdn} on {sent} ({voucher}) was"
        " not collected and has been returned to you. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. {amount} uliyotuma kwa {msisdn} tarehe {sent}"
        " ({voucher}) haikuchukuliwa na imerudishwa kwako. Salio jipya la M-PESA ni {balance}.",
    },
    "voucher.credited": {
        "en": "{receipt} Confirmed. You have received {amount} from {name} {msisdn} on {date}"
        " at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Umepokea {amount} kutoka kwa {name} {msisdn} tarehe"
        " {date} saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    # -- Reversals --------------------------------------------------------------------
    "reversal.requested": {
        "en": "{original} Reversal request received for {amount} sent to {name} on {sent}."
        " The money is on hold while we check with the recipient. We will send you an SMS.",
        "sw": "{original} Ombi la kurudisha {amount} uliyotuma kwa {name} tarehe {sent}"
        " limepokelewa. Pesa imezuiliwa tunapothibitisha na mpokeaji. Tutakutumia SMS.",
    },
    "reversal.held": {
        "en": "{original} {name} {msisdn} has asked to reverse the {amount} sent to you on"
        " {sent}. The amount is on hold while M-PESA checks. Available balance {balance}."
        " Call 100 if you do not agree.",
        "sw": "{original} {name} {msisdn} ameomba kurudishiwa {amount} aliyokutumia tarehe"
        " {sent}. Kiasi hicho kimezuiliwa M-PESA ikithibitisha. Salio linalotumika {balance}."
        " Piga 100 kama hukubali.",
    },
    "reversal.approved_payer": {
        "en": "{receipt} Confirmed. Transaction {original} has been reversed and {amount}"
        " returned to you on {date} at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Muamala {original} umerudishwa na {amount} imerudi"
        " kwako tarehe {date} saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    "reversal.approved_recipient": {
        "en": "{receipt} Confirmed. Transaction {original} of {amount} from {name} has been"
        " reversed on {date} at {time}. New M-PESA balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Muamala {original} wa {amount} kutoka kwa {name}"
        " umerudishwa tarehe {date} saa {time}. Salio jipya la M-PESA ni {balance}.",
    },
    "reversal.rejected_payer": {
        "en": "{original} Your request to reverse {amount} sent to {name} was not accepted."
        " Call 100 for help.",
        "sw": "{original} Ombi lako la kurudisha {amount} uliyotuma kwa {name} halikukubaliwa."
        " Piga 100 kwa msaada.",
    },
    "reversal.rejected_recipient": {
        "en": "{original} The request to reverse {amount} is closed and the money is yours"
        " again. Available balance {balance}.",
        "sw": "{original} Ombi la kurudisha {amount} limefungwa na pesa ni yako tena."
        " Salio linalotumika {balance}.",
    },
    # -- Agent float ------------------------------------------------------------------
    "float.sent": {
        "en": "{receipt} Confirmed. {amount} float sent to {number} - {name} on {date} at"
        " {time}. New float balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Float ya {amount} imetumwa kwa {number} - {name} tarehe"
        " {date} saa {time}. Salio jipya la float ni {balance}.",
    },
    "float.received": {
        "en": "{receipt} Confirmed. {amount} float received from {number} - {name} on {date}"
        " at {time}. New float balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. Float ya {amount} imepokelewa kutoka kwa {number} -"
        " {name} tarehe {date} saa {time}. Salio jipya la float ni {balance}.",
    },
    # -- PIN administration -----------------------------------------------------------
    "pin.unlocked": {
        "en": "Your M-PESA PIN was unlocked by customer care on {date} at {time}. If you did"
        " not ask for this, call 100.",
        "sw": "PIN yako ya M-PESA ilifunguliwa na huduma kwa wateja tarehe {date} saa {time}."
        " Kama hukuomba, piga 100.",
    },
    "pin.reset": {
        "en": "Your M-PESA PIN was reset. Your temporary PIN is {pin}. Dial *334#, My Account,"
        " Change PIN, to choose your own before anything else. Never share your PIN.",
        "sw": "PIN yako ya M-PESA imebadilishwa. PIN yako ya muda ni {pin}. Piga *334#, Akaunti"
        " Yangu, Badilisha PIN, kuchagua yako kabla ya jambo lingine. Usimpe mtu PIN yako.",
    },
    "wallet.frozen": {
        "en": "Your M-PESA account was frozen on {date} at {time}: you cannot send or withdraw"
        " money until it is reopened. Call 100 for help.",
        "sw": "Akaunti yako ya M-PESA imezuiwa tarehe {date} saa {time}: huwezi kutuma wala"
        " kutoa pesa hadi ifunguliwe tena. Piga 100 kwa msaada.",
    },
    "wallet.unfrozen": {
        "en": "Your M-PESA account was reopened on {date} at {time}. You can send and withdraw"
        " money again.",
        "sw": "Akaunti yako ya M-PESA imefunguliwa tena tarehe {date} saa {time}. Unaweza"
        " kutuma na kutoa pesa tena.",
    },
    "kyc.tier": {
        "en": "Your M-PESA account limits changed on {date} at {time}: you are now on the"
        " {tier} tier. Dial *334# for your limits.",
        "sw": "Viwango vya akaunti yako ya M-PESA vilibadilika tarehe {date} saa {time}: sasa"
        " uko daraja la {tier}. Piga *334# kuona viwango vyako.",
    },
    "business.welcome": {
        "en": "Welcome to M-PESA, {name}: your number is {number}. Your temporary PIN is"
        " {pin}. Change it on *334# before anything else. Never share your PIN.",
        "sw": "Karibu M-PESA, {name}: nambari yako ni {number}. PIN yako ya muda ni"
        " {pin}. Ibadilishe kwa *334# kabla ya jambo lingine. Usimpe mtu PIN yako.",
    },
    "ticket.opened": {
        "en": "We have your request, number {ticket}. Customer care will answer by {due}."
        " Keep this number.",
        "sw": "Tumepokea ombi lako, nambari {ticket}. Huduma kwa wateja watajibu kufikia"
        " {due}. Weka nambari hii.",
    },
    "ticket.resolved": {
        "en": "Your request {ticket} is resolved: {resolution} Call 100 if you need more help.",
        "sw": "Ombi lako {ticket} limeshughulikiwa: {resolution} Piga 100 ukihitaji msaada zaidi.",
    },
    "pin.unlocked_self": {
        "en": "Your M-PESA PIN was unlocked with your ID number and a new PIN set on {date} at"
        " {time}. If this was not you, call 100.",
        "sw": "PIN yako ya M-PESA ilifunguliwa kwa nambari ya kitambulisho na PIN mpya"
        " kuwekwa tarehe {date} saa {time}. Kama si wewe, piga 100.",
    },
    "emoney.issued": {
        "en": "{receipt} Confirmed. {amount} of e-money issued to you against bank reference"
        " {reference} on {date} at {time}. New balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. {amount} za pesa za kielektroniki zimetolewa kwako"
        " kwa kumbukumbu ya benki {reference} tarehe {date} saa {time}. Salio jipya ni"
        " {balance}.",
    },
    "emoney.redeemed": {
        "en": "{receipt} Confirmed. {amount} of e-money redeemed against bank reference"
        " {reference} on {date} at {time}. New balance is {balance}.",
        "sw": "{receipt} Imethibitishwa. {amount} za pesa za kielektroniki zimerudishwa kwa"
        " kumbukumbu ya benki {reference} tarehe {date} saa {time}. Salio jipya ni {balance}.",
    },
    # The smartphone app's enrolment code (products/app_code.py): sealed in the outbox.
    "app.code": {
        "en": "Your M-PESA app code is {code}. Enter it in the app within {minutes} minutes."
        " Never share it: M-PESA staff never ask for it. If you did not ask, call 100.",
        "sw": "Nambari yako ya programu ya M-PESA ni {code}. Iweke kwenye programu ndani ya"
        " dakika {minutes}. Usimpe mtu yeyote: wafanyakazi wa M-PESA hawaiombi kamwe. Kama"
        " hukuiomba, piga 100.",
    },
    # Full statements by email (products/email_statements.py, statements/delivery.py).
    # An email's first line is its subject.
    "email.code": {
        "en": "Your M-PESA email code\n\nYour code is {code}. To register this address for"
        " M-PESA statements, dial *334#, My Account, Full Statement, Confirm email, and"
        " enter it within {minutes} minutes. If you did not ask for it, ignore this email.",
        "sw": "Nambari yako ya barua pepe ya M-PESA\n\nNambari yako ni {code}. Kusajili"
        " anwani hii kwa taarifa za M-PESA, piga *334#, Akaunti Yangu, Taarifa Kamili,"
        " Thibitisha barua pepe, na uiweke ndani ya dakika {minutes}. Kama hukuiomba,"
        " puuza barua pepe hii.",
    },
    "email.registered": {
        "en": "Your M-PESA statements will be sent to {email}, registered on {date} at {time}."
        " If this was not you, call 100.",
        "sw": "Taarifa zako za M-PESA zitatumwa kwa {email}, iliyosajiliwa tarehe {date} saa"
        " {time}. Kama si wewe, piga 100.",
    },
    # Not a text for people: the statement deliverer's order (sealed: it holds the password).
    "statement.delivery": {
        "en": "statement/1 en {party_id} {start} {end} {password}",
        "sw": "statement/1 sw {party_id} {start} {end} {password}",
    },
    "statement.requested": {
        "en": "Your M-PESA statement from {start} to {end} is being emailed to {email}."
        " Open it with the password {password}. Never share it.",
        "sw": "Taarifa yako ya M-PESA kuanzia {start} hadi {end} inatumwa kwa {email}."
        " Ifungue kwa nenosiri {password}. Usimpe mtu.",
    },
    "statement.email": {
        "en": "Your M-PESA statement\n\nDear {name},\n\nYour M-PESA statement from {start} to"
        " {end} is attached. Open it with the password we sent to your phone by SMS.\n\n"
        "If you did not ask for it, call 100.",
        "sw": "Taarifa yako ya M-PESA\n\nMpendwa {name},\n\nTaarifa yako ya M-PESA kuanzia"
        " {start} hadi {end} imeambatishwa. Ifungue kwa nenosiri tulilotuma kwa simu yako"
        " kwa SMS.\n\nKama hukuiomba, piga 100.",
    },
}
