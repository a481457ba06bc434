"""A core's first life, ended as a crash ends it: a send answered, not yet acknowledged, kill -9.

Run as ``python -m tests.processor.first_life STORE FOLDER PROFILE TO`` from the
repository: it starts a platform on ``STORE`` (keys in ``FOLDER``), funds a payer,
sends 1,000 on the native API channel to a new customer (``TO`` = ``customer``) or
to a number nobody registered (``TO`` = ``voucher``, a voucher), prints one JSON
line saying who paid whom and the request's id, and kills itself with SIGKILL:
no drain, no rollback, no checkpoint, no closing of the store. The send is
committed pending (phase one) and waits for an acknowledgement that only the
next life can take.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from mkoba.app import Platform
from mkoba.codes import Code
from tests.processor.world import CUSTOMER_PIN, World, request_of, settings_for

PAYER_KSH = 5_000
SENT_KSH = 1_000


async def first_life(store: str, folder: Path, profile: str, to: str) -> None:
    """Commit one send's phase one, say what it was, and die at once."""
    platform = Platform(settings_for(store, folder, profile=profile))
    await platform.start()
    world = await World(platform).setup()
    payer = await world.customer(PAYER_KSH, name="Akinyi Otieno")
    payee = await world.customer(name="Baraka Mwangi") if to == "customer" else None
    recipient = payee.msisdn if payee is not None else world.msisdn()
    assert payer.msisdn is not None and recipient is not None
    product = "send_money" if payee is not None else "send_unregistered"
    request = request_of(
        platform, product, payer.msisdn, CUSTOMER_PIN, to=recipient, amount=str(SENT_KSH)
    )
    response = await platform.request(request)
    assert response.code is Code.OK, response
    said = {"request_id": request.id, "payer": payer.msisdn, "to": recipient}
    sys.stdout.write(json.dumps(said) + "\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(first_life(sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]))
