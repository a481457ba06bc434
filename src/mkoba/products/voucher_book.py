"""The voucher book: money sent to unregistered numbers, until it is collected or goes back.

A voucher's row commits with its send's money (``Plan.records``: the first
step, pending where the channel has a delivery deadline), keyed by the send's
request id; it only counts once that request's receipt is ``completed`` (a send
rolled back leaves a row the sweep voids; a send the ledger refused, none). Its code is never
stored: only a keyed digest of the recipient's number and the code. Settling
a voucher (cash at an agent, refund on lapse, credit once the recipient
registers) moves the money out of the operator's voucher account and marks
the row in the same batch, a decision TranProc makes under the voucher's lock
(``settling``, ``processor/guarded.py``), so it happens once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import NamedTuple

from mkoba.codes import Code
from mkoba.ledger import Store, Write, WriteMode
from mkoba.parties import OPERATOR_ID, Party, Purpose, SecretKey
from mkoba.processor import history
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Leg, Line, Note, Plan, Posted, Record, Row
from mkoba.processor.request import Request
from mkoba.processor.services import Services

VOUCHERS = Services.operator_account(Purpose.VOUCHERS)
# Voucher codes are this many digits: easy to read out at an agent's counter.
code_digits = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS vouchers (
    request_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    payer_id BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    fee BIGINT NOT NULL CHECK (fee >= 0),
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    state TEXT NOT NULL,
    settled_by TEXT NOT NULL,
    settled_receipt TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS vouchers_digest ON vouchers (digest);
CREATE INDEX IF NOT EXISTS vouchers_open ON vouchers (state, expires);
"""

_COLUMNS = (
    "request_id",
    "digest",
    "payer_id",
    "recipient",
    "amount",
    "fee",
    "created",
    "expires",
    "state",
    "settled_by",
    "settled_receipt",
    "updated",
)
_SELECT = (
    "SELECT request_id, payer_id, recipient, amount, fee, created, expires,"
    " state, settled_by, settled_receipt FROM vouchers"
)

ISSUED = "issued"
REDEEMED = "redeemed"
REFUNDED = "refunded"
CREDITED = "credited"
VOID = "void"


class Voucher(NamedTuple):
    """A voucher as the book holds it, with its send's receipt."""

    request_id: str
    payer_id: int
    recipient: str
    amount: int
    fee: int
    created: int
    expires: int
    state: str
    settled_by: str
    settled_receipt: str
    # The send's receipt, request number and status ('' and 0 when it has none).
    receipt: str
    number: int
    send_status: str

    @property
    def open(self) -> bool:
        """Whether its money is still in the voucher account: sent, and not settled."""
        return self.state == ISSUED and self.send_status == "completed"

    def live(self, now: int) -> bool:
        """Whether it can be collected now."""
        return self.open and now < self.expires


def _vouchers(store: Store, rows: list[tuple[object, ...]]) -> list[Voucher]:
    """The vouchers of ``rows``, each with its send's receipt (blocking)."""
    sends = history.receipts_of_requests(store, [str(row[0]) for row in rows], "send_unregistered")
    return [_voucher(row, sends.get(str(row[0]))) for row in rows]


def _voucher(row: tuple[object, ...], send: history.Receipt | None) -> Voucher:
    request_id, payer, recipient, amount, fee, created, expires, state, by, settled = row
    receipt, number, status = (send.receipt, send.number, send.status) if send else ("", 0, "")
    return Voucher(
        str(request_id),
        int(str(payer)),
        str(recipient),
        int(str(amount)),
        int(str(fee)),
        int(str(created)),
        int(str(expires)),
        str(state),
        str(by),
        str(settled),
        str(receipt),
        int(str(number)),
        str(status),
    )


# -- codes --------------------------------------------------------------------------


def new_code() -> str:
    """A fresh random voucher code."""
    return f"{secrets.randbelow(10**code_digits):0{code_digits}d}"


def digest(key: SecretKey, msisdn: str, code: str) -> str:
    """The stored form of a voucher code: keyed to the recipient's number, useless alone."""
    message = f"voucher:{msisdn}:{code}".encode()
    return hmac.new(key.reveal(), message, hashlib.sha256).hexdigest()


# -- rows ---------------------------------------------------------------------------


def issue_row(
    request_id: str,
    code_digest: str,
    payer_id: int,
    recipient: str,
    amount: int,
    fee: int,
    now: int,
    expires: int,
) -> Row:
    """A new voucher (it counts once its send completes), committed with its money."""
    values = (request_id, code_digest, payer_id, recipient, amount, fee, now, expires)
    return Row(
        "vouchers",
        _COLUMNS,
        (*values, ISSUED, "", "", now),
        ("request_id",),
        WriteMode.UPSERT,
    )


def state_row(request_id: str, state: str, settled_by: str, receipt: str, now: int) -> Write:
    """A voucher's new state, and who settled it."""
    return Write(
        "vouchers",
        ("request_id", "state", "settled_by", "settled_receipt", "updated"),
        (request_id, state, settled_by, receipt, now),
        ("request_id",),
        WriteMode.UPDATE,
    )


# -- reading ------------------------------------------------------------------------


async def by_digest(store: Store, code_digest: str) -> list[Voucher]:
    """Every voucher with this code and number (normally one)."""
    return await asyncio.to_thread(_read, store, f"{_SELECT} WHERE digest = ?", (code_digest,))


async def by_request(store: Store, request_id: str) -> Voucher | None:
    """The voucher a send request made."""
    found = await asyncio.to_thread(_read, store, f"{_SELECT} WHERE request_id = ?", (request_id,))
    return found[0] if found else None


async def issued(store: Store, limit: int) -> list[Voucher]:
    """Vouchers not settled yet, the soonest to lapse first."""
    return await asyncio.to_thread(
        _read, store, f"{_SELECT} WHERE state = ? ORDER BY expires LIMIT ?", (ISSUED, limit)
    )


def _read(store: Store, sql: str, params: tuple[object, ...]) -> list[Voucher]:
    return _vouchers(store, store.query(sql, params))


# -- settling -----------------------------------------------------------------------


class Settlement(NamedTuple):
    """Where a voucher's money goes, and what to tell whom."""

    # The product on the receipt: redeem_voucher, voucher_refund or voucher_credit.
    product: str
    state: str
    # The account credited and its owner.
    account: int
    payee_id: int
    notes: tuple[Note, ...]
    lines: tuple[Line, ...]
    # A refund is for a lapsed voucher; the other settlements for a live one.
    lapsed: bool = False


def settling(
    services: Services,
    voucher: Voucher,
    settlement: Settlement,
    request: Request,
    now: int,
    answer: Callable[[Voucher, Posted | None], Record],
) -> Guarded[Voucher | None]:
    """Move a live voucher's money once, as a decision TranProc makes under its lock.

    The row is read again under the voucher's lock: if someone settled it first,
    nothing moves and ``answer`` gets the voucher as it stands and no posting;
    otherwise it gets the voucher as the posting left it, and the posting.
    """

    async def read() -> Voucher | None:
        return await by_request(services.store, voucher.request_id)

    async def decide(current: Voucher | None) -> Posting | Record:
        assert current is not None, voucher.request_id
        if not current.open or (now >= current.expires) != settlement.lapsed:
            return answer(current, None)
        plan = Plan(
            product=settlement.product,
            payer_id=OPERATOR_ID,
            payee_id=settlement.payee_id,
            amount=current.amount,
            legs=(Leg(VOUCHERS, settlement.account, current.amount, short=Code.SYSTEM_ERROR),),
            reference=current.receipt,
            notes=settlement.notes,
            lines=settlement.lines,
        )

        def rows(_number: int, receipt: str) -> list[Write]:
            return [state_row(current.request_id, settlement.state, request.id, receipt, now)]

        def answered(posted: Posted) -> Record:
            if not posted.ok:
                return answer(current, posted)
            settled = current._replace(
                state=settlement.state, settled_by=request.id, settled_receipt=posted.receipt
            )
            return answer(settled, posted)

        return Posting(plan, rows, answered)

    return Guarded(voucher_key(voucher.request_id), read, decide)


def collected(
    services: Services, payer: Party | None, voucher: Voucher, amount: str, local: str
) -> tuple[Note, ...]:
    """The sender's SMS that the voucher reached ``local`` (none for a sender without a phone)."""
    if payer is None or not payer.msisdn:
        return ()
    params = {
        "amount": amount,
        "msisdn": local,
        "voucher": voucher.receipt,
        "sent": services.sent_at(voucher.created),
    }
    return (Note(payer.msisdn, payer.language, "voucher.collected", params),)


def voucher_key(request_id: str) -> str:
    """The lock of a voucher: one settlement of it at a time."""
    return f"voucher:{request_id}"


async def void(services: Services, voucher: Voucher, now: int) -> bool:
    """Close the row of a send that never completed (failed or rolled back); True if closed."""
    async with services.record_locks.hold(voucher_key(voucher.request_id)):
        current = await by_request(services.store, voucher.request_id)
        if current is None or current.state != ISSUED:
            return False
        if current.send_status in ("completed", "pending"):
            return False
        write = state_row(voucher.request_id, VOID, "", "", now)
        await services.writer.submit_async([], attach=[write])
        return True
