"""The products' background work (``Background``), started and stopped by the composition root.

At start: the products' own tables (vouchers, reversals), the voucher digest
key (a file beside the PIN key, never in the database), and the in-process
airtime operator unless the platform wired a real gateway. Then, every
``sweep_interval_s``, the voucher sweep: a voucher not collected within the
profile's validity goes back to its sender (the fee is kept), and one whose
recipient has registered since is credited to their new wallet; then the app's
products' sweep (``app_sweep``): bill reminders and lapsed gift vouchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import NamedTuple

from mkoba.codes import Code
from mkoba.commands import catalog as commands
from mkoba.ledger import Store
from mkoba.money import format_amount
from mkoba.parties import OPERATOR_ID, PartyKind, Purpose, load_or_create_key, local_msisdn
from mkoba.processor.guarded import settle
from mkoba.processor.plan import Line, Note, Posted, Record
from mkoba.processor.request import Channel, Request, Response
from mkoba.processor.services import Services
from mkoba.products import (
    app_sweep,
    email_codes,
    gift_book,
    request_book,
    reversal_book,
    ticket_book,
    voucher_book,
)
from mkoba.products.common import display_name
from mkoba.products.kit import Kit
from mkoba.products.voucher_book import Voucher

log = logging.getLogger("mkoba.products")

# How often lapsed vouchers are looked for, and how many one sweep settles at most.
sweep_interval_s = 60.0
sweep_vouchers_max = 500
# A voucher row whose send has had no receipt for this long never completed (rows
# written before their money by earlier versions; rows now commit with it).
abandoned_after_s = 600


class Swept(NamedTuple):
    """What one sweep did."""

    refunded: int
    credited: int
    voided: int


def migrate(store: Store) -> None:
    """Create the products' tables if they are missing."""
    store.migrate_script("vouchers-0001", voucher_book.SCHEMA)
    store.migrate_script("reversals-0001", reversal_book.SCHEMA)
    store.migrate_script(ticket_book.MIGRATION, ticket_book.SCHEMA)
    store.migrate_script(email_codes.MIGRATION, email_codes.SCHEMA)
    store.migrate_script(request_book.MIGRATION, request_book.SCHEMA)
    store.migrate_script("gifts-0001", gift_book.SCHEMA)


class Background:
    """The products' tables and keys, and the voucher sweep while the platform runs."""

    def __init__(self, keys_dir: Path, kit: Kit) -> None:
        self.keys_dir = keys_dir
        self.kit = kit
        self._task: asyncio.Task[None] | None = None

    async def start(self, services: Services) -> None:
        """Tables, keys and the airtime operator; then the voucher sweep in the background."""
        await asyncio.to_thread(migrate, services.store)
        if await gift_book.ensure_account(services):
            log.info("opened the operator's gift voucher account")
        key_path = self.keys_dir / "voucher.key"
        self.kit.voucher_key = await asyncio.to_thread(load_or_create_key, key_path)
        email_path = self.keys_dir / "email-code.key"
        self.kit.email_key = await asyncio.to_thread(load_or_create_key, email_path)
        self._task = asyncio.get_running_loop().create_task(_sweeps(services))

    async def stop(self) -> None:
        """Stop the sweep (a sweep in progress is abandoned; the next start does it again)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _sweeps(services: Services) -> None:
    while True:
        await asyncio.sleep(sweep_interval_s)
        try:
            swept = await sweep(services)
        except Exception:  # the next sweep tries again; a sweep never stops the platform
            log.exception("voucher sweep failed")
            continue
        if any(swept):
            log.info("voucher sweep: %s", swept._asdict())
        try:
            app = await app_sweep.sweep(services)
        except Exception:  # likewise: reminders and gifts are tried again next time
            log.exception("request and gift sweep failed")
            continue
        if any(app):
            log.info("request and gift sweep: %s", app._asdict())


async def sweep(services: Services, now: int | None = None) -> Swept:
    """Settle lapsed vouchers and those whose recipient has registered; close dead rows.

    Each under the voucher's lock (``services.record_locks``), which a redemption at an
    agent takes too.
    """
    now = services.clock() if now is None else now
    refunded = credited = voided = 0
    for voucher in await voucher_book.issued(services.store, sweep_vouchers_max):
        if voucher.send_status != "completed":
            stale = now - voucher.created > abandoned_after_s * 1_000_000_000
            if voucher.send_status == "rolled_back" or (not voucher.send_status and stale):
                voided += await voucher_book.void(services, voucher, now)
            continue
        if voucher.expires <= now:
            refunded += await _refund(services, voucher, now)
        else:
            credited += await _credit(services, voucher, now)
    return Swept(refunded, credited, voided)


async def _refund(services: Services, voucher: Voucher, now: int) -> bool:
    """Send a lapsed voucher's money back to the sender."""
    payer = services.directory.get(voucher.payer_id)
    account = services.directory.account(voucher.payer_id, Purpose.WALLET)
    if payer is None or account is None:
        log.warning("voucher %s: its sender has no wallet to refund", voucher.receipt)
        return False
    profile = services.profile(now)
    local = local_msisdn(voucher.recipient, profile.country)
    settlement = voucher_book.Settlement(
        product="voucher_refund",
        state=voucher_book.REFUNDED,
        account=account,
        payee_id=payer.id,
        notes=(
            Note(
                payer.msisdn or "",
                payer.language,
                "voucher.refunded",
                {
                    "amount": _money(services, voucher.amount, now),
                    "msisdn": local,
                    "voucher": voucher.receipt,
                    "sent": services.sent_at(voucher.created),
                },
                account,
            ),
        )
        if payer.msisdn
        else (),
        lines=(Line(payer.id, account, f"Voucher {voucher.receipt} returned", voucher.amount),),
        lapsed=True,
    )
    return await _settle(services, voucher, settlement, "voucher-refund", payer.msisdn, now)


async def _credit(services: Services, voucher: Voucher, now: int) -> bool:
    """Credit a voucher to its recipient's wallet once they have registered."""
    recipient = services.directory.by_msisdn(voucher.recipient)
    if recipient is None or recipient.kind != PartyKind.CUSTOMER or not recipient.active:
        return False
    account = services.directory.account(recipient.id, Purpose.WALLET)
    if account is None:
        return False
    payer = services.directory.get(voucher.payer_id)
    profile = services.profile(now)
    amount = _money(services, voucher.amount, now)
    name = display_name(payer) if payer is not None else ""
    number = ""
    if payer is not None and payer.msisdn:
        number = local_msisdn(payer.msisdn, profile.country)
    notes = [
        Note(
            recipient.msisdn or "",
            recipient.language,
            "voucher.credited",
            {"amount": amount, "name": name, "msisdn": number},
            account,
        )
    ]
    local = local_msisdn(voucher.recipient, profile.country)
    notes.extend(voucher_book.collected(services, payer, voucher, amount, local))
    settlement = voucher_book.Settlement(
        product="voucher_credit",
        state=voucher_book.CREDITED,
        account=account,
        payee_id=recipient.id,
        notes=tuple(notes),
        lines=(Line(recipient.id, account, f"Received from {name} (voucher)", voucher.amount),),
    )
    return await _settle(services, voucher, settlement, "voucher-credit", recipient.msisdn, now)


async def _settle(
    services: Services,
    voucher: Voucher,
    settlement: voucher_book.Settlement,
    kind: str,
    msisdn: str | None,
    now: int,
) -> bool:
    request = Request(
        f"{kind}:{voucher.receipt}",
        Channel.SYSTEM,
        settlement.product,
        msisdn or "system",
        commands.NoInput(),
    )

    def answer(_settled: Voucher, posted: Posted | None) -> Record:
        code = Code.OK if posted is not None and posted.ok else Code.SYSTEM_ERROR
        return Record(Response(request.id, code, code.message), OPERATOR_ID)

    guarded = voucher_book.settling(services, voucher, settlement, request, now, answer)
    posted = (await settle(services, services.record_locks, request, guarded, now)).posted
    if posted is not None and not posted.ok:
        log.warning("voucher %s: %s refused by the ledger", voucher.receipt, settlement.product)
    return posted is not None and posted.ok


def _money(services: Services, minor: int, now: int) -> str:
    return format_amount(minor, services.profile(now).currency)
