"""What products use beyond TranProc's services: one kit per platform, built by the root.

``app.py`` builds the ``Kit`` and hands it to the products that need it (buying
airtime, vouchers) and to their background work, which loads the
voucher key at start. TranProc never sees it: its services stay the same for
every product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mkoba.codes import Code
from mkoba.parties import SecretKey
from mkoba.processor.plan import Refused
from mkoba.products.airtime_gateway import AirtimeGateway, MemoryOperator


@dataclass
class Kit:
    """The airtime gateway, the voucher key and the email code key."""

    # The operator that tops lines up (in memory unless the root is given a real one;
    # None: airtime cannot be bought).
    airtime: AirtimeGateway | None = field(default_factory=MemoryOperator)
    # The key voucher codes are digested with; loaded by ``Background.start``.
    voucher_key: SecretKey | None = None
    # The key email codes are digested with; loaded by ``Background.start``.
    email_key: SecretKey | None = None

    def key(self) -> SecretKey:
        """The voucher key, or ``SYSTEM_BUSY`` while the platform is still starting."""
        if self.voucher_key is None:
            raise Refused(Code.SYSTEM_BUSY, "Vouchers are not available yet; try again shortly.")
        return self.voucher_key

    def code_key(self) -> SecretKey:
        """The email code key, or ``SYSTEM_BUSY`` while the platform is still starting."""
        if self.email_key is None:
            raise Refused(Code.SYSTEM_BUSY, "Email is not available yet; try again shortly.")
        return self.email_key
