"""What the risk rules tell a customer whose payment is stepped up to a one-time code.

``risk.code.sent`` answers the payment that was stepped up (the code went to the
payer's app device); the others answer the payment sent again with a code that does
not confirm it. None repeats the code: it reaches the device alone.
"""

from __future__ import annotations

_AGAIN_EN = " Send the payment again without a code to get a new one."
_AGAIN_SW = " Tuma malipo tena bila nambari upate mpya."

TEMPLATES: dict[str, dict[str, str]] = {
    "risk.code.sent": {
        "en": "For your security, confirm this payment: we sent a code to your M-PESA app."
        " Send the payment again with the code and your PIN within {minutes} minutes.",
        "sw": "Kwa usalama wako, thibitisha malipo haya: tumetuma nambari kwenye programu yako"
        " ya M-PESA. Tuma malipo tena na nambari hiyo na PIN yako ndani ya dakika {minutes}.",
    },
    "risk.code.wrong": {
        "en": "That code is not right. Check the code in your M-PESA app and try again"
        " ({left} tries left).",
        "sw": "Nambari hiyo si sahihi. Angalia nambari kwenye programu yako ya M-PESA ujaribu"
        " tena (majaribio {left} yamebaki).",
    },
    "risk.code.spent": {
        "en": "That code is not right, and after {tries} wrong tries it no longer works."
        + _AGAIN_EN,
        "sw": "Nambari hiyo si sahihi, na baada ya majaribio {tries} mabaya haifanyi kazi tena."
        + _AGAIN_SW,
    },
    "risk.code.expired": {
        "en": "That code has expired." + _AGAIN_EN,
        "sw": "Muda wa nambari hiyo umekwisha." + _AGAIN_SW,
    },
    "risk.code.used": {
        "en": "That code was used already." + _AGAIN_EN,
        "sw": "Nambari hiyo imeshatumika." + _AGAIN_SW,
    },
    "risk.code.none": {
        "en": "No code is waiting for this payment." + _AGAIN_EN,
        "sw": "Hakuna nambari inayosubiri malipo haya." + _AGAIN_SW,
    },
}
