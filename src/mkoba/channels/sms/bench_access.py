"""What ``mkoba bench sms`` uses of the SMS channel, handed to it by the composition root.

The benchmark may not import a channel (only ``app.py`` does): ``app.py`` re-exports
these, so the benchmark drives the channel's own SMPP client and encoding.
"""

from __future__ import annotations

from collections.abc import Callable

from mkoba.channels.sms import encoding, receipts
from mkoba.channels.sms.esme import Esme, Inbound


def smpp_client(
    host: str,
    port: int,
    system_id: str,
    password: str,
    window: int,
    on_receipt: Callable[[str], None],
) -> Esme:
    """The SMS channel's SMPP transceiver (not started), calling ``on_receipt`` per receipt.

    ``on_receipt`` gets the receipted message id, spelled as ``smpp_message_id`` spells it.
    """

    def on_inbound(inbound: Inbound) -> None:
        receipt = receipts.read(inbound)
        if receipt is not None:
            on_receipt(receipt.message_id)

    return Esme(host, port, system_id, password, on_inbound=on_inbound, window=window)


def smpp_single_part(text: str) -> dict[str, object]:
    """The submit_sm fields that carry ``text`` in one part (it must fit in one)."""
    (part,) = encoding.parts(text)
    return {
        "esm_class": part.esm_class,
        "data_coding": part.data_coding,
        "short_message": part.short_message,
    }


def smpp_message_id(message_id: str) -> str:
    """One spelling of an SMSC's message id, the one receipts are reported with."""
    return receipts.normal_id(message_id)
