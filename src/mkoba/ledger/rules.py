"""The engine's rules for one transfer against the accounts and reservations it touches.

Pure functions of the engine's state, on the hot path: plain-int flags, no allocation.
"""

from __future__ import annotations

from mkoba.ledger import limits
from mkoba.ledger.account import AccountFlags, AccountState
from mkoba.ledger.records import PendingState, PendingStatus
from mkoba.ledger.results import TransferResult
from mkoba.ledger.transfer import Transfer, TransferFlags

R = TransferResult
_DMNEC = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS.value
_CMNED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS.value
_CLOSED = AccountFlags.CLOSED.value
_LINKED = TransferFlags.LINKED.value
_VOID = TransferFlags.VOID_PENDING.value
_BALANCE_MAX = limits.balance_max


def is_linked(transfer: Transfer) -> bool:
    flags = transfer.flags
    return isinstance(flags, int) and bool(flags & _LINKED)


def account_problem(
    debit: AccountState, credit: AccountState, ledger: int
) -> TransferResult | None:
    if debit.ledger != ledger or credit.ledger != ledger:
        return R.LEDGER_MISMATCH
    if debit.currency != credit.currency:
        return R.CURRENCY_MISMATCH
    if debit.flags & _CLOSED:
        return R.DEBIT_ACCOUNT_CLOSED
    if credit.flags & _CLOSED:
        return R.CREDIT_ACCOUNT_CLOSED
    return None


def exceeds(debit: AccountState, credit: AccountState, amount: int) -> TransferResult | None:
    """Would moving ``amount`` break a balance constraint? Pending amounts count as spent."""
    if debit.flags & _DMNEC:
        if debit.debits_pending + debit.debits_posted + amount > (
            debit.credits_posted + debit.overdraft_limit
        ):
            return R.EXCEEDS_CREDITS
    elif debit.flags & _CMNED and debit.balance_max is not None:
        held = debit.debits_posted + debit.debits_pending + amount - debit.credits_posted
        if held > debit.balance_max:
            return R.EXCEEDS_BALANCE_MAX
    if credit.flags & _CMNED:
        if credit.credits_pending + credit.credits_posted + amount > (
            credit.debits_posted + credit.overdraft_limit
        ):
            return R.EXCEEDS_DEBITS
    elif credit.flags & _DMNEC and credit.balance_max is not None:
        held = credit.credits_posted + credit.credits_pending + amount - credit.debits_posted
        if held > credit.balance_max:
            return R.EXCEEDS_BALANCE_MAX
    if (
        debit.debits_posted + debit.debits_pending + amount > _BALANCE_MAX
        or credit.credits_posted + credit.credits_pending + amount > _BALANCE_MAX
    ):
        return R.OVERFLOWS_BALANCE
    return None


def resolution_problem(
    fields: tuple[int, ...], pending: PendingState, timestamp: int
) -> TransferResult | None:
    reserved = pending.record
    debit_id, credit_id, amount, ledger = fields[:4]
    if debit_id != reserved.debit_account_id or credit_id != reserved.credit_account_id:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS
    if ledger != reserved.ledger:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
    status = pending.status
    if status == PendingStatus.POSTED:
        return R.PENDING_TRANSFER_ALREADY_POSTED
    if status == PendingStatus.VOIDED:
        return R.PENDING_TRANSFER_ALREADY_VOIDED
    if status == PendingStatus.EXPIRED or (pending.expires_at and timestamp >= pending.expires_at):
        return R.PENDING_TRANSFER_EXPIRED
    if amount > reserved.amount:
        return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
    if fields[5] & _VOID and amount != reserved.amount:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
    return None
