"""The ledger engine: pure, in-memory, single-threaded state of accounts and transfers.

The engine decides every transfer against the balances it holds and records
what changed; it does no I/O. The writer (writer.py) owns one engine, feeds it
batches, and commits the changes it drains to a store. On start the writer
rebuilds the engine by replaying the store's records (``replay.py``), so the
store is the truth and the engine a cache that is never allowed to drift. What it
keeps besides accounts is in ``records.py``; the per-transfer rules in ``rules.py``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

from mkoba.ledger import limits
from mkoba.ledger.account import Account, AccountFlags, AccountState, Balance
from mkoba.ledger.records import Changes, FailureRecord, PendingState, PendingStatus
from mkoba.ledger.replay import Replay
from mkoba.ledger.results import AccountResult, TransferResult
from mkoba.ledger.rules import account_problem, exceeds, is_linked, resolution_problem
from mkoba.ledger.transfer import Transfer, TransferFlags, TransferRecord
from mkoba.ledger.validate import canonical_account, validate_account, validate_transfer

R = TransferResult
_new_record = tuple.__new__
_CLOSED = AccountFlags.CLOSED.value
_LINKED = TransferFlags.LINKED.value
_PENDING = TransferFlags.PENDING.value
_POST = TransferFlags.POST_PENDING.value
_VOID = TransferFlags.VOID_PENDING.value
_EXPIRY = TransferFlags.EXPIRY.value
_RESOLVING = _POST | _VOID
_BALANCE_MAX = limits.balance_max
_ID_MAX = limits.id_max
_AMOUNT_MAX = limits.amount_max
_LEDGER_MAX = limits.ledger_max
_CODE_MAX = limits.code_max
_DATA_MAX = limits.user_data_max


# Undo log entries of a linked chain: (kind, id, debit, credit, amount, ...).
_UNDO_POSTED = 0
_UNDO_PENDING = 1
_UNDO_RESOLVED = 2
Undo = list[tuple[Any, ...]]


class Engine(Replay):
    """Accounts, transfers and pending reservations, decided in memory."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything, to be replayed from the store again.

        The writer rebuilds its engine in place after a failed commit: callers hold
        this object (to read balances while their rows are built), not a copy.
        """
        self.accounts: dict[int, AccountState] = {}
        # Transfer id -> its canonical fields (id first), for idempotent replays. The
        # fields themselves, not a hash: Python hashes ints modulo 2**61-1, so a hash
        # would take user_data 0 and 2**61-1 for the same payload.
        self.transfer_ids: dict[int, tuple[Any, ...]] = {}
        # Transfer id -> (result, canonical fields) of failures pinned to their id.
        self.failed_ids: dict[int, tuple[TransferResult, tuple[Any, ...]]] = {}
        self.pendings: dict[int, PendingState] = {}
        self._expiries: list[tuple[int, int]] = []
        self.timestamp = 0
        self._changes = Changes([], [], [], [])

    # -- accounts ---------------------------------------------------------------------

    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        """Create each account, or say why not; an identical repeat is EXISTS."""
        results = []
        for account in accounts:
            problem = validate_account(account)
            if problem is None:
                problem = self._create_account(account)
            results.append(problem)
        assert len(results) == len(accounts)
        return results

    def _create_account(self, account: Account) -> AccountResult:
        existing = self.accounts.get(account.id)
        if existing is not None:
            if existing.account == canonical_account(account):
                return AccountResult.EXISTS
            return AccountResult.EXISTS_WITH_DIFFERENT_FIELDS
        account = canonical_account(account)
        self.accounts[account.id] = AccountState(account)
        self._changes.accounts.append(account)
        return AccountResult.OK

    def set_closed(self, account_id: int, closed: bool) -> AccountResult:
        """Close an account to new transfers, or reopen it."""
        state = self.accounts.get(account_id)
        if state is None:
            return AccountResult.NOT_FOUND
        if bool(state.flags & _CLOSED) == closed:
            return AccountResult.ALREADY_CLOSED if closed else AccountResult.NOT_CLOSED
        state.set_flags(state.flags | _CLOSED if closed else state.flags & ~_CLOSED)
        self._changes.account_flags.append((account_id, state.flags))
        return AccountResult.OK

    def balance(self, account_id: int) -> Balance | None:
        """The counters of one account, or None when there is no such account."""
        state = self.accounts.get(account_id)
        return None if state is None else state.balance()

    # -- transfers --------------------------------------------------------------------

    def create_transfers(self, transfers: Sequence[Transfer], now: int) -> list[TransferResult]:
        """Apply each transfer (chains of LINKED ones as one) at time ``now`` (ns)."""
        count = len(transfers)
        # A chain still open at the end of the batch fails whole, before anything runs.
        open_from = count
        while open_from > 0 and is_linked(transfers[open_from - 1]):
            open_from -= 1
        results = self._apply(transfers, open_from, now)
        results.extend([R.LINKED_EVENT_CHAIN_OPEN] * (count - open_from))
        assert len(results) == count
        return results

    def _apply(self, transfers: Sequence[Transfer], stop: int, now: int) -> list[TransferResult]:
        """Apply transfers[:stop], every chain in it closed, in one pass.

        A well-formed plain transfer between two open accounts takes the inlined
        fast path; any other takes ``_create_one``, which gives every failure its
        exact code. Inside a chain each applied transfer leaves an undo entry; the
        first failure takes the chain back and the rest of the chain is skipped.
        """
        accounts, ids, failed = self.accounts, self.transfer_ids, self.failed_ids
        records = self._changes.records
        record = records.append
        results: list[TransferResult] = []
        append, timestamp, ok = results.append, self.timestamp, R.OK
        chain = -1
        undo: Undo | None = None
        records_before = 0
        skipping = False
        for index in range(stop):
            transfer = transfers[index]
            id, debit_id, credit_id, amount, ledger, code, flags, pending_id, timeout, data = (
                transfer
            )
            linked = bool(flags) and is_linked(transfer)
            if skipping:
                append(R.LINKED_EVENT_FAILED)
                skipping = linked
                continue
            if linked and chain < 0:
                chain, undo, records_before = index, [], len(records)
            debit = credit = None
            if (
                type(flags) is int
                and 0 <= flags <= _LINKED
                and type(id) is int
                and 0 < id <= _ID_MAX
                and type(amount) is int
                and 0 < amount <= _AMOUNT_MAX
                # Every field is stored as given, so each must be exactly an int: a float
                # or a bool would find an account here and then fail the store's commit.
                and type(debit_id) is int
                and type(credit_id) is int
                and debit_id != credit_id
                and type(ledger) is int
                and 0 < ledger <= _LEDGER_MAX
                and type(code) is int
                and 0 <= code <= _CODE_MAX
                and type(pending_id) is int
                and pending_id == 0
                and type(timeout) is int
                and timeout == 0
                and type(data) is int
                and 0 <= data <= _DATA_MAX
                and id not in ids
                and id not in failed
            ):
                debit = accounts.get(debit_id)
                credit = accounts.get(credit_id)
            if (
                debit is not None
                and credit is not None
                and debit.debit_fast
                and credit.credit_fast
                and debit.ledger == ledger
                and credit.ledger == ledger
                and debit.currency == credit.currency
                and (spent := debit.debits_pending + debit.debits_posted + amount)
                <= debit.credits_posted + debit.overdraft_limit
                and spent <= _BALANCE_MAX
                and (held := credit.credits_posted + credit.credits_pending + amount)
                <= _BALANCE_MAX
                and held - credit.debits_posted <= credit.balance_room
            ):
                timestamp = timestamp + 1 if timestamp >= now else now
                debit.debits_posted += amount
                credit.credits_posted += amount
                record((timestamp,) + transfer)  # noqa: RUF005 (one allocation, not two)
                # A plain tuple: CPython stops tracking tuples of ints in its collector,
                # never named tuples, and this index holds every transfer ever made.
                ids[id] = tuple(transfer)
                debit.dirty = credit.dirty = True
                append(ok)
                if undo is not None:
                    undo.append((_UNDO_POSTED, id, debit, credit, amount))
                    if not linked:
                        chain, undo = -1, None
                continue
            self.timestamp = timestamp
            result = self._create_one(transfer, now, undo)
            timestamp = self.timestamp
            append(result)
            if undo is None:
                continue
            if not result.ok:
                self._undo(undo, records_before)
                results[chain:index] = [R.LINKED_EVENT_FAILED] * (index - chain)
                skipping = linked
                chain, undo = -1, None
            elif not linked:
                chain, undo = -1, None
        self.timestamp = timestamp
        assert chain < 0, "every chain before stop is closed"
        return results

    def _create_one(self, transfer: Transfer, now: int, undo: Undo | None) -> TransferResult:
        """Any transfer, with every check spelled out and every failure its own code."""
        transfer_id = transfer.id
        if type(transfer_id) is not int or not 0 < transfer_id <= _ID_MAX:
            return R.ID_INVALID
        problem = validate_transfer(transfer)
        if problem is not None:
            return problem
        flags = int(transfer.flags)
        if flags & _RESOLVING:
            fields, pending = self._canonical_resolution(transfer, flags)
        else:
            fields, pending = (*transfer[1:6], flags, *transfer[7:]), None
        fingerprint = (transfer_id, *fields)
        known = self.transfer_ids.get(transfer_id)
        if known is not None:
            return R.EXISTS if known == fingerprint else R.EXISTS_WITH_DIFFERENT_FIELDS
        failed = self.failed_ids.get(transfer_id)
        if failed is not None:
            # A post pinned before its pending existed was pinned on its raw fields.
            raw = (transfer_id, *transfer[1:6], flags, *transfer[7:])
            same = failed[1] == fingerprint or failed[1] == raw
            return failed[0] if same else R.ID_ALREADY_FAILED
        timestamp = self.timestamp + 1 if now <= self.timestamp else now
        if not flags & _RESOLVING:
            result = self._create(transfer_id, fields, timestamp, undo)
        elif pending is None:
            known_transfer = transfer.pending_id in self.transfer_ids
            result = (
                R.PENDING_TRANSFER_NOT_PENDING if known_transfer else R.PENDING_TRANSFER_NOT_FOUND
            )
        else:
            result = self._resolve(transfer_id, fields, pending, timestamp, undo)
        if result is R.OK:
            self.timestamp = timestamp
            self.transfer_ids[transfer_id] = fingerprint
        elif result.pinned:
            self.timestamp = timestamp
            self.failed_ids[transfer_id] = (result, fingerprint)
            self._changes.failures.append(
                _new_record(FailureRecord, (timestamp, transfer_id, int(result), *fields))
            )
        return result

    def _canonical_resolution(
        self, transfer: Transfer, flags: int
    ) -> tuple[tuple[int, ...], PendingState | None]:
        """A post or void with the pending transfer's fields filled in where left 0."""
        pending = self.pendings.get(transfer.pending_id)
        if pending is None:
            return (*transfer[1:6], flags, *transfer[7:]), None
        record = pending.record
        fields = (
            transfer.debit_account_id or record.debit_account_id,
            transfer.credit_account_id or record.credit_account_id,
            transfer.amount or record.amount,
            transfer.ledger or record.ledger,
            transfer.code or record.code,
            flags,
            transfer.pending_id,
            0,
            transfer.user_data,
        )
        return fields, pending

    def _create(
        self, transfer_id: int, fields: tuple[int, ...], timestamp: int, undo: Undo | None
    ) -> TransferResult:
        debit_id, credit_id, amount, ledger, _code, flags = fields[:6]
        debit = self.accounts.get(debit_id)
        if debit is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        credit = self.accounts.get(credit_id)
        if credit is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        problem = account_problem(debit, credit, ledger) or exceeds(debit, credit, amount)
        if problem is not None:
            return problem
        record = _new_record(TransferRecord, (timestamp, transfer_id, *fields))
        if flags & _PENDING:
            debit.debits_pending += amount
            credit.credits_pending += amount
            pending = PendingState(record)
            self.pendings[transfer_id] = pending
            if pending.expires_at:
                heapq.heappush(self._expiries, (pending.expires_at, transfer_id))
            kind = _UNDO_PENDING
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
            kind = _UNDO_POSTED
        if undo is not None:
            undo.append((kind, transfer_id, debit, credit, amount))
        self._changes.records.append(record)
        debit.dirty = credit.dirty = True
        return R.OK

    def _resolve(
        self,
        transfer_id: int,
        fields: tuple[int, ...],
        pending: PendingState,
        timestamp: int,
        undo: Undo | None,
    ) -> TransferResult:
        problem = resolution_problem(fields, pending, timestamp)
        if problem is not None:
            return problem
        reserved = pending.record
        amount, flags = fields[2], fields[5]
        debit = self.accounts[reserved.debit_account_id]
        credit = self.accounts[reserved.credit_account_id]
        posted = amount if flags & _POST else 0
        if (
            debit.debits_posted + posted > _BALANCE_MAX
            or credit.credits_posted + posted > _BALANCE_MAX
        ):
            return R.OVERFLOWS_BALANCE
        if undo is not None:
            undo.append(
                (
                    _UNDO_RESOLVED,
                    transfer_id,
                    debit,
                    credit,
                    posted,
                    reserved.amount,
                    pending,
                    pending.status,
                )
            )
        debit.debits_pending -= reserved.amount
        credit.credits_pending -= reserved.amount
        debit.debits_posted += posted
        credit.credits_posted += posted
        pending.status = PendingStatus.POSTED if posted else PendingStatus.VOIDED
        self._changes.records.append(_new_record(TransferRecord, (timestamp, transfer_id, *fields)))
        debit.dirty = credit.dirty = True
        return R.OK

    def _undo(self, undo: Undo, records_before: int) -> None:
        """Take back a failed chain: balances, ids, pending statuses and records."""
        for entry in reversed(undo):
            kind, transfer_id, debit, credit, amount = entry[:5]
            if kind == _UNDO_POSTED:
                debit.debits_posted -= amount
                credit.credits_posted -= amount
            elif kind == _UNDO_PENDING:
                debit.debits_pending -= amount
                credit.credits_pending -= amount
                del self.pendings[transfer_id]
            else:
                reserved, pending, status = entry[5:]
                debit.debits_pending += reserved
                credit.credits_pending += reserved
                debit.debits_posted -= amount
                credit.credits_posted -= amount
                pending.status = status
            del self.transfer_ids[transfer_id]
        # Pinned failures inside a failed chain stay pinned: they are that transfer's own.
        del self._changes.records[records_before:]

    # -- expiry -----------------------------------------------------------------------

    def expire(self, now: int) -> int:
        """Void every pending transfer whose timeout has passed by ``now``; how many."""
        expiries = self._expiries
        count = 0
        while expiries and expiries[0][0] <= now:
            _, pending_id = heapq.heappop(expiries)
            pending = self.pendings.get(pending_id)
            # A chain that was taken back can leave an entry behind for an id that was
            # later reused with another timeout: only the pending's own deadline counts.
            if pending is None or pending.status != PendingStatus.PENDING:
                continue
            if pending.expires_at > now:
                continue
            reserved = pending.record
            timestamp = self.timestamp + 1 if now <= self.timestamp else now
            self.timestamp = timestamp
            fields = (reserved.debit_account_id, reserved.credit_account_id, reserved.amount)
            record = _new_record(
                TransferRecord,
                (
                    timestamp,
                    None,
                    *fields,
                    reserved.ledger,
                    reserved.code,
                    _EXPIRY,
                    pending_id,
                    0,
                    0,
                ),
            )
            self._release(record, pending, PendingStatus.EXPIRED)
            self._changes.records.append(record)
            count += 1
        return count

    def next_expiry(self) -> int | None:
        """When the earliest live pending transfer expires (ns), if any."""
        expiries = self._expiries
        while expiries:
            expires_at, pending_id = expiries[0]
            pending = self.pendings.get(pending_id)
            live = pending is not None and pending.status == PendingStatus.PENDING
            if live and pending.expires_at == expires_at:  # type: ignore[union-attr]
                return expires_at
            heapq.heappop(expiries)
        return None

    def _release(self, record: TransferRecord, pending: PendingState, status: int) -> None:
        reserved = pending.record
        debit = self.accounts[reserved.debit_account_id]
        credit = self.accounts[reserved.credit_account_id]
        debit.debits_pending -= reserved.amount
        credit.credits_pending -= reserved.amount
        if status == PendingStatus.POSTED:
            debit.debits_posted += record.amount
            credit.credits_posted += record.amount
        pending.status = status
        debit.dirty = credit.dirty = True
