"""The pure ledger engine, without a store: every rule and every result code.

Each test drives ``Engine`` directly and checks what a user of the ledger would:
the result code, the balances, which ids the ledger knows, and what it hands to
the store (``take_changes``). A refused transfer must leave all of these as they
were, except that a failure that depends on the ledger's state is pinned to its id.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mkoba.ledger import (
    Account,
    AccountFlags,
    AccountKind,
    AccountResult,
    Balance,
    Engine,
    Transfer,
    TransferFlags,
    TransferRecord,
    TransferResult,
    invariants,
    limits,
    reversal_of,
)
from mkoba.ledger.records import PendingStatus
from tests.ledger.helpers import MIRROR, NS_PER_S, WALLET, state_of

R = TransferResult
LINKED = TransferFlags.LINKED
PENDING = TransferFlags.PENDING
POST = TransferFlags.POST_PENDING
VOID = TransferFlags.VOID_PENDING

TRUST, ALICE, BOB, FEES, DOLLARS, OTHER_LEDGER, CAPPED, MIRRORED, OVERDRAWN = range(1, 10)
ACCOUNTS = [
    Account(TRUST, 1, "KES", AccountKind.TRUST),
    Account(ALICE, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(BOB, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(FEES, 1, "KES", AccountKind.EMONEY),
    Account(DOLLARS, 1, "USD", AccountKind.EMONEY, WALLET),
    Account(OTHER_LEDGER, 2, "KES", AccountKind.EMONEY, WALLET),
    Account(CAPPED, 1, "KES", AccountKind.EMONEY, WALLET, balance_max=10_000),
    Account(MIRRORED, 1, "KES", AccountKind.GENERAL, MIRROR),
    Account(OVERDRAWN, 1, "KES", AccountKind.EMONEY, WALLET, overdraft_limit=500),
]
T0 = 1_700_000_000 * NS_PER_S
# A second later: pending transfers are reserved then, so their record is stamped T1 exactly.
T1 = T0 + NS_PER_S


@pytest.fixture
def engine() -> Engine:
    """Accounts of every shape; Alice holds 100,000 and Bob 50,000 issued from the trust."""
    engine = Engine()
    assert engine.create_accounts(ACCOUNTS) == [AccountResult.OK] * len(ACCOUNTS)
    funding = [Transfer(1, TRUST, ALICE, 100_000, 1), Transfer(2, TRUST, BOB, 50_000, 1)]
    assert engine.create_transfers(funding, T0) == [R.OK, R.OK]
    engine.take_changes()
    return engine


def balance(engine: Engine, account_id: int) -> Balance:
    value = engine.balance(account_id)
    assert value is not None
    return value


def records(engine: Engine) -> list[TransferRecord]:
    """The transfer records handed to the store since the last drain."""
    return [TransferRecord._make(record) for record in engine.take_changes().records]


# -- plain transfers -----------------------------------------------------------------


def test_a_transfer_moves_money_and_is_handed_to_the_store(engine: Engine) -> None:
    results = engine.create_transfers([Transfer(10, ALICE, BOB, 2_500, 1, code=7)], T0 + 5)

    assert results == [R.OK]
    assert balance(engine, ALICE) == Balance(0, 2_500, 0, 100_000)
    assert balance(engine, BOB) == Balance(0, 0, 0, 52_500)
    assert 10 in engine.transfer_ids
    changes = engine.take_changes()
    assert [TransferRecord._make(r) for r in changes.records] == [
        TransferRecord(T0 + 5, 10, ALICE, BOB, 2_500, 1, 7, 0, 0, 0, 0)
    ]
    assert changes.failures == []
    assert invariants.violations(engine.accounts.values()) == []


def test_timestamps_strictly_increase_even_when_the_clock_does_not(engine: Engine) -> None:
    batch = [Transfer(10 + i, ALICE, BOB, 1, 1) for i in range(3)]
    engine.create_transfers(batch, T0 + 100)
    engine.create_transfers([Transfer(20, BOB, ALICE, 1, 1)], T0)  # the clock went back

    stamps = [record.timestamp for record in records(engine)]
    assert stamps == [T0 + 100, T0 + 101, T0 + 102, T0 + 103]


def test_a_wallet_may_spend_its_overdraft_and_not_a_cent_more(engine: Engine) -> None:
    assert engine.create_transfers([Transfer(10, OVERDRAWN, BOB, 500, 1)], T0) == [R.OK]
    assert balance(engine, OVERDRAWN).credit_balance == -500
    assert engine.create_transfers([Transfer(11, OVERDRAWN, BOB, 1, 1)], T0) == [R.EXCEEDS_CREDITS]
    assert balance(engine, OVERDRAWN).credit_balance == -500


def test_a_capped_wallet_takes_up_to_its_maximum(engine: Engine) -> None:
    assert engine.create_transfers([Transfer(10, ALICE, CAPPED, 10_000, 1)], T0) == [R.OK]
    assert engine.create_transfers([Transfer(11, ALICE, CAPPED, 1, 1)], T0) == [
        R.EXCEEDS_BALANCE_MAX
    ]
    assert balance(engine, CAPPED).credit_balance == 10_000


def test_pending_credits_count_against_the_cap(engine: Engine) -> None:
    hold = Transfer(10, ALICE, CAPPED, 6_000, 1, flags=PENDING)
    assert engine.create_transfers([hold], T0) == [R.OK]
    assert engine.create_transfers([Transfer(11, BOB, CAPPED, 4_001, 1)], T0) == [
        R.EXCEEDS_BALANCE_MAX
    ]
    assert engine.create_transfers([Transfer(12, BOB, CAPPED, 4_000, 1)], T0) == [R.OK]
    assert balance(engine, CAPPED) == Balance(0, 0, 6_000, 4_000)


def test_a_mirror_account_takes_credits_only_up_to_its_debits(engine: Engine) -> None:
    assert engine.create_transfers([Transfer(10, MIRRORED, TRUST, 1, 1)], T0) == [R.OK]
    assert engine.create_transfers([Transfer(11, TRUST, MIRRORED, 1, 1)], T0) == [R.OK]
    assert engine.create_transfers([Transfer(12, TRUST, MIRRORED, 2, 1)], T0) == [R.EXCEEDS_DEBITS]
    assert balance(engine, MIRRORED) == Balance(0, 1, 0, 1)


# -- input that can never succeed: exact codes, nothing changes, nothing is pinned -------

_AMOUNT_MAX = limits.amount_max
INPUT_FAILURES: list[tuple[str, Transfer, TransferResult]] = [
    ("amount zero", Transfer(50, ALICE, BOB, 0, 1), R.AMOUNT_MUST_BE_POSITIVE),
    ("amount negative", Transfer(50, ALICE, BOB, -5, 1), R.AMOUNT_MUST_BE_POSITIVE),
    ("amount float", Transfer(50, ALICE, BOB, 10.0, 1), R.AMOUNT_NOT_INTEGER),  # type: ignore[arg-type]
    ("amount bool", Transfer(50, ALICE, BOB, True, 1), R.AMOUNT_NOT_INTEGER),
    ("amount text", Transfer(50, ALICE, BOB, "10", 1), R.AMOUNT_NOT_INTEGER),  # type: ignore[arg-type]
    ("amount over max", Transfer(50, ALICE, BOB, _AMOUNT_MAX + 1, 1), R.AMOUNT_TOO_LARGE),
    ("debit id zero", Transfer(50, 0, BOB, 10, 1), R.DEBIT_ACCOUNT_ID_INVALID),
    ("debit id float", Transfer(50, 2.0, BOB, 10, 1), R.DEBIT_ACCOUNT_ID_INVALID),  # type: ignore[arg-type]
    ("debit id bool", Transfer(50, True, BOB, 10, 1), R.DEBIT_ACCOUNT_ID_INVALID),
    ("debit id list", Transfer(50, [2], BOB, 10, 1), R.DEBIT_ACCOUNT_ID_INVALID),  # type: ignore[arg-type]
    ("credit id negative", Transfer(50, ALICE, -3, 10, 1), R.CREDIT_ACCOUNT_ID_INVALID),
    ("credit id float", Transfer(50, ALICE, 3.0, 10, 1), R.CREDIT_ACCOUNT_ID_INVALID),  # type: ignore[arg-type]
    ("credit id too big", Transfer(50, ALICE, 2**63, 10, 1), R.CREDIT_ACCOUNT_ID_INVALID),
    ("same account", Transfer(50, ALICE, ALICE, 10, 1), R.ACCOUNTS_MUST_BE_DIFFERENT),
    ("ledger zero", Transfer(50, ALICE, BOB, 10, 0), R.LEDGER_INVALID),
    ("ledger bool", Transfer(50, ALICE, BOB, 10, True), R.LEDGER_INVALID),
    ("ledger too big", Transfer(50, ALICE, BOB, 10, 2**31), R.LEDGER_INVALID),
    ("code negative", Transfer(50, ALICE, BOB, 10, 1, code=-1), R.CODE_INVALID),
    ("code bool", Transfer(50, ALICE, BOB, 10, 1, code=True), R.CODE_INVALID),
    ("user data negative", Transfer(50, ALICE, BOB, 10, 1, user_data=-1), R.USER_DATA_INVALID),
    ("user data bool", Transfer(50, ALICE, BOB, 10, 1, user_data=True), R.USER_DATA_INVALID),
    ("flags pending+post", Transfer(50, ALICE, BOB, 10, 1, flags=PENDING | POST), R.FLAGS_INVALID),
    ("flags post+void", Transfer(50, 0, 0, 0, 0, flags=POST | VOID, pending_id=1), R.FLAGS_INVALID),
    ("flags expiry", Transfer(50, ALICE, BOB, 10, 1, flags=TransferFlags.EXPIRY), R.FLAGS_INVALID),
    ("flags unknown bit", Transfer(50, ALICE, BOB, 10, 1, flags=64), R.FLAGS_INVALID),
    ("flags huge", Transfer(50, ALICE, BOB, 10, 1, flags=2**40), R.FLAGS_INVALID),
    ("flags negative", Transfer(50, ALICE, BOB, 10, 1, flags=-2), R.FLAGS_INVALID),
    ("flags float", Transfer(50, ALICE, BOB, 10, 1, flags=0.0), R.FLAGS_INVALID),  # type: ignore[arg-type]
    (
        "timeout on a plain transfer",
        Transfer(50, ALICE, BOB, 10, 1, timeout_s=60),
        R.TIMEOUT_RESERVED_FOR_PENDING,
    ),
    (
        "timeout negative",
        Transfer(50, ALICE, BOB, 10, 1, flags=PENDING, timeout_s=-1),
        R.TIMEOUT_INVALID,
    ),
    (
        "timeout over thirty days",
        Transfer(50, ALICE, BOB, 10, 1, flags=PENDING, timeout_s=limits.pending_timeout_s_max + 1),
        R.TIMEOUT_INVALID,
    ),
    (
        "timeout float",
        Transfer(50, ALICE, BOB, 10, 1, flags=PENDING, timeout_s=1.5),  # type: ignore[arg-type]
        R.TIMEOUT_INVALID,
    ),
    (
        "pending id on a plain transfer",
        Transfer(50, ALICE, BOB, 10, 1, pending_id=1),
        R.PENDING_ID_MUST_BE_ZERO,
    ),
    (
        "pending id False on a plain transfer",
        Transfer(50, ALICE, BOB, 10, 1, pending_id=False),
        R.PENDING_ID_MUST_BE_ZERO,
    ),
    ("post without pending id", Transfer(50, 0, 0, 0, 0, flags=POST), R.PENDING_ID_INVALID),
    (
        "post of itself",
        Transfer(50, 0, 0, 0, 0, flags=POST, pending_id=50),
        R.PENDING_ID_INVALID,
    ),
    (
        "post with a timeout",
        Transfer(50, 0, 0, 0, 0, flags=POST, pending_id=1, timeout_s=5),
        R.TIMEOUT_RESERVED_FOR_PENDING,
    ),
    (
        "post with a negative amount",
        Transfer(50, 0, 0, -1, 0, flags=POST, pending_id=1),
        R.AMOUNT_MUST_BE_POSITIVE,
    ),
    (
        "void with debit False",
        Transfer(50, False, 0, 0, 0, flags=VOID, pending_id=1),
        R.DEBIT_ACCOUNT_ID_INVALID,
    ),
    (
        "void with the same account twice",
        Transfer(50, ALICE, ALICE, 0, 0, flags=VOID, pending_id=1),
        R.ACCOUNTS_MUST_BE_DIFFERENT,
    ),
]


@pytest.mark.parametrize(
    ("transfer", "expected"),
    [pytest.param(t, e, id=name) for name, t, e in INPUT_FAILURES],
)
def test_bad_input_gets_its_exact_code_changes_nothing_and_is_not_pinned(
    engine: Engine, transfer: Transfer, expected: TransferResult
) -> None:
    before = state_of(engine)

    assert engine.create_transfers([transfer], T0 + 1) == [expected]

    assert not expected.pinned
    assert state_of(engine) == before
    assert not any(engine.take_changes())
    # Not pinned: the same id with good fields goes through.
    assert engine.create_transfers([Transfer(50, ALICE, BOB, 10, 1)], T0 + 2) == [R.OK]


@pytest.mark.parametrize("bad_id", [0, -1, 2**63, 1.0, True, "7"])
def test_a_bad_transfer_id_is_refused_and_changes_nothing(engine: Engine, bad_id: Any) -> None:
    before = state_of(engine)
    assert engine.create_transfers([Transfer(bad_id, ALICE, BOB, 10, 1)], T0) == [R.ID_INVALID]
    assert state_of(engine) == before
    assert not any(engine.take_changes())


# -- failures that depend on the ledger's state: pinned to the id ---------------------

STATE_FAILURES: list[tuple[str, Transfer, TransferResult]] = [
    ("unknown debit account", Transfer(60, 999, BOB, 10, 1), R.DEBIT_ACCOUNT_NOT_FOUND),
    ("unknown credit account", Transfer(60, ALICE, 999, 10, 1), R.CREDIT_ACCOUNT_NOT_FOUND),
    ("KES to USD", Transfer(60, ALICE, DOLLARS, 10, 1), R.CURRENCY_MISMATCH),
    ("across ledgers", Transfer(60, ALICE, OTHER_LEDGER, 10, 1), R.LEDGER_MISMATCH),
    ("transfer ledger differs", Transfer(60, ALICE, BOB, 10, 2), R.LEDGER_MISMATCH),
    ("more than the wallet holds", Transfer(60, ALICE, BOB, 100_001, 1), R.EXCEEDS_CREDITS),
    (
        "pending over the wallet",
        Transfer(60, BOB, ALICE, 50_001, 1, flags=PENDING),
        R.EXCEEDS_CREDITS,
    ),
    ("over the cap", Transfer(60, ALICE, CAPPED, 10_001, 1), R.EXCEEDS_BALANCE_MAX),
    ("mirror over its debits", Transfer(60, TRUST, MIRRORED, 1, 1), R.EXCEEDS_DEBITS),
    ("over the overdraft", Transfer(60, OVERDRAWN, BOB, 501, 1), R.EXCEEDS_CREDITS),
    (
        "past the counter limit",
        Transfer(60, TRUST, FEES, limits.balance_max + 1, 1),
        R.OVERFLOWS_BALANCE,
    ),
    (
        "post of an unknown pending",
        Transfer(60, 0, 0, 0, 0, flags=POST, pending_id=777),
        R.PENDING_TRANSFER_NOT_FOUND,
    ),
    (
        "post of a plain transfer",
        Transfer(60, 0, 0, 0, 0, flags=POST, pending_id=1),
        R.PENDING_TRANSFER_NOT_PENDING,
    ),
]


@pytest.mark.parametrize(
    ("transfer", "expected"),
    [pytest.param(t, e, id=name) for name, t, e in STATE_FAILURES],
)
def test_a_state_failure_is_pinned_and_changes_nothing_else(
    engine: Engine, transfer: Transfer, expected: TransferResult
) -> None:
    before_balances, before_ids, _, before_pendings = state_of(engine)

    assert engine.create_transfers([transfer], T0 + 1) == [expected]

    assert expected.pinned
    balances, ids, failed, pendings = state_of(engine)
    assert (balances, ids, pendings) == (before_balances, before_ids, before_pendings)
    assert set(failed) == {60}
    changes = engine.take_changes()
    assert changes.records == []
    assert [(f.id, f.result) for f in changes.failures] == [(60, int(expected))]
    # The same fields get the same answer; other fields under that id are refused.
    assert engine.create_transfers([transfer], T0 + 2) == [expected]
    changed = transfer._replace(user_data=transfer.user_data + 1)
    assert engine.create_transfers([changed], T0 + 3) == [R.ID_ALREADY_FAILED]
    assert not any(engine.take_changes())
    assert state_of(engine)[:2] == (before_balances, before_ids)


def test_insufficient_funds_stay_refused_after_a_top_up(engine: Engine) -> None:
    overdraw = Transfer(60, BOB, ALICE, 60_000, 1)
    assert engine.create_transfers([overdraw], T0) == [R.EXCEEDS_CREDITS]
    assert engine.create_transfers([Transfer(61, TRUST, BOB, 1_000_000, 1)], T0) == [R.OK]

    assert engine.create_transfers([overdraw], T0) == [R.EXCEEDS_CREDITS]
    assert balance(engine, BOB).credit_balance == 1_050_000
    # A deliberate new attempt needs a new id.
    assert engine.create_transfers([overdraw._replace(id=62)], T0) == [R.OK]


def test_a_missing_account_stays_missing_for_that_id_once_created(engine: Engine) -> None:
    early = Transfer(60, ALICE, 20, 10, 1)
    assert engine.create_transfers([early], T0) == [R.CREDIT_ACCOUNT_NOT_FOUND]
    assert engine.create_accounts([Account(20, 1, "KES", AccountKind.EMONEY)]) == [AccountResult.OK]
    assert engine.create_transfers([early], T0) == [R.CREDIT_ACCOUNT_NOT_FOUND]
    assert balance(engine, 20) == Balance(0, 0, 0, 0)


def test_a_closed_account_refuses_both_sides_until_reopened(engine: Engine) -> None:
    assert engine.set_closed(BOB, True) == AccountResult.OK
    results = engine.create_transfers(
        [Transfer(60, BOB, ALICE, 10, 1), Transfer(61, ALICE, BOB, 10, 1)], T0
    )
    assert results == [R.DEBIT_ACCOUNT_CLOSED, R.CREDIT_ACCOUNT_CLOSED]
    assert engine.set_closed(BOB, True) == AccountResult.ALREADY_CLOSED
    assert engine.set_closed(BOB, False) == AccountResult.OK
    assert engine.set_closed(BOB, False) == AccountResult.NOT_CLOSED
    assert engine.set_closed(999, True) == AccountResult.NOT_FOUND

    # Reopened, yet the pinned ids keep their failure; a new id goes through.
    assert engine.create_transfers([Transfer(60, BOB, ALICE, 10, 1)], T0) == [
        R.DEBIT_ACCOUNT_CLOSED
    ]
    assert engine.create_transfers([Transfer(62, BOB, ALICE, 10, 1)], T0) == [R.OK]
    assert engine.take_changes().account_flags == [
        (BOB, int(WALLET | AccountFlags.CLOSED)),
        (BOB, int(WALLET)),
    ]


# -- idempotency ----------------------------------------------------------------------


def test_the_same_transfer_again_exists_and_moves_nothing(engine: Engine) -> None:
    transfer = Transfer(10, ALICE, BOB, 700, 1, code=3, user_data=99)
    assert engine.create_transfers([transfer], T0) == [R.OK]
    engine.take_changes()
    before = state_of(engine)

    assert engine.create_transfers([transfer] * 3, T0 + 1) == [R.EXISTS] * 3
    assert all(result.ok for result in [R.EXISTS])
    assert state_of(engine) == before
    assert not any(engine.take_changes())


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 701},
        {"credit_account_id": FEES},
        {"debit_account_id": BOB, "credit_account_id": ALICE},
        {"code": 4},
        {"user_data": 100},
        {"flags": int(PENDING)},
        {"ledger": 2},
    ],
    ids=",".join,
)
def test_the_same_id_with_other_fields_is_refused(engine: Engine, change: dict[str, int]) -> None:
    transfer = Transfer(10, ALICE, BOB, 700, 1, code=3, user_data=99)
    assert engine.create_transfers([transfer], T0) == [R.OK]
    engine.take_changes()
    before = state_of(engine)

    assert engine.create_transfers([transfer._replace(**change)], T0) == [
        R.EXISTS_WITH_DIFFERENT_FIELDS
    ]
    assert state_of(engine) == before
    assert not any(engine.take_changes())


def test_user_data_differing_by_the_hash_modulus_is_a_different_payload(engine: Engine) -> None:
    assert engine.create_transfers([Transfer(10, ALICE, BOB, 5, 1, user_data=0)], T0) == [R.OK]
    replay = Transfer(10, ALICE, BOB, 5, 1, user_data=2**61 - 1)
    assert engine.create_transfers([replay], T0) == [R.EXISTS_WITH_DIFFERENT_FIELDS]


def test_a_post_of_a_missing_pending_keeps_its_failure_once_the_pending_exists(
    engine: Engine,
) -> None:
    post = Transfer(60, 0, 0, 0, 0, flags=POST, pending_id=10)
    assert engine.create_transfers([post], T1) == [R.PENDING_TRANSFER_NOT_FOUND]
    reserve(engine, 10, 500)
    assert engine.create_transfers([post], T1 + 1) == [R.PENDING_TRANSFER_NOT_FOUND]


# -- linked chains --------------------------------------------------------------------


def test_a_linked_chain_applies_as_one(engine: Engine) -> None:
    chain = [
        Transfer(10, ALICE, BOB, 1_000, 1, flags=LINKED),
        Transfer(11, ALICE, FEES, 30, 1, flags=LINKED),
        Transfer(12, BOB, CAPPED, 500, 1),
    ]
    assert engine.create_transfers(chain, T0) == [R.OK] * 3
    assert balance(engine, ALICE).credit_balance == 98_970
    assert balance(engine, BOB).credit_balance == 50_500
    assert [record.id for record in records(engine)] == [10, 11, 12]


def test_a_failed_chain_leaves_nothing_behind(engine: Engine) -> None:
    engine.create_transfers([Transfer(9, BOB, ALICE, 10, 1, flags=PENDING)], T0)
    engine.take_changes()
    before_balances, before_ids, _, before_pendings = state_of(engine)
    chain = [
        Transfer(10, ALICE, BOB, 1_000, 1, flags=LINKED),
        Transfer(11, ALICE, BOB, 5, 1, flags=PENDING | LINKED, timeout_s=30),
        Transfer(12, 0, 0, 0, 0, flags=POST | LINKED, pending_id=9),
        # Alice could pay this alone, but not after what the chain already moved.
        Transfer(13, ALICE, FEES, 99_010, 1, flags=LINKED),
        Transfer(14, BOB, FEES, 1, 1),
    ]

    results = engine.create_transfers(chain, T0 + 1)

    assert results == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
    ]
    balances, ids, failed, pendings = state_of(engine)
    assert balances == before_balances
    assert ids == before_ids
    assert pendings == before_pendings  # 11 is gone, 9 is pending again
    assert engine.next_expiry() is None
    changes = engine.take_changes()
    assert changes.records == []
    # Only the member that failed on its own is pinned (its failure is its own).
    assert [(f.id, f.result) for f in changes.failures] == [(13, int(R.EXCEEDS_CREDITS))]
    assert set(failed) == {13}
    # The other members were never decided: they can go through on their own.
    assert engine.create_transfers([chain[0]._replace(flags=0)], T0 + 2) == [R.OK]
    # Retrying the chain fails the same way even with funds: member 13's failure is pinned.
    assert engine.create_transfers([Transfer(20, TRUST, ALICE, 10**6, 1)], T0 + 3) == [R.OK]
    assert engine.create_transfers(chain[3:], T0 + 4) == [
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
    ]


def test_an_input_failure_inside_a_chain_fails_the_chain_without_a_pin(engine: Engine) -> None:
    before = state_of(engine)
    chain = [Transfer(10, ALICE, BOB, 10, 1, flags=LINKED), Transfer(11, ALICE, BOB, 0, 1)]
    assert engine.create_transfers(chain, T0) == [
        R.LINKED_EVENT_FAILED,
        R.AMOUNT_MUST_BE_POSITIVE,
    ]
    assert state_of(engine) == before
    assert not any(engine.take_changes())


def test_negative_flags_inside_a_chain_are_refused(engine: Engine) -> None:
    before = state_of(engine)
    chain = [
        Transfer(10, ALICE, BOB, 10, 1, flags=LINKED),
        Transfer(11, ALICE, BOB, 10, 1, flags=-2),
    ]
    assert engine.create_transfers(chain, T0) == [R.LINKED_EVENT_FAILED, R.FLAGS_INVALID]
    assert state_of(engine) == before
    assert not any(engine.take_changes())


def test_a_chain_left_open_at_the_end_of_a_batch_is_refused_whole(engine: Engine) -> None:
    before = state_of(engine)
    batch = [
        Transfer(10, ALICE, BOB, 10, 1),
        Transfer(11, ALICE, BOB, 10, 1, flags=LINKED),
        Transfer(12, ALICE, BOB, 10, 1, flags=LINKED),
    ]
    assert engine.create_transfers(batch, T0) == [
        R.OK,
        R.LINKED_EVENT_CHAIN_OPEN,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert balance(engine, ALICE).debits_posted == before[0][ALICE].debits_posted + 10
    assert set(engine.transfer_ids) == set(before[1]) | {10}
    assert [record.id for record in records(engine)] == [10]
    assert engine.failed_ids == {}


def test_transfers_after_a_failed_chain_in_the_same_batch_still_apply(engine: Engine) -> None:
    batch = [
        Transfer(10, ALICE, BOB, 200_000, 1, flags=LINKED),
        Transfer(11, ALICE, BOB, 1, 1),
        Transfer(12, BOB, ALICE, 7, 1),
    ]
    assert engine.create_transfers(batch, T0) == [
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
        R.OK,
    ]
    assert [record.id for record in records(engine)] == [12]


# -- pending transfers ----------------------------------------------------------------


def reserve(engine: Engine, id: int, amount: int, timeout_s: int = 0) -> None:
    transfer = Transfer(id, ALICE, BOB, amount, 1, flags=PENDING, timeout_s=timeout_s)
    assert engine.create_transfers([transfer], T1) == [R.OK]
    engine.take_changes()


def test_a_pending_transfer_reserves_funds_without_moving_them(engine: Engine) -> None:
    reserve(engine, 10, 60_000)

    assert balance(engine, ALICE) == Balance(60_000, 0, 0, 100_000)
    assert balance(engine, BOB) == Balance(0, 0, 60_000, 50_000)
    assert balance(engine, ALICE).available == 40_000
    assert balance(engine, BOB).credit_balance == 50_000  # not spendable yet
    assert engine.create_transfers([Transfer(11, ALICE, BOB, 40_001, 1)], T0) == [R.EXCEEDS_CREDITS]
    assert engine.create_transfers([Transfer(12, BOB, FEES, 50_001, 1)], T0) == [R.EXCEEDS_CREDITS]
    assert invariants.violations(engine.accounts.values()) == []


@pytest.mark.parametrize("amount", [0, 60_000], ids=["amount 0", "explicit full amount"])
def test_posting_in_full_moves_the_reserved_amount(engine: Engine, amount: int) -> None:
    reserve(engine, 10, 60_000)
    post = Transfer(11, 0, 0, amount, 0, flags=POST, pending_id=10)

    assert engine.create_transfers([post], T0 + 1) == [R.OK]

    assert balance(engine, ALICE) == Balance(0, 60_000, 0, 100_000)
    assert balance(engine, BOB) == Balance(0, 0, 0, 110_000)
    assert engine.pendings[10].status == PendingStatus.POSTED
    [record] = records(engine)
    assert (record.amount, record.debit_account_id, record.credit_account_id) == (
        60_000,
        ALICE,
        BOB,
    )
    # Replays with 0 or the explicit amount are the same post.
    for again in (0, 60_000):
        assert engine.create_transfers([post._replace(amount=again)], T0 + 2) == [R.EXISTS]


def test_a_partial_post_moves_part_and_releases_the_rest(engine: Engine) -> None:
    reserve(engine, 10, 60_000)
    post = Transfer(11, ALICE, BOB, 25_000, 1, flags=POST, pending_id=10)
    assert engine.create_transfers([post], T0 + 1) == [R.OK]
    assert balance(engine, ALICE) == Balance(0, 25_000, 0, 100_000)
    assert balance(engine, BOB) == Balance(0, 0, 0, 75_000)
    assert engine.create_transfers([post._replace(id=12)], T0 + 2) == [
        R.PENDING_TRANSFER_ALREADY_POSTED
    ]


def test_a_void_releases_the_reservation(engine: Engine) -> None:
    reserve(engine, 10, 60_000)
    assert engine.create_transfers(
        [Transfer(11, 0, 0, 0, 0, flags=VOID, pending_id=10)], T0 + 1
    ) == [R.OK]
    assert balance(engine, ALICE) == Balance(0, 0, 0, 100_000)
    assert balance(engine, BOB) == Balance(0, 0, 0, 50_000)
    assert engine.pendings[10].status == PendingStatus.VOIDED


RESOLUTION_FAILURES = [
    (
        "post more than reserved",
        Transfer(11, 0, 0, 60_001, 0, flags=POST, pending_id=10),
        R.EXCEEDS_PENDING_TRANSFER_AMOUNT,
    ),
    (
        "void part of it",
        Transfer(11, 0, 0, 5, 0, flags=VOID, pending_id=10),
        R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT,
    ),
    (
        "post between other accounts",
        Transfer(11, ALICE, FEES, 0, 0, flags=POST, pending_id=10),
        R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS,
    ),
    (
        "post in another ledger",
        Transfer(11, 0, 0, 0, 2, flags=POST, pending_id=10),
        R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER,
    ),
]


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [pytest.param(t, e, id=name) for name, t, e in RESOLUTION_FAILURES],
)
def test_a_mismatched_resolution_is_refused_and_the_pending_stays(
    engine: Engine, resolution: Transfer, expected: TransferResult
) -> None:
    reserve(engine, 10, 60_000)
    before_balances = state_of(engine)[0]

    assert engine.create_transfers([resolution], T0 + 1) == [expected]

    assert state_of(engine)[0] == before_balances
    assert engine.pendings[10].status == PendingStatus.PENDING
    assert records(engine) == []
    assert engine.create_transfers(
        [Transfer(12, 0, 0, 0, 0, flags=POST, pending_id=10)], T0 + 2
    ) == [R.OK]


@pytest.mark.parametrize(
    ("first", "late", "expected"),
    [
        (POST, POST, R.PENDING_TRANSFER_ALREADY_POSTED),
        (POST, VOID, R.PENDING_TRANSFER_ALREADY_POSTED),
        (VOID, POST, R.PENDING_TRANSFER_ALREADY_VOIDED),
        (VOID, VOID, R.PENDING_TRANSFER_ALREADY_VOIDED),
        (None, POST, R.PENDING_TRANSFER_EXPIRED),
        (None, VOID, R.PENDING_TRANSFER_EXPIRED),
    ],
    ids=["post,post", "post,void", "void,post", "void,void", "expired,post", "expired,void"],
)
def test_a_late_resolution_fails_and_changes_nothing(
    engine: Engine, first: TransferFlags | None, late: TransferFlags, expected: TransferResult
) -> None:
    reserve(engine, 10, 60_000, timeout_s=30)
    if first is None:
        assert engine.expire(T1 + 30 * NS_PER_S) == 1
    else:
        resolution = Transfer(11, 0, 0, 0, 0, flags=first, pending_id=10)
        assert engine.create_transfers([resolution], T1 + 1) == [R.OK]
    engine.take_changes()
    before = state_of(engine)

    late_resolution = Transfer(12, 0, 0, 0, 0, flags=late, pending_id=10)
    assert engine.create_transfers([late_resolution], T1 + 31 * NS_PER_S) == [expected]

    balances, ids, failed, pendings = state_of(engine)
    assert (balances, ids, pendings) == (before[0], before[1], before[3])
    assert set(failed) == {12}
    assert records(engine) == []


def test_the_ledger_expires_a_pending_transfer_at_its_deadline(engine: Engine) -> None:
    reserve(engine, 10, 60_000, timeout_s=30)
    deadline = T1 + 30 * NS_PER_S
    assert engine.next_expiry() == deadline

    assert engine.expire(deadline - 1) == 0
    assert balance(engine, ALICE).debits_pending == 60_000
    assert engine.expire(deadline) == 1

    assert balance(engine, ALICE) == Balance(0, 0, 0, 100_000)
    assert balance(engine, BOB) == Balance(0, 0, 0, 50_000)
    assert engine.pendings[10].status == PendingStatus.EXPIRED
    [record] = records(engine)
    assert record.id is None
    assert record.flags == TransferFlags.EXPIRY
    assert (record.pending_id, record.amount, record.timestamp) == (10, 60_000, deadline)
    assert engine.next_expiry() is None
    assert engine.expire(deadline + 10 * NS_PER_S) == 0


def test_a_post_after_the_deadline_fails_even_before_the_sweep(engine: Engine) -> None:
    reserve(engine, 10, 60_000, timeout_s=30)
    post = Transfer(11, 0, 0, 0, 0, flags=POST, pending_id=10)
    assert engine.create_transfers([post], T1 + 30 * NS_PER_S) == [R.PENDING_TRANSFER_EXPIRED]
    assert balance(engine, BOB).credits_posted == 50_000
    assert balance(engine, ALICE).debits_pending == 60_000  # held until the sweep
    assert engine.expire(T1 + 30 * NS_PER_S) == 1
    assert balance(engine, ALICE).debits_pending == 0


def test_a_pending_transfer_without_timeout_never_expires(engine: Engine) -> None:
    reserve(engine, 10, 60_000, timeout_s=0)
    assert engine.next_expiry() is None
    assert engine.expire(T0 + limits.pending_timeout_s_max * NS_PER_S * 10) == 0
    assert engine.pendings[10].status == PendingStatus.PENDING


def test_a_pending_transfer_can_be_posted_after_its_accounts_close(engine: Engine) -> None:
    reserve(engine, 10, 60_000)
    assert engine.set_closed(BOB, True) == AccountResult.OK
    assert engine.create_transfers(
        [Transfer(11, 0, 0, 0, 0, flags=POST, pending_id=10)], T0 + 1
    ) == [R.OK]
    assert balance(engine, BOB).credit_balance == 110_000


# -- accounts -------------------------------------------------------------------------


def test_creating_an_account_again_exists_and_other_fields_are_refused() -> None:
    engine = Engine()
    wallet = Account(1, 1, "KES", AccountKind.EMONEY, WALLET, overdraft_limit=0)
    assert engine.create_accounts([wallet]) == [AccountResult.OK]
    assert engine.create_accounts([wallet, wallet]) == [AccountResult.EXISTS] * 2
    assert engine.create_accounts([wallet._replace(currency="USD")]) == [
        AccountResult.EXISTS_WITH_DIFFERENT_FIELDS
    ]
    assert engine.create_accounts([wallet._replace(overdraft_limit=5)]) == [
        AccountResult.EXISTS_WITH_DIFFERENT_FIELDS
    ]
    assert engine.take_changes().accounts == [wallet]


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (Account(0, 1, "KES"), AccountResult.ID_INVALID),
        (Account(1.0, 1, "KES"), AccountResult.ID_INVALID),  # type: ignore[arg-type]
        (Account(1, 0, "KES"), AccountResult.LEDGER_INVALID),
        (Account(1, True, "KES"), AccountResult.LEDGER_INVALID),
        (Account(1, 1, "XXX"), AccountResult.CURRENCY_UNKNOWN),
        (Account(1, 1, ["KES"]), AccountResult.CURRENCY_UNKNOWN),  # type: ignore[arg-type]
        (Account(1, 1, "KES", 7), AccountResult.KIND_INVALID),  # type: ignore[arg-type]
        (Account(1, 1, "KES", flags=AccountFlags.CLOSED), AccountResult.FLAGS_INVALID),
        (Account(1, 1, "KES", flags=8), AccountResult.FLAGS_INVALID),  # type: ignore[arg-type]
        (Account(1, 1, "KES", flags=2**40), AccountResult.FLAGS_INVALID),  # type: ignore[arg-type]
        (Account(1, 1, "KES", flags=WALLET | MIRROR), AccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
        (
            Account(1, 1, "KES", flags=WALLET, overdraft_limit=-1),
            AccountResult.OVERDRAFT_LIMIT_INVALID,
        ),
        (Account(1, 1, "KES", flags=WALLET, balance_max=0), AccountResult.BALANCE_MAX_INVALID),
        (Account(1, 1, "KES", balance_max=100), AccountResult.BALANCE_MAX_NEEDS_A_CONSTRAINT),
        (Account(1, 1, "KES", code=-1), AccountResult.CODE_INVALID),
        (Account(1, 1, "KES", code=True), AccountResult.CODE_INVALID),
        (Account(1, 1, "KES", user_data=-1), AccountResult.USER_DATA_INVALID),
    ],
    ids=lambda value: value.name if isinstance(value, AccountResult) else "",
)
def test_a_bad_account_gets_its_exact_code(account: Account, expected: AccountResult) -> None:
    engine = Engine()
    assert engine.create_accounts([account]) == [expected]
    assert engine.accounts == {}
    assert not any(engine.take_changes())


# -- reversals ------------------------------------------------------------------------


def test_a_reversal_is_a_new_transfer_linked_to_the_original(engine: Engine) -> None:
    original = Transfer(10, ALICE, BOB, 1_000, 1, code=5)
    assert engine.create_transfers([original], T0) == [R.OK]
    [record] = records(engine)

    reversal = reversal_of(record, id=11)
    assert reversal == Transfer(11, BOB, ALICE, 1_000, 1, code=5, user_data=10)
    assert engine.create_transfers([reversal, reversal_of(original, 12, amount=1)], T0) == [
        R.OK,
        R.OK,
    ]
    assert balance(engine, ALICE).credit_balance == 100_001
    # The original stays in the history; the reversal is a record of its own.
    assert [r.id for r in records(engine)] == [11, 12]
    assert 10 in engine.transfer_ids


def test_an_expiry_record_cannot_be_reversed(engine: Engine) -> None:
    reserve(engine, 10, 5, timeout_s=1)
    assert engine.expire(T1 + NS_PER_S) == 1
    [expiry] = records(engine)
    with pytest.raises(AssertionError):
        reversal_of(expiry, id=11)


# -- the fast path and the general path agree --------------------------------------------

_SHAPES = [
    Account(1, 1, "KES", AccountKind.TRUST),
    Account(2, 1, "KES", AccountKind.EMONEY, WALLET),
    Account(3, 1, "KES", AccountKind.EMONEY, WALLET, overdraft_limit=limits.balance_max),
    Account(4, 1, "KES", AccountKind.EMONEY, WALLET, balance_max=1_000),
    Account(5, 1, "KES", AccountKind.EMONEY, MIRROR, overdraft_limit=50),
    Account(6, 1, "USD", AccountKind.EMONEY, WALLET),
    Account(7, 1, "KES", AccountKind.EMONEY),
]
_AMOUNTS = st.one_of(
    st.integers(1, 2_000), st.sampled_from([limits.balance_max, limits.balance_max - 1])
)


_BIG = limits.balance_max


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
# A wallet with a huge overdraft spending its whole credit twice: the fast path used to let
# its debits pass balance_max, where the general path says OVERFLOWS_BALANCE.
@example(moves=[(1, 3, _BIG, False, False), (3, 2, _BIG, False, False), (3, 7, _BIG, False, False)])
@given(
    st.lists(
        st.tuples(st.integers(1, 7), st.integers(1, 7), _AMOUNTS, st.booleans(), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_the_fast_path_decides_like_the_general_path(
    moves: list[tuple[int, int, int, bool, bool]],
) -> None:
    """Plain int flags may take the inlined fast path; IntFlag ones always take the long one."""
    fast, general = Engine(), Engine()
    for engine in (fast, general):
        engine.create_accounts(_SHAPES)
    for number, (debit, credit, amount, linked, closing) in enumerate(moves, start=1):
        if closing:
            for engine in (fast, general):
                engine.set_closed(debit, not engine.accounts[debit].flags & AccountFlags.CLOSED)
        flags = int(LINKED) if linked and number < len(moves) else 0
        transfer = Transfer(number, debit, credit, amount, 1, flags=flags)
        fast_results = fast.create_transfers([transfer], T0 + number)
        general_results = general.create_transfers(
            [transfer._replace(flags=TransferFlags(flags))], T0 + number
        )
        assert fast_results == general_results, transfer
    assert state_of(fast) == state_of(general)
    for engine in (fast, general):
        for state in engine.accounts.values():
            counters = state.balance()
            assert max(counters) <= limits.balance_max, (state.account, counters)
        assert invariants.violations(engine.accounts.values()) == []


# -- invariants -----------------------------------------------------------------------


def test_invariants_catch_an_unbalanced_or_overdrawn_ledger(engine: Engine) -> None:
    assert invariants.violations(engine.accounts.values()) == []
    engine.accounts[BOB].credits_posted += 1  # money from nowhere
    engine.accounts[ALICE].debits_posted += 100_001  # and an overdrawn wallet

    problems = invariants.violations(engine.accounts.values())

    assert "ledger 1 KES: posted debits 250001 != credits 150001" in problems
    assert any("e-money in circulation" in problem for problem in problems)
    assert f"account {ALICE}: debits exceed credits plus overdraft limit" in problems
