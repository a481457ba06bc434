"""A plain-Python model of the ledger's rules, for the stateful test to check the writer against.

It follows the documented rules, not the engine's code: balances as four counters,
idempotent ids, failures pinned to their id, linked chains all or nothing, pending
transfers that are posted, voided or expire at their deadline. Times are the
caller's clock (ns); the model expires a pending transfer at the first operation
strictly after ``submitted + timeout_s``, and the test keeps its clock off the exact
deadline (see ``ModelLedger.expire``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from mkoba.ledger import Account, AccountFlags, Balance, Transfer, TransferFlags
from mkoba.ledger import TransferResult as R
from mkoba.ledger.records import PendingStatus

NS_PER_S = 1_000_000_000
LINKED = int(TransferFlags.LINKED)
PENDING = int(TransferFlags.PENDING)
POST = int(TransferFlags.POST_PENDING)
VOID = int(TransferFlags.VOID_PENDING)
DMNEC = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
CMNED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)


@dataclass
class ModelAccount:
    account: Account
    closed: bool = False
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def balance(self) -> Balance:
        return Balance(
            self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted
        )


@dataclass
class ModelPending:
    debit: int
    credit: int
    amount: int
    ledger: int
    code: int
    submitted: int
    timeout_s: int
    status: int = PendingStatus.PENDING


@dataclass
class Books:
    """Everything the model knows; copied whole to take back a failed chain."""

    accounts: dict[int, ModelAccount] = field(default_factory=dict)
    # id -> (id, canonical fields): what an identical replay must match exactly.
    ids: dict[int, tuple[int, ...]] = field(default_factory=dict)
    failed: dict[int, tuple[R, tuple[int, ...]]] = field(default_factory=dict)
    pendings: dict[int, ModelPending] = field(default_factory=dict)
    # Rows the store's transfer log must hold (transfers, resolutions, expiries).
    records: int = 0


class ModelLedger:
    """The ledger's rules over a ``Books``."""

    def __init__(self) -> None:
        self.books = Books()

    # -- accounts ---------------------------------------------------------------------

    def create_account(self, account: Account) -> None:
        assert account.id not in self.books.accounts
        self.books.accounts[account.id] = ModelAccount(account)

    def balances(self) -> dict[int, Balance]:
        return {id: model.balance() for id, model in self.books.accounts.items()}

    # -- time -------------------------------------------------------------------------

    def expire(self, now: int) -> None:
        """Expire every pending transfer whose deadline has passed by ``now``."""
        for pending in self.books.pendings.values():
            if pending.status != PendingStatus.PENDING or not pending.timeout_s:
                continue
            elapsed = now - pending.submitted
            # The engine stamps a pending a few ns after ``submitted``: on the exact
            # deadline the model could not tell. The test's clock never lands there.
            assert elapsed != pending.timeout_s * NS_PER_S
            if elapsed > pending.timeout_s * NS_PER_S:
                self._release(pending, 0)
                pending.status = PendingStatus.EXPIRED
                self.books.records += 1

    # -- transfers --------------------------------------------------------------------

    def submit(self, transfers: list[Transfer], now: int) -> list[R]:
        """The results of one batch at ``now``, applied to the model."""
        self.expire(now)
        results: list[R] = []
        index = 0
        while index < len(transfers):
            if not transfers[index].flags & LINKED:
                results.append(self._decide(transfers[index], now))
                index += 1
                continue
            end = index
            while end < len(transfers) and transfers[end].flags & LINKED:
                end += 1
            if end == len(transfers):
                results.extend([R.LINKED_EVENT_CHAIN_OPEN] * (end - index))
                break
            results.extend(self._chain(transfers[index : end + 1], now))
            index = end + 1
        return results

    def _chain(self, chain: list[Transfer], now: int) -> list[R]:
        """All or nothing: a failure takes back every member, keeping only its own pin."""
        before = copy.deepcopy(self.books)
        results: list[R] = []
        for position, transfer in enumerate(chain):
            result = self._decide(transfer, now)
            if result.ok:
                results.append(result)
                continue
            pin = self.books.failed.get(transfer.id)
            self.books = before
            if result.pinned:
                assert pin is not None
                self.books.failed[transfer.id] = pin
            failed = [R.LINKED_EVENT_FAILED] * len(chain)
            failed[position] = result
            return failed
        return results

    def _decide(self, transfer: Transfer, now: int) -> R:
        problem = _input_problem(transfer)
        if problem is not None:
            return problem
        books = self.books
        resolving = bool(transfer.flags & (POST | VOID))
        pending = books.pendings.get(transfer.pending_id) if resolving else None
        fields = _canonical(transfer, pending)
        key = (transfer.id, *fields)
        if transfer.id in books.ids:
            return R.EXISTS if books.ids[transfer.id] == key else R.EXISTS_WITH_DIFFERENT_FIELDS
        if transfer.id in books.failed:
            result, failed_key = books.failed[transfer.id]
            return result if failed_key == key else R.ID_ALREADY_FAILED
        if not resolving:
            result = self._create(transfer, now)
        elif pending is None:
            known = transfer.pending_id in books.ids
            result = R.PENDING_TRANSFER_NOT_PENDING if known else R.PENDING_TRANSFER_NOT_FOUND
        else:
            result = self._resolve(transfer, fields, pending)
        if result == R.OK:
            books.ids[transfer.id] = key
            books.records += 1
        elif result.pinned:
            books.failed[transfer.id] = (result, key)
        return result

    def _create(self, transfer: Transfer, now: int) -> R:
        accounts = self.books.accounts
        debit = accounts.get(transfer.debit_account_id)
        if debit is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        credit = accounts.get(transfer.credit_account_id)
        if credit is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        if debit.account.ledger != transfer.ledger or credit.account.ledger != transfer.ledger:
            return R.LEDGER_MISMATCH
        if debit.account.currency != credit.account.currency:
            return R.CURRENCY_MISMATCH
        if debit.closed:
            return R.DEBIT_ACCOUNT_CLOSED
        if credit.closed:
            return R.CREDIT_ACCOUNT_CLOSED
        problem = _limits(debit, credit, transfer.amount)
        if problem is not None:
            return problem
        if transfer.flags & PENDING:
            debit.debits_pending += transfer.amount
            credit.credits_pending += transfer.amount
            self.books.pendings[transfer.id] = ModelPending(
                transfer.debit_account_id,
                transfer.credit_account_id,
                transfer.amount,
                transfer.ledger,
                transfer.code,
                now,
                transfer.timeout_s,
            )
        else:
            debit.debits_posted += transfer.amount
            credit.credits_posted += transfer.amount
        return R.OK

    def _resolve(self, transfer: Transfer, fields: tuple[int, ...], pending: ModelPending) -> R:
        debit, credit, amount, ledger = fields[:4]
        if (debit, credit) != (pending.debit, pending.credit):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS
        if ledger != pending.ledger:
            return R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
        if pending.status == PendingStatus.POSTED:
            return R.PENDING_TRANSFER_ALREADY_POSTED
        if pending.status == PendingStatus.VOIDED:
            return R.PENDING_TRANSFER_ALREADY_VOIDED
        if pending.status == PendingStatus.EXPIRED:
            return R.PENDING_TRANSFER_EXPIRED
        if amount > pending.amount:
            return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
        post = bool(transfer.flags & POST)
        if not post and amount != pending.amount:
            return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
        self._release(pending, amount if post else 0)
        pending.status = PendingStatus.POSTED if post else PendingStatus.VOIDED
        return R.OK

    def _release(self, pending: ModelPending, posted: int) -> None:
        debit = self.books.accounts[pending.debit]
        credit = self.books.accounts[pending.credit]
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        debit.debits_posted += posted
        credit.credits_posted += posted


def _input_problem(transfer: Transfer) -> R | None:
    """The input checks the state machine can provoke (it sends no other malformed fields)."""
    if transfer.flags & (POST | VOID):
        return None
    if transfer.debit_account_id == transfer.credit_account_id:
        return R.ACCOUNTS_MUST_BE_DIFFERENT
    if transfer.amount <= 0:
        return R.AMOUNT_MUST_BE_POSITIVE
    return None


def _canonical(transfer: Transfer, pending: ModelPending | None) -> tuple[int, ...]:
    """A transfer's fields as compared on replay: a resolution's zeros filled from its pending."""
    flags = int(transfer.flags)
    if pending is None:
        return (*transfer[1:6], flags, *transfer[7:])
    return (
        transfer.debit_account_id or pending.debit,
        transfer.credit_account_id or pending.credit,
        transfer.amount or pending.amount,
        transfer.ledger or pending.ledger,
        transfer.code or pending.code,
        flags,
        transfer.pending_id,
        0,
        transfer.user_data,
    )


def _limits(debit: ModelAccount, credit: ModelAccount, amount: int) -> R | None:
    """Pending amounts count as spent on the debit side and as held on the credit side."""
    debit_flags, credit_flags = int(debit.account.flags), int(credit.account.flags)
    if debit_flags & DMNEC:
        spent = debit.debits_pending + debit.debits_posted + amount
        if spent > debit.credits_posted + debit.account.overdraft_limit:
            return R.EXCEEDS_CREDITS
    elif debit_flags & CMNED and debit.account.balance_max is not None:
        held = debit.debits_posted + debit.debits_pending + amount - debit.credits_posted
        if held > debit.account.balance_max:
            return R.EXCEEDS_BALANCE_MAX
    if credit_flags & CMNED:
        spent = credit.credits_pending + credit.credits_posted + amount
        if spent > credit.debits_posted + credit.account.overdraft_limit:
            return R.EXCEEDS_DEBITS
    elif credit_flags & DMNEC and credit.account.balance_max is not None:
        held = credit.credits_posted + credit.credits_pending + amount - credit.debits_posted
        if held > credit.account.balance_max:
            return R.EXCEEDS_BALANCE_MAX
    return None
