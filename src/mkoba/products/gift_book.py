"""The gift book: gift vouchers bought in the app, until redeemed, cashed or refunded.

A gift's row commits with its purchase's money (``Plan.records``: pending where
the channel has a delivery deadline), keyed by the purchase's request id, and
counts only once that request's ``buy_gift`` receipt is ``completed``, as a
voucher's does (``voucher_book``). Its code is never stored: only a keyed
digest of the recipient's number and the code. Settling a gift (a till takes
it, the recipient cashes it into their wallet, it lapses and goes back to the
buyer) moves the money out of the operator's gift account and marks the row in
the same batch, decided under the gift's lock (``settling``), so it happens once.
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
from mkoba.parties import OPERATOR_ID, Change, Purpose, SecretKey, emoney_account
from mkoba.processor import history
from mkoba.processor.guarded import Guarded, Posting
from mkoba.processor.plan import Leg, Line, Note, Plan, Posted, Record, Row
from mkoba.processor.request import Request
from mkoba.processor.services import Services

GIFTS = Services.operator_account(Purpose.GIFTS)
# Gift codes are this many digits: easy to read out at a till.
code_digits = 8
PRODUCT = "buy_gift"

SCHEMA = """
CREATE TABLE IF NOT EXISTS gifts (
    request_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    buyer_id BIGINT NOT NULL,
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
CREATE INDEX IF NOT EXISTS gifts_digest ON gifts (digest);
CREATE INDEX IF NOT EXISTS gifts_open ON gifts (state, expires);
"""

_COLUMNS = (
    "request_id",
    "digest",
    "buyer_id",
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
    "SELECT request_id, buyer_id, recipient, amount, fee, created, expires,"
    " state, settled_by, settled_receipt FROM gifts"
)

ISSUED = "issued"
REDEEMED = "redeemed"
REFUNDED = "refunded"
CASHED = "cashed"
VOID = "void"


class Gift(NamedTuple):
    """A gift as the book holds it, with its purchase's receipt."""

    request_id: str
    buyer_id: int
    recipient: str
    amount: int
    fee: int
    created: int
    expires: int
    state: str
    settled_by: str
    settled_receipt: str
    # The purchase's receipt, request number and status ('' and 0 when it has none).
    receipt: str
    number: int
    purchase_status: str

    @property
    def open(self) -> bool:
        """Whether its money is still in the gift account: bought, and not settled."""
        return self.state == ISSUED and self.purchase_status == "completed"

    def live(self, now: int) -> bool:
        """Whether it can be used now."""
        return self.open and now < self.expires


def _gifts(store: Store, rows: list[tuple[object, ...]]) -> list[Gift]:
    """The gifts of ``rows``, each with its purchase's receipt (blocking)."""
    sends = history.receipts_of_requests(store, [str(row[0]) for row in rows], PRODUCT)
    return [_gift(row, sends.get(str(row[0]))) for row in rows]


def _gift(row: tuple[object, ...], send: history.Receipt | None) -> Gift:
    request_id, buyer, recipient, amount, fee, created, expires, state, by, settled = row
    receipt, number, status = (send.receipt, send.number, send.status) if send else ("", 0, "")
    return Gift(
        str(request_id),
        int(str(buyer)),
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
    """A fresh random gift code."""
    return f"{secrets.randbelow(10**code_digits):0{code_digits}d}"


def digest(key: SecretKey, msisdn: str, code: str) -> str:
    """The stored form of a gift code: keyed to the recipient's number, useless alone.

    The key is the voucher key; the ``gift:`` prefix keeps the two kinds of digest apart.
    """
    message = f"gift:{msisdn}:{code}".encode()
    return hmac.new(key.reveal(), message, hashlib.sha256).hexdigest()


# -- rows ---------------------------------------------------------------------------


def issue_row(
    request_id: str,
    code_digest: str,
    buyer_id: int,
    recipient: str,
    amount: int,
    fee: int,
    now: int,
    expires: int,
) -> Row:
    """A new gift (it counts once its purchase completes), committed with its money."""
    values = (request_id, code_digest, buyer_id, recipient, amount, fee, now, expires)
    return Row(
        "gifts",
        _COLUMNS,
        (*values, ISSUED, "", "", now),
        ("request_id",),
        WriteMode.UPSERT,
    )


def state_row(request_id: str, state: str, settled_by: str, receipt: str, now: int) -> Write:
    """A gift's new state, and who settled it."""
    return Write(
        "gifts",
        ("request_id", "state", "settled_by", "settled_receipt", "updated"),
        (request_id, state, settled_by, receipt, now),
        ("request_id",),
        WriteMode.UPDATE,
    )


# -- reading ------------------------------------------------------------------------


async def by_digest(store: Store, code_digest: str) -> list[Gift]:
    """Every gift with this code and number (normally one)."""
    return await asyncio.to_thread(_read, store, f"{_SELECT} WHERE digest = ?", (code_digest,))


async def by_request(store: Store, request_id: str) -> Gift | None:
    """The gift a purchase request made."""
    found = await asyncio.to_thread(_read, store, f"{_SELECT} WHERE request_id = ?", (request_id,))
    return found[0] if found else None


async def issued(store: Store, limit: int) -> list[Gift]:
    """Gifts not settled yet, the soonest to lapse first."""
    return await asyncio.to_thread(
        _read, store, f"{_SELECT} WHERE state = ? ORDER BY expires LIMIT ?", (ISSUED, limit)
    )


def _read(store: Store, sql: str, params: tuple[object, ...]) -> list[Gift]:
    return _gifts(store, store.query(sql, params))


# -- settling -----------------------------------------------------------------------


class Settlement(NamedTuple):
    """Where a gift's money goes, and what to tell whom."""

    # The product on the receipt: redeem_gift, cash_gift or gift_refund.
    product: str
    state: str
    # The account credited and its owner.
    account: int
    payee_id: int
    notes: tuple[Note, ...]
    lines: tuple[Line, ...]
    # A refund is for a lapsed gift; the other settlements for a live one.
    lapsed: bool = False


def settling(
    services: Services,
    gift: Gift,
    settlement: Settlement,
    request: Request,
    now: int,
    answer: Callable[[Gift, Posted | None], Record],
) -> Guarded[Gift | None]:
    """Move a live gift's money once, as a decision TranProc makes under its lock.

    The row is read again under the gift's lock: if someone settled it first,
    nothing moves and ``answer`` gets the gift as it stands and no posting;
    otherwise it gets the gift as the posting left it, and the posting.
    """

    async def read() -> Gift | None:
        return await by_request(services.store, gift.request_id)

    async def decide(current: Gift | None) -> Posting | Record:
        assert current is not None, gift.request_id
        if not current.open or (now >= current.expires) != settlement.lapsed:
            return answer(current, None)
        plan = Plan(
            product=settlement.product,
            payer_id=OPERATOR_ID,
            payee_id=settlement.payee_id,
            amount=current.amount,
            legs=(Leg(GIFTS, settlement.account, current.amount, short=Code.SYSTEM_ERROR),),
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

    return Guarded(gift_key(gift.request_id), read, decide)


def gift_key(request_id: str) -> str:
    """The lock of a gift: one settlement of it at a time."""
    return f"gift:{request_id}"


async def void(services: Services, gift: Gift, now: int) -> bool:
    """Close the row of a purchase that never completed (rolled back); True if closed."""
    async with services.record_locks.hold(gift_key(gift.request_id)):
        current = await by_request(services.store, gift.request_id)
        if current is None or current.state != ISSUED:
            return False
        if current.purchase_status in ("completed", "pending"):
            return False
        write = state_row(gift.request_id, VOID, "", "", now)
        await services.writer.submit_async([], attach=[write])
        return True


async def ensure_account(services: Services) -> bool:
    """Open the operator's gift account on a store made before gifts existed; True if opened.

    A new store has it from the start (``parties.chart``); nothing happens before the
    operator exists (the composition root creates it first).
    """
    directory = services.directory
    if directory.get(OPERATOR_ID) is None or directory.account(OPERATOR_ID, Purpose.GIFTS):
        return False
    profile = services.profile(services.clock())
    account = emoney_account(OPERATOR_ID, Purpose.GIFTS, profile.ledger, profile.currency.code)
    assert account.id == GIFTS
    results = await asyncio.wrap_future(services.writer.create_accounts([account]))
    if not all(result.ok for result in results):
        return False
    change = Change(accounts=((OPERATOR_ID, Purpose.GIFTS, account.id),))
    await services.writer.submit_async([], attach=change.writes())
    directory.apply(change)
    return True
