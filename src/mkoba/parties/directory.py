"""The directory: every party, its accounts, roles and credential, held in memory.

Loaded from the store at start; changed only through ``Change``s that the
processor commits through the ledger writer (in the same transaction as any
money) and then applies here. Lookups are dictionary reads: the processor
never waits on the database to find out who is asking.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from mkoba.ledger import WriteMode
from mkoba.ledger.store import Store, Write
from mkoba.parties import emails
from mkoba.parties.model import Credential, Party, PartyKind, PartyState, Purpose, Role
from mkoba.parties.schema import CREDENTIAL_COLUMNS, PARTY_COLUMNS, SCHEMA

# Party ids below this are the operator's and the system's.
first_party_id = 1000
OPERATOR_ID = 1


class Change(NamedTuple):
    """A change to the directory: rows to commit, then to apply in memory."""

    parties: tuple[Party, ...] = ()
    accounts: tuple[tuple[int, Purpose, int], ...] = ()
    roles: tuple[tuple[int, Role, int], ...] = ()
    credentials: tuple[Credential, ...] = ()
    audit: tuple[tuple[int, int, str, int, dict[str, object]], ...] = ()
    # Registered email addresses: (party id, address, when it was verified, ns).
    emails: tuple[tuple[int, str, int], ...] = ()

    def then(self, other: Change | None) -> Change:
        """This change followed by ``other`` (what both write, ``other``'s wins)."""
        if other is None:
            return self
        return Change(
            self.parties + other.parties,
            self.accounts + other.accounts,
            self.roles + other.roles,
            self.credentials + other.credentials,
            self.audit + other.audit,
            self.emails + other.emails,
        )

    def writes(self) -> list[Write]:
        """The rows this change commits."""
        rows = [
            Write("parties", PARTY_COLUMNS, _party_row(party), ("id",), WriteMode.UPSERT)
            for party in self.parties
        ]
        rows += [
            Write(
                "party_accounts",
                ("party_id", "purpose", "account_id"),
                (party_id, int(purpose), account),
                ("party_id", "purpose"),
                WriteMode.UPSERT,
            )
            for party_id, purpose, account in self.accounts
        ]
        rows += [
            Write(
                "party_roles",
                ("party_id", "role", "scope_id"),
                (party_id, str(role), scope),
                ("party_id", "role", "scope_id"),
                WriteMode.UPSERT,
            )
            for party_id, role, scope in self.roles
        ]
        rows += [
            Write(
                "pin_credentials",
                CREDENTIAL_COLUMNS,
                _credential_row(c),
                ("party_id",),
                WriteMode.UPSERT,
            )
            for c in self.credentials
        ]
        rows += [
            Write(
                "audit_log",
                ("id", "at", "actor_id", "action", "subject_id", "detail"),
                (uuid.uuid4().hex, at, actor, action, subject, json.dumps(detail, sort_keys=True)),
            )
            for at, actor, action, subject, detail in self.audit
        ]
        rows += [
            Write(
                "party_emails",
                ("party_id", "address", "verified"),
                email,
                ("party_id",),
                WriteMode.UPSERT,
            )
            for email in self.emails
        ]
        return rows


class Directory:
    """Who is who, in memory."""

    def __init__(self) -> None:
        self.parties: dict[int, Party] = {}
        self.credentials: dict[int, Credential] = {}
        self._by_msisdn: dict[str, int] = {}
        self._by_number: dict[tuple[PartyKind, str], int] = {}
        self._by_id_digest: dict[str, set[int]] = {}
        self._accounts: dict[tuple[int, Purpose], int] = {}
        self._roles: dict[int, set[tuple[Role, int]]] = {}
        self._emails: dict[int, str] = {}
        self._next_id = first_party_id

    # -- loading ----------------------------------------------------------------------

    @staticmethod
    def migrate(store: Store) -> None:
        """Create the parties' tables if they are missing."""
        store.migrate_script("parties-0001", SCHEMA)
        store.migrate_script(emails.MIGRATION, emails.SCHEMA)

    @classmethod
    def load(cls, store: Store) -> Directory:
        """Every party, account, role and credential in the store."""
        directory = cls()
        with store.snapshot() as snapshot:
            directory.apply(read_change(snapshot))
        return directory

    # -- lookups ----------------------------------------------------------------------

    def get(self, party_id: int) -> Party | None:
        """The party with this id."""
        return self.parties.get(party_id)

    def by_id_digest(self, digest: str) -> list[Party]:
        """The parties registered with one ID document (by its keyed digest)."""
        return [self.parties[i] for i in sorted(self._by_id_digest.get(digest, ()))]

    def credential(self, party_id: int) -> Credential | None:
        """A party's PIN credential (its verifier and lock state), or None: no PIN yet."""
        return self.credentials.get(party_id)

    def email(self, party_id: int) -> str | None:
        """The email address a party registered (for its full statements), or None."""
        return self._emails.get(party_id)

    def by_msisdn(self, msisdn: str) -> Party | None:
        """The party registered on this canonical MSISDN."""
        party_id = self._by_msisdn.get(msisdn)
        return None if party_id is None else self.parties[party_id]

    def by_number(self, kind: PartyKind, number: str) -> Party | None:
        """The party of ``kind`` known by ``number`` (till, paybill, agent, store, username)."""
        party_id = self._by_number.get((kind, number))
        return None if party_id is None else self.parties[party_id]

    def account(self, party_id: int, purpose: Purpose) -> int | None:
        """The ledger account ``party_id`` holds for ``purpose``."""
        return self._accounts.get((party_id, purpose))

    def accounts_of(self, party_id: int) -> dict[Purpose, int]:
        """Every account of a party, by purpose."""
        found = ((purpose, self._accounts.get((party_id, purpose))) for purpose in Purpose)
        return {purpose: account for purpose, account in found if account is not None}

    def has_role(self, party_id: int, role: Role, scope_id: int = 0) -> bool:
        """Whether ``party_id`` holds ``role`` (within ``scope_id`` when given)."""
        return (role, scope_id) in self._roles.get(party_id, ())

    def roles(self, party_id: int) -> frozenset[tuple[Role, int]]:
        """Every role of a party, with its scope."""
        return frozenset(self._roles.get(party_id, ()))

    def children(self, parent_id: int, kind: PartyKind | None = None) -> list[Party]:
        """The parties under ``parent_id`` (stores of a head office, child paybills...)."""
        return [
            party
            for party in self.parties.values()
            if party.parent_id == parent_id and (kind is None or party.kind == kind)
        ]

    def of_kind(self, kind: PartyKind) -> list[Party]:
        """Every party of one kind."""
        return [party for party in self.parties.values() if party.kind == kind]

    def allocate_id(self) -> int:
        """A new party id, never handed out before in this directory."""
        party_id = self._next_id
        self._next_id += 1
        return party_id

    # -- changing ---------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        """Take in a change that has been committed."""
        for party in change.parties:
            self._put_party(party)
        for party_id, purpose, account in change.accounts:
            self._accounts[(party_id, purpose)] = account
        for party_id, role, scope in change.roles:
            self._roles.setdefault(party_id, set()).add((role, scope))
        for credential in change.credentials:
            self.credentials[credential.party_id] = credential
        for party_id, address, _ in change.emails:
            self._emails[party_id] = address

    def _put_party(self, party: Party) -> None:
        old = self.parties.get(party.id)
        if old is not None:
            if old.msisdn is not None:
                self._by_msisdn.pop(old.msisdn, None)
            if old.number is not None:
                self._by_number.pop((old.kind, old.number), None)
        if old is not None and old.id_digest is not None:
            self._by_id_digest.get(old.id_digest, set()).discard(party.id)
        self.parties[party.id] = party
        if party.id_digest is not None:
            self._by_id_digest.setdefault(party.id_digest, set()).add(party.id)
        if party.msisdn is not None:
            self._by_msisdn[party.msisdn] = party.id
        if party.number is not None:
            self._by_number[(party.kind, party.number)] = party.id
        self._next_id = max(self._next_id, party.id + 1)


class Reader(Protocol):
    """A consistent read: a store's snapshot, or a standby's (``ledger/warm.TailRead``)."""

    def query(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query written with ``?`` placeholders."""


def read_change(snapshot: Reader, where: str = "", params: Sequence[object] = ()) -> Change:
    """The directory's rows in one read, as a change: all of them, or those ``where`` selects.

    A warm standby (``mkoba.warmup``) reads them all once, then only the rows written
    since its last read (``where``, from its store): ``apply`` takes in a party's new
    row over its old one, and the directory's tables lose no rows, so the directory
    equals one loaded afresh.
    """
    condition = f" WHERE {where}" if where else ""
    select = snapshot.query
    parties = select(f"SELECT {', '.join(PARTY_COLUMNS)} FROM parties{condition}", params)
    accounts = select(
        f"SELECT party_id, purpose, account_id FROM party_accounts{condition}", params
    )
    roles = select(f"SELECT party_id, role, scope_id FROM party_roles{condition}", params)
    credentials = select(
        f"SELECT {', '.join(CREDENTIAL_COLUMNS)} FROM pin_credentials{condition}", params
    )
    addresses = select(f"SELECT party_id, address, verified FROM party_emails{condition}", params)
    return Change(
        parties=tuple(_party(row) for row in parties),
        accounts=tuple((int(p), Purpose(int(u)), int(a)) for p, u, a in accounts),
        roles=tuple((int(p), Role(r), int(s)) for p, r, s in roles),
        credentials=tuple(_credential(row) for row in credentials),
        emails=tuple((int(p), str(a), int(v)) for p, a, v in addresses),
    )


def party_id_by_number(store: Store, kind: PartyKind, number: str) -> int | None:
    """The id of the ``kind`` party with this number, read from the store (admin paths)."""
    rows = store.query("SELECT id FROM parties WHERE kind = ? AND number = ?", (str(kind), number))
    return int(rows[0][0]) if rows else None


def _party_row(party: Party) -> tuple[object, ...]:
    return (
        party.id,
        str(party.kind),
        party.name,
        party.msisdn,
        party.number,
        party.parent_id,
        str(party.state),
        party.kyc_tier,
        party.language,
        party.tariff,
        party.created,
        party.id_digest,
    )


def _party(row: Sequence[object]) -> Party:
    id, kind, name, msisdn, number, parent_id, state, tier, language, tariff, created, digest = row
    return Party(
        id=int(id),  # type: ignore[call-overload]
        kind=PartyKind(str(kind)),
        name=str(name),
        msisdn=None if msisdn is None else str(msisdn),
        number=None if number is None else str(number),
        parent_id=int(parent_id),  # type: ignore[call-overload]
        state=PartyState(str(state)),
        kyc_tier=None if tier is None else str(tier),
        language=str(language),
        tariff=None if tariff is None else str(tariff),
        created=int(created),  # type: ignore[call-overload]
        id_digest=None if digest is None else str(digest),
    )


def _credential_row(credential: Credential) -> tuple[object, ...]:
    return (
        credential.party_id,
        credential.verifier,
        credential.failed_attempts,
        int(credential.locked),
        int(credential.must_change),
        credential.changed,
    )


def _credential(row: Iterable[object]) -> Credential:
    party_id, verifier, failed, locked, must_change, changed = row
    return Credential(
        int(party_id),  # type: ignore[call-overload]
        str(verifier),
        int(failed),  # type: ignore[call-overload]
        bool(locked),
        bool(must_change),
        int(changed),  # type: ignore[call-overload]
    )
