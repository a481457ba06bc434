"""Everything products and the processor share, built once by the composition root."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mkoba.catalog import Catalog, Profile
from mkoba.ledger import LedgerWriter, Store
from mkoba.parties import OPERATOR_ID, Directory, PinVault, Purpose, SecretKey, account_id
from mkoba.processor.events import AcceptAll, Subscriber, Validation
from mkoba.processor.ids import Counter
from mkoba.processor.locks import PartyLocks
from mkoba.processor.moments import moment
from mkoba.processor.risk_port import RiskCheck

# A message body that is not a text template (a channel's callback JSON), from its params.
Renderer = Callable[[Mapping[str, str]], str]


@dataclass
class Services:
    """The processor's collaborators. Only ``app.py`` builds one."""

    writer: LedgerWriter
    store: Store
    catalog: Catalog
    directory: Directory
    vault: PinVault
    transport_key: SecretKey
    counter: Counter
    clock: Callable[[], int]
    # Per party, day and kind (amount sent, name look-ups): how much is used.
    usage: dict[tuple[int, str, str], int] = field(default_factory=dict)
    # Per party: the day and the parties it looked up by name that day and has not paid
    # yet. A payment to one of them gives the look-up back: the daily cap is against
    # snooping, not against paying people after checking their name (Hakikisha).
    lookups: dict[int, tuple[str, set[int]]] = field(default_factory=dict)
    # A business's say on payments made to it (Daraja's C2B validation URL).
    validation: Validation = field(default_factory=AcceptAll)
    # Channels told of payments to businesses as they commit (``processor/events.py``).
    subscribers: tuple[Subscriber, ...] = ()
    # Locks by record key ("voucher:<request>", "reversal:<receipt>"), for the guarded
    # decisions TranProc commits (``processor/guarded.py``) and the sweeps that settle
    # the same records: two requests can never both settle one voucher.
    record_locks: PartyLocks = field(default_factory=PartyLocks)
    # The risk rules consulted before a customer's payment commits (``risk_port.py``).
    risk: RiskCheck | None = None
    # Channels' callback bodies by template id (the rest are texts in ``mkoba.messages``).
    renderers: Mapping[str, Renderer] = field(default_factory=dict)
    # The risk rules' values as staff changed them (``risk/overrides.py``), laid over the
    # version in force at a moment; None: the versions' own.
    rules: Callable[[Profile, int], Profile] | None = None
    _profile_of_second: tuple[int, Profile] | None = field(default=None, init=False, repr=False)

    def profile(self, now: int) -> Profile:
        """The catalog version in force at ``now`` (ns), with the rule changes in force."""
        # Versions start on whole seconds, so one lookup answers for a whole second.
        second = now // 1_000_000_000
        last = self._profile_of_second
        if last is not None and last[0] == second:
            profile = last[1]
        else:
            profile = self.catalog.at(dt.datetime.fromtimestamp(second, dt.UTC))
            self._profile_of_second = (second, profile)
        return profile if self.rules is None else self.rules(profile, now)

    def sent_at(self, now: int) -> str:
        """``now`` as a message's ``sent`` names it: ``23/11/26 21:15`` (each language words it)."""
        names = moment(now, self.profile(now).timezone)
        return f"{names.date} {names.time}"

    @staticmethod
    def operator_account(purpose: Purpose) -> int:
        """One of the operator's own accounts: trust mirror, fee income, excise..."""
        return account_id(OPERATOR_ID, purpose)
