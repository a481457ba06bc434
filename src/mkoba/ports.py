"""The narrow interfaces a channel gets from the composition root, and the shape of a channel.

A channel never receives the platform: ``app.py`` builds each one with the
``Ports`` it uses (send a request to TranProc and await its response, report a
response's delivery, look a phone up in the directory, read the profile and the
clock, seal a PIN with the transport key) plus its own settings, and then calls
``mount``, ``start`` and ``stop``. A new channel is a new package that takes
these and a few lines in ``app.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from mkoba.catalog import Profile
from mkoba.ledger import Balance, Snapshot, Write
from mkoba.parties import Credential, Party, PartyKind, Pin, Purpose, SecretKey
from mkoba.processor.request import Request, Response

if TYPE_CHECKING:
    from fastapi import FastAPI


class Unavailable(RuntimeError):
    """What a channel needs from the core (a commit, a read) could not be had in time.

    In the cluster form while no core serves (one restarting, a standby taking
    over): a channel answers its own busy code, never an error.
    """


class Submit(Protocol):
    """Send a request to TranProc (through the bus) and await its response."""

    def __call__(self, request: Request, /) -> Coroutine[Any, Any, Response]: ...


class Acknowledge(Protocol):
    """Report whether a response reached its user; True when its money now stands."""

    def __call__(self, request_id: str, delivered: bool = ..., /) -> Coroutine[Any, Any, bool]: ...


class DirectoryView(Protocol):
    """The directory of parties, read-only: who is who, and which account is theirs."""

    def get(self, party_id: int) -> Party | None:
        """The party with this id, or None."""

    def by_msisdn(self, msisdn: str) -> Party | None:
        """The party on a phone number (canonical form), or None."""

    def credential(self, party_id: int) -> Credential | None:
        """A party's PIN state (wrong tries, lock), or None: no PIN yet."""

    def by_id_digest(self, digest: str) -> list[Party]:
        """The parties registered with one ID document (by its keyed digest)."""

    def accounts_of(self, party_id: int) -> dict[Purpose, int]:
        """A party's ledger accounts, by purpose."""

    def by_number(self, kind: PartyKind, number: str) -> Party | None:
        """The business of ``kind`` with this shortcode, till or agent number, or None."""

    def account(self, party_id: int, purpose: Purpose) -> int | None:
        """The ledger account of ``party_id`` kept for ``purpose``, or None."""

    def of_kind(self, kind: PartyKind) -> list[Party]:
        """Every party of one kind."""


class Fronts(Protocol):
    """The fronts of the cluster form: who is alive, who owns a prompt, asking its owner.

    ``bus.members.Members`` on a NATS bus; ``SoleFront`` in one process.
    """

    # This front's name ("" for the one process: nothing else is ever alive).
    me: str

    async def alive(self, name: str) -> bool:
        """Whether the front ``name`` is alive (its prompts are not to be taken)."""

    async def claim(self, key: str) -> bool:
        """Claim ``key``: True for exactly one claimant until released."""

    async def release(self, key: str) -> None:
        """Give ``key`` up."""

    async def ask(self, owner: str, what: str, body: bytes) -> bytes | None:
        """Forward ``body`` to ``owner``'s ``what``; its answer, or None."""

    async def answer(self, what: str, answerer: Callable[[bytes], Awaitable[bytes]]) -> None:
        """Answer what other fronts forward on ``what``."""


class SoleFront:
    """The one process's ``Fronts``: it owns everything; its claims live in memory."""

    me = ""

    def __init__(self) -> None:
        self._claims: set[str] = set()

    async def alive(self, name: str) -> bool:
        """Only this process lives: what a previous run owned is ours to finish."""
        return False

    async def claim(self, key: str) -> bool:
        """Claimed unless claimed already."""
        if key in self._claims:
            return False
        self._claims.add(key)
        return True

    async def release(self, key: str) -> None:
        """Released."""
        self._claims.discard(key)

    async def ask(self, owner: str, what: str, body: bytes) -> bytes | None:
        """Nobody else to ask."""
        return None

    async def answer(self, what: str, answerer: Callable[[bytes], Awaitable[bytes]]) -> None:
        """Nobody forwards anything here."""


@dataclass(frozen=True)
class Ports:
    """What every channel may use of the platform, and nothing more."""

    request: Submit
    acknowledge: Acknowledge
    # The party on a phone number (canonical form), or None.
    party: Callable[[str], Party | None]
    # The catalog version in force now.
    profile: Callable[[], Profile]
    # The catalog version in force at a moment (ns): a prompt's, a callback's.
    profile_at: Callable[[int], Profile]
    # Parties and their accounts, read-only (late bound: a front reloads it).
    directory: Callable[[], DirectoryView]
    # Now, in ns: the platform's one clock (the demo runs it in the past).
    clock: Callable[[], int]
    # Seals PINs between the channel adapter and TranProc.
    transport_key: SecretKey
    # The fronts of the cluster form, or the one process (late bound: made at start).
    fronts: Callable[[], Fronts]


class HandsetPrompt(NamedTuple):
    """An STK payment prompt for a customer's handset (Daraja's push), to be shown by
    whichever channel reaches that handset (the SIM toolkit's secured push)."""

    msisdn: str
    checkout_id: str
    text: str
    expires_in_s: int


class PromptAnswer(NamedTuple):
    """What came of a customer's answer to a prompt: TranProc's code and message."""

    code: str
    message: str
    receipt: str = ""


# Shows a prompt on the handset; False when it cannot reach that handset.
ReachHandset = Callable[[HandsetPrompt], bool]
# The customer on ``msisdn`` answered prompt ``checkout_id``: the PIN, or None (Cancel).
AnswerPrompt = Callable[[str, str, Pin | None], Awaitable[PromptAnswer]]


class HeldReversal(NamedTuple):
    """A customer's reversal request, as the operator console sees it."""

    receipt: str
    payer_id: int
    payee_id: int
    amount: int
    state: str
    expires: int
    created: int


class Reversals(Protocol):
    """The reversal book, read-only (the console's queue and its previews)."""

    def get(self, receipt: str) -> Awaitable[HeldReversal | None]:
        """The reversal request of an original receipt, or None."""

    def held(self, limit: int) -> Awaitable[list[HeldReversal]]:
        """The oldest requests still held, waiting for staff."""


class TicketView(NamedTuple):
    """A care ticket, as the operator console sees it."""

    id: int
    party_id: int
    msisdn: str
    category: str
    queue: str
    state: str
    subject: str
    channel: str
    text: str
    assigned: str
    resolution: str
    opened: int
    due: int
    resolved: int
    updated: int
    # Staff's notes, oldest first: when, who, what (only when one ticket is read).
    notes: tuple[tuple[int, str, str], ...] = ()


class Tickets(Protocol):
    """The care ticket book, read-only (the console's queues and the customer 360)."""

    def get(self, ticket_id: int) -> Awaitable[TicketView | None]:
        """One ticket with its notes, or None."""

    def queue(self, state: str, queue: str, limit: int) -> Awaitable[list[TicketView]]:
        """Tickets in a state (and a queue, or all), the ones due first."""

    def of_party(self, party_id: int, limit: int) -> Awaitable[list[TicketView]]:
        """A party's newest tickets."""


class CallbackDelivery(NamedTuple):
    """A callback to a business and what became of it, as the operator console sees it.

    No secret: the URL's host only (a query string may carry a client's secret), and
    the body only when one callback is read (``CallbackLog.get``).
    """

    id: int
    # The business shortcode it is about ('' when none is known), and its app.
    shortcode: str
    app_id: int
    # What it is (``daraja.stk_callback``, a C2B confirmation, a result...).
    kind: str
    host: str
    # queued, retry, delivered or failed.
    state: str
    attempts: int
    # The last attempt: its HTTP status (0: no answer), error and time (0: none yet).
    status: int
    error: str
    last_attempt: int
    created: int
    # The body as sent (JSON text), only from ``get``; '' when the body was a secret.
    body: str = ""


class CallbackFilter(NamedTuple):
    """Which callbacks to list ('' matches any)."""

    state: str = ""
    shortcode: str = ""
    kind: str = ""


class CallbackLog(Protocol):
    """Callbacks to businesses and their delivery log, and sending one again (Daraja's)."""

    def find(
        self, wanted: CallbackFilter, limit: int, offset: int
    ) -> Awaitable[list[CallbackDelivery]]:
        """The newest callbacks that match, newest first."""

    def get(self, callback_id: int) -> Awaitable[CallbackDelivery | None]:
        """One callback with its body, or None."""

    def replay(self, callback_id: int) -> Awaitable[bool]:
        """Queue one callback again (the money does not move again); False: none such."""


class Tables(Protocol):
    """A channel's own tables: made once, read, and written through the ledger writer.

    One writer per ledger: a channel's rows commit in order with the money, in
    this process or (from a front) in the core's.
    """

    @property
    def ordered(self) -> bool:
        """True when rows submitted before a request reach the writer before its payment.

        So in one process, and from a front (the core decides a front's request after
        the rows it sent first); where False, the caller must wait for them.
        """

    def migrate_script(self, name: str, sql: str) -> None:
        """Run a named schema script once (the channel's own tables)."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query written with ``?`` placeholders."""

    def snapshot(self) -> Snapshot:
        """A read-only view in which every query sees the same committed state."""

    def submit(
        self, writes: Sequence[Write], *, poke: bool = False, batch: str = ""
    ) -> Awaitable[None]:
        """Commit ``writes``; resolves once durable (``poke``: wake the outbox after).

        ``batch``: the id of a batch sent before whose answer never came (a front's
        ``Unavailable`` names it as ``batch``): the same rows, committed at most once.
        """

    async def balances(self, account_ids: Sequence[int]) -> list[Balance | None]:
        """Ledger balances, as the writer knows them now (for a balance query's answer)."""


class Channel(Protocol):
    """A channel as the composition root drives it."""

    def mount(self, app: FastAPI) -> None:
        """Add the channel's routes (before the server starts)."""

    async def start(self) -> None:
        """Start serving (the platform's core has started)."""

    async def stop(self) -> None:
        """Stop serving; finish or hand back what is in flight."""
