"""Checks on a transfer's own fields, before the ledger's state is consulted.

These failures depend only on the input, so they are never pinned to the id:
the same input gets the same answer every time anyway.
"""

from __future__ import annotations

from mkoba import money
from mkoba.ledger import limits
from mkoba.ledger.account import Account, AccountFlags, AccountKind
from mkoba.ledger.results import AccountResult
from mkoba.ledger.results import TransferResult as R
from mkoba.ledger.transfer import Transfer, TransferFlags

# Plain ints: ``~`` of an IntFlag complements only its defined members, which would let
# undefined bits (64, 2**40) through.
_KNOWN = int(
    TransferFlags.LINKED
    | TransferFlags.PENDING
    | TransferFlags.POST_PENDING
    | TransferFlags.VOID_PENDING
)
_ACCOUNT_FLAGS = int(
    AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
)
# Plain ints on the per-transfer path too: an IntFlag's ``&`` goes through the enum
# machinery, several times slower than an int's.
_PENDING = int(TransferFlags.PENDING)
_KINDS = int(TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
_RESOLVING = int(TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
# One kind of transfer at most: plain (none), pending, post or void.
_ONE_KIND = frozenset(
    (0, _PENDING, int(TransferFlags.POST_PENDING), int(TransferFlags.VOID_PENDING))
)
_ID_MAX = limits.id_max
_AMOUNT_MAX = limits.amount_max


def _is_id(value: object) -> bool:
    return type(value) is int and 0 < value <= _ID_MAX


def _is_int(value: object) -> bool:
    # A bool is an int to Python, but not a number to the ledger (nor to PostgreSQL).
    return isinstance(value, int) and not isinstance(value, bool)


def _is_zero(value: object) -> bool:
    return type(value) is int and value == 0


def validate_transfer(transfer: Transfer) -> R | None:
    """The first problem with ``transfer``'s own fields, or None when it is well formed."""
    if not isinstance(transfer.flags, int):
        return R.FLAGS_INVALID
    flags = int(transfer.flags)
    if flags & ~_KNOWN or (flags & _KINDS) not in _ONE_KIND:
        return R.FLAGS_INVALID
    if flags & _RESOLVING:
        return _validate_resolving(transfer)
    return _validate_creating(transfer, flags)


def _validate_common(transfer: Transfer) -> R | None:
    code = transfer.code
    if not _is_int(code) or not 0 <= code <= limits.code_max:
        return R.CODE_INVALID
    user_data = transfer.user_data
    if not _is_int(user_data) or not 0 <= user_data <= limits.user_data_max:
        return R.USER_DATA_INVALID
    return None


def _validate_creating(transfer: Transfer, flags: int) -> R | None:
    if not _is_id(transfer.debit_account_id):
        return R.DEBIT_ACCOUNT_ID_INVALID
    if not _is_id(transfer.credit_account_id):
        return R.CREDIT_ACCOUNT_ID_INVALID
    if transfer.debit_account_id == transfer.credit_account_id:
        return R.ACCOUNTS_MUST_BE_DIFFERENT
    amount = transfer.amount
    if type(amount) is not int:
        return R.AMOUNT_NOT_INTEGER
    if amount <= 0:
        return R.AMOUNT_MUST_BE_POSITIVE
    if amount > _AMOUNT_MAX:
        return R.AMOUNT_TOO_LARGE
    ledger = transfer.ledger
    if not _is_int(ledger) or not 0 < ledger <= limits.ledger_max:
        return R.LEDGER_INVALID
    if not _is_zero(transfer.pending_id):
        return R.PENDING_ID_MUST_BE_ZERO
    timeout_s = transfer.timeout_s
    if type(timeout_s) is not int or not 0 <= timeout_s <= limits.pending_timeout_s_max:
        return R.TIMEOUT_INVALID
    if timeout_s and not flags & _PENDING:
        return R.TIMEOUT_RESERVED_FOR_PENDING
    return _validate_common(transfer)


def _validate_resolving(transfer: Transfer) -> R | None:
    debit, credit = transfer.debit_account_id, transfer.credit_account_id
    if not _is_zero(debit) and not _is_id(debit):
        return R.DEBIT_ACCOUNT_ID_INVALID
    if not _is_zero(credit) and not _is_id(credit):
        return R.CREDIT_ACCOUNT_ID_INVALID
    if debit != 0 and debit == credit:
        return R.ACCOUNTS_MUST_BE_DIFFERENT
    amount = transfer.amount
    if type(amount) is not int:
        return R.AMOUNT_NOT_INTEGER
    if amount < 0:
        return R.AMOUNT_MUST_BE_POSITIVE
    if amount > _AMOUNT_MAX:
        return R.AMOUNT_TOO_LARGE
    ledger = transfer.ledger
    if not _is_int(ledger) or not 0 <= ledger <= limits.ledger_max:
        return R.LEDGER_INVALID
    if not _is_id(transfer.pending_id) or transfer.pending_id == transfer.id:
        return R.PENDING_ID_INVALID
    if type(transfer.timeout_s) is not int:
        return R.TIMEOUT_INVALID
    if transfer.timeout_s != 0:
        return R.TIMEOUT_RESERVED_FOR_PENDING
    return _validate_common(transfer)


def canonical_account(account: Account) -> Account:
    return account._replace(
        kind=AccountKind(account.kind),
        flags=AccountFlags(int(account.flags) & ~AccountFlags.CLOSED),
    )


def validate_account(account: Account) -> AccountResult | None:
    """The first problem with an account's own fields, or None."""
    if type(account.id) is not int or not 0 < account.id <= limits.id_max:
        return AccountResult.ID_INVALID
    if not _is_int(account.ledger) or not 0 < account.ledger <= limits.ledger_max:
        return AccountResult.LEDGER_INVALID
    if type(account.currency) is not str or account.currency not in money.CURRENCIES:
        return AccountResult.CURRENCY_UNKNOWN
    if account.kind not in AccountKind.__members__.values():
        return AccountResult.KIND_INVALID
    flags = account.flags
    if not isinstance(flags, int) or flags & ~_ACCOUNT_FLAGS or flags < 0:
        return AccountResult.FLAGS_INVALID
    if (
        flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        and flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    ):
        return AccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    limit = account.overdraft_limit
    if type(limit) is not int or not 0 <= limit <= limits.balance_max:
        return AccountResult.OVERDRAFT_LIMIT_INVALID
    maximum = account.balance_max
    if maximum is not None:
        if type(maximum) is not int or not 0 < maximum <= limits.balance_max:
            return AccountResult.BALANCE_MAX_INVALID
        if not flags & (
            AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        ):
            return AccountResult.BALANCE_MAX_NEEDS_A_CONSTRAINT
    if not _is_int(account.code) or not 0 <= account.code <= limits.code_max:
        return AccountResult.CODE_INVALID
    if not _is_int(account.user_data) or not 0 <= account.user_data <= limits.user_data_max:
        return AccountResult.USER_DATA_INVALID
    return None
