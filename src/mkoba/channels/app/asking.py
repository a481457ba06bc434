"""Asking TranProc for the app: one request, its PIN sealed here, its delivery acknowledged.

The app is a channel with a delivery deadline: a success is acknowledged
before it is answered (so the money the phone reads as moved has moved), and a
phone that hung up before its answer was ready gets its request rolled back.
"""

from __future__ import annotations

from typing import Any

from mkoba.codes import Code
from mkoba.commands import BadCommand, parse
from mkoba.parties import Pin, seal_pin
from mkoba.parties.secrets import Otp
from mkoba.ports import Ports, Unavailable
from mkoba.processor.request import Channel, Request, Response


async def ask(
    ports: Ports,
    request_id: str,
    msisdn: str,
    product: str,
    params: dict[str, str],
    pin: str | None,
    still_there: Any,
    otp: str | None = None,
) -> Response:
    """TranProc's answer to ``product`` for ``msisdn``, delivered (or rolled back).

    ``still_there``: an async callable, False once the phone has hung up. ``otp``: the
    code confirming a stepped-up payment, sealed here as the PIN is.
    """
    try:
        command = parse(product, params, ports.profile())
    except BadCommand as bad:
        return Response(request_id, bad.code, bad.message)
    sealed = None if pin is None else seal_pin(Pin(pin), ports.transport_key, request_id.encode())
    # The device binding proves the phone: enrolled with a code sent to it by SMS and its
    # PIN, and every request signed by the key made then (``validation``).
    request = Request(
        request_id, Channel.APP, product, msisdn, command, sealed, ports.clock(), True
    )
    if otp is not None:
        context = request_id.encode() + b":otp"
        request = request._replace(otp=seal_pin(Otp(otp), ports.transport_key, context))
    try:
        response = await ports.request(request)
    except Unavailable:
        return Response(request_id, Code.SYSTEM_BUSY, Code.SYSTEM_BUSY.message)
    if not response.ok:
        return response
    if not await still_there():
        await ports.acknowledge(request_id, False)
        return Response(request_id, Code.ROLLED_BACK, Code.ROLLED_BACK.message)
    try:
        if await ports.acknowledge(request_id):
            return response
    except Unavailable:
        return Response(request_id, Code.SYSTEM_BUSY, Code.SYSTEM_BUSY.message)
    return Response(request_id, Code.ROLLED_BACK, Code.ROLLED_BACK.message)
