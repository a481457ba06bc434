"""What a product asks the processor to commit: legs, receipt, statement lines, messages, rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from mkoba.codes import Code
from mkoba.ledger import Account, TransferResult, Write, WriteMode
from mkoba.parties import Change
from mkoba.processor.request import Response

if TYPE_CHECKING:
    from mkoba.processor.events import BusinessPayment


class Leg(NamedTuple):
    """One ledger transfer of a business transaction; all legs succeed or fail together."""

    debit: int
    credit: int
    amount: int
    # What to tell the requester when the debit account lacks the money...
    short: Code = Code.INSUFFICIENT_FUNDS
    # ...and when the credit account would pass its maximum balance.
    full: Code = Code.RECIPIENT_LIMIT


class Note(NamedTuple):
    """A message to send once the money has moved: an SMS, or an HTTP callback.

    ``recipient`` is an MSISDN for ``sms`` and a URL for ``callback``. The text
    is rendered inside the commit (``mkoba.messages.render``) with ``params``
    plus ``receipt``, ``date``, ``time``, ``timestamp`` (ns) and, when
    ``balance_of`` names an account, ``balance`` (formatted) and
    ``balance_minor``.
    """

    recipient: str
    language: str
    template: str
    params: dict[str, str]
    # The account whose new balance fills ``{balance}`` (0: none).
    balance_of: int = 0
    channel: str = "sms"
    # Holds a secret (a temporary PIN, a voucher code): sealed in the outbox table,
    # opened only to hand it to the gateway, then scrubbed.
    secret: bool = False


class Row(NamedTuple):
    """A channel's own row, committed with the money (an STK prompt's outcome).

    ``receipt`` and ``time`` name columns given the transaction's receipt and
    the commit's time (ns) when the money moves.
    """

    table: str
    columns: tuple[str, ...]
    values: tuple[object, ...]
    keys: tuple[str, ...] = ()
    mode: WriteMode = WriteMode.INSERT
    receipt: str = ""
    time: str = ""


class Line(NamedTuple):
    """A statement line: what a party sees in its mini statement."""

    party_id: int
    account: int
    description: str
    # Signed: money out is negative, fees included.
    amount: int


class Plan(NamedTuple):
    """A business transaction, ready to commit."""

    product: str
    payer_id: int
    payee_id: int
    amount: int
    legs: tuple[Leg, ...]
    fee: int = 0
    business_fee: int = 0
    excise: int = 0
    commission: int = 0
    reference: str = ""
    notes: tuple[Note, ...] = ()
    lines: tuple[Line, ...] = ()
    # Channels' rows that commit when the money moves (a subscriber's ``Reaction``).
    rows: tuple[Row, ...] = ()
    # The product's own rows, committed with the money's first step: where the channel
    # has a delivery deadline they exist while the money is pending (a voucher).
    records: tuple[Row, ...] = ()
    # A payment to a business: the processor tells the subscribers (``processor/events.py``)
    # and commits their reactions with the money.
    event: BusinessPayment | None = None
    change: Change | None = None
    # Counted against the payer's daily limit.
    usage: int = 0
    # The account whose balance the response reports (0: none).
    balance_of: int = 0
    # What the response says on success (default: the code's message).
    message: str = ""
    # Something outside the ledger to do once the money is reserved (an airtime top-up):
    # the legs are committed pending, then ``effect()`` runs; True posts them at once (an
    # effect cannot be undone, so no delivery rule), False voids them and answers
    # ``effect_failed``.
    effect: Callable[[], Awaitable[bool]] | None = None
    effect_failed: Code = Code.SYSTEM_ERROR
    data: dict[str, Any] = {}  # noqa: RUF012 (NamedTuple defaults are shared, never mutated)


class Record(NamedTuple):
    """A durable outcome that moves no money (a registration, a PIN change).

    The processor opens ``accounts`` in the ledger first (a new wallet), then
    commits the directory change and the messages with the request row, so a
    replay gets the same response and nothing happens twice.
    """

    response: Response
    party_id: int
    change: Change | None = None
    notes: tuple[Note, ...] = ()
    accounts: tuple[Account, ...] = ()
    # The product's own rows (a care ticket), committed with the request's.
    rows: tuple[Write, ...] = ()


class Refused(Exception):
    """A product's "no": raised anywhere in a product, answered with ``code``."""

    def __init__(self, code: Code, message: str | None = None, **data: Any) -> None:
        assert not code.ok
        super().__init__(message or code.message)
        self.code = code
        self.message = message or code.message
        self.data = data


class Posted(NamedTuple):
    """What the ledger said, and the number and receipt the batch used."""

    results: list[TransferResult]
    number: int
    receipt: str

    @property
    def ok(self) -> bool:
        """True when every transfer was applied now (not before: EXISTS is someone else's)."""
        return all(result is TransferResult.OK for result in self.results)
