"""SIM data messages: binary SMS between a SIM applet and the SIM server, never text.

A SIM-toolkit applet's secured packets (3GPP TS 31.115) travel as 8-bit SMS
through the same SMSC as the texts. A deliver_sm is SIM data when its TP-PID is
0x7F (SIM data download), or when it is 8-bit data whose user data header holds
the command packet identifier (IEI 0x70). Such a message must never reach the
text inbox: decoded as text it is noise, and answering it with a help SMS would
show the customer garbage. It goes, bytes as they came (UDH included), to the
SIM data handler the composition root sets; each part the handler returns goes
back to the phone as a SIM data download SMS from the short code it was sent to.

The bytes are a customer's sealed request: no log line here carries them, and
a failing handler is logged by its exception's type only (its message might
quote them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mkoba.channels.sms.esme import ESM_CLASS_UDHI, PID_SIM_DATA_DOWNLOAD, Esme, Inbound

log = logging.getLogger("mkoba.sms.simdata")

# (source, destination, user data) -> the user data of the SMS that answer it.
SimDataHandler = Callable[[str, str, bytes], Awaitable[list[bytes]]]

COMMAND_PACKET_IEI = 0x70
# SMPP 3.4 §5.2.19: 0x02 and 0x04 are "octet unspecified (8-bit binary)".
_SMPP_OCTETS = frozenset({0x02, 0x04})


def is_octets(data_coding: int) -> bool:
    """Whether a data coding says 8-bit data (SMPP's own values, or a TS 23.038 DCS)."""
    if data_coding in _SMPP_OCTETS:
        return True
    if data_coding & 0xF0 == 0xF0:  # data coding / message class: bit 2 set is 8-bit
        return bool(data_coding & 0x04)
    if 0x10 <= data_coding < 0x80:  # general groups: uncompressed, alphabet bits 01
        return data_coding & 0x2C == 0x04
    return False


def header_elements(user_data: bytes) -> list[int]:
    """The IEIs of the user data header ``user_data`` begins with ([] if it is malformed)."""
    if not user_data or user_data[0] + 1 > len(user_data):
        return []
    udh = user_data[1 : user_data[0] + 1]
    found, at = [], 0
    while at + 2 <= len(udh):
        found.append(udh[at])
        at += 2 + udh[at + 1]
    return found if at == len(udh) else []


def is_sim_data(inbound: Inbound) -> bool:
    """Whether a message from a phone is SIM data (not a text to read)."""
    if inbound.protocol_id == PID_SIM_DATA_DOWNLOAD:
        return True
    return (
        bool(inbound.esm_class & ESM_CLASS_UDHI)
        and is_octets(inbound.data_coding)
        and COMMAND_PACKET_IEI in header_elements(inbound.short_message)
    )


async def route(inbound: Inbound, handler: SimDataHandler | None, esme: Esme | None) -> None:
    """Hand SIM data to ``handler`` and send its answer back; drop it without one."""
    if handler is None:
        log.warning("a SIM data message dropped: no SIM data handler is set")
        return
    try:
        answer = await handler(inbound.source, inbound.destination, inbound.short_message)
    except Exception as error:  # the workers go on; the SIM sends again
        log.error("the SIM data handler failed: %s", type(error).__name__)
        return
    if not answer:
        return
    if esme is None:
        log.warning("a SIM data answer of %d SMS not sent: no SMSC", len(answer))
        return
    # From the short code the phone wrote to, back to the phone.
    sends = (esme.submit_binary(inbound.destination, inbound.source, part) for part in answer)
    results = await asyncio.gather(*sends, return_exceptions=True)
    refused = [result for result in results if isinstance(result, BaseException) or not result.ok]
    if refused:
        log.warning("%d of %d SIM data SMS not taken by the SMSC", len(refused), len(results))
