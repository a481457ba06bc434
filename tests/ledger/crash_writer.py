"""The victim of the crash test: a writer that streams known batches and prints each ack.

Run as ``python -m tests.ledger.crash_writer URL [thread]`` (``thread``: SQLite
commits on the writer's thread rather than in its commit process). It prints ``backend PID`` (the
PostgreSQL backend of its writer, 0 for SQLite), then submits batch 0, 1, 2, ...
keeping a few in flight, and prints ``ack N`` (flushed) only once batch N's future
has resolved: an ack is the writer's promise that the batch is durable. It starts
from batch 0 every time, so a rerun after a crash is a client retrying everything.

The plan is a pure function of the batch number, so the test can say exactly what
each batch holds and what the books must show for any prefix of committed batches.
"""

from __future__ import annotations

import collections
import sys
from concurrent.futures import Future

from mkoba.ledger import (
    Account,
    AccountFlags,
    AccountKind,
    LedgerWriter,
    Transfer,
    TransferFlags,
    TransferResult,
    open_store,
)

TRUST, FEES = 1, 8
WALLETS = range(2, 8)
ACCOUNTS = [
    Account(TRUST, 1, "KES", AccountKind.TRUST),
    *(
        Account(id, 1, "KES", AccountKind.EMONEY, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
        for id in WALLETS
    ),
    Account(FEES, 1, "KES", AccountKind.EMONEY),
]
ISSUED = 1_000_000
RESERVED = 50
POSTED = 20
batches_max = 5_000
in_flight_max = 4
LINKED = int(TransferFlags.LINKED)


def wallet(number: int) -> int:
    return WALLETS[number % len(WALLETS)]


def chain_ids(number: int) -> list[int]:
    """The ids of batch ``number``'s chain that succeeds."""
    return [number * 10 + 1, number * 10 + 2, number * 10 + 3]


def doomed_ids(number: int) -> list[int]:
    """The ids of batch ``number``'s chain that fails (its last member overdraws)."""
    return [number * 10 + 4, number * 10 + 5]


def pending_id(number: int) -> int:
    return number * 10 + 6


def post_id(number: int) -> int:
    """The post, in batch ``number``, of the previous batch's pending transfer."""
    return number * 10 + 7


def batch(number: int) -> list[Transfer]:
    """Batch ``number``: issuance first, then chains, a reservation and a post."""
    if number == 0:
        return [Transfer(id, TRUST, id, ISSUED, 1) for id in WALLETS]
    payer, payee, other = wallet(number), wallet(number + 1), wallet(number + 2)
    amount = 1 + number % 97
    ok, doomed = chain_ids(number), doomed_ids(number)
    transfers = [
        Transfer(ok[0], payer, payee, amount, 1, flags=LINKED),
        Transfer(ok[1], payer, FEES, 1, 1, flags=LINKED),
        Transfer(ok[2], FEES, payee, 1, 1),
        Transfer(doomed[0], other, payer, 5, 1, flags=LINKED),
        Transfer(doomed[1], payer, other, 10 * ISSUED, 1),
        Transfer(pending_id(number), other, payee, RESERVED, 1, flags=int(TransferFlags.PENDING)),
    ]
    if number >= 2:
        post = int(TransferFlags.POST_PENDING)
        transfers.append(
            Transfer(
                post_id(number), 0, 0, POSTED, 0, flags=post, pending_id=pending_id(number - 1)
            )
        )
    return transfers


def first_results(number: int) -> list[TransferResult]:
    """What batch ``number`` gets the first time it is applied."""
    R = TransferResult
    if number == 0:
        return [R.OK] * len(WALLETS)
    results = [R.OK] * 3 + [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.OK]
    return [*results, R.OK] if number >= 2 else results


def balances_after(committed: int) -> dict[int, tuple[int, int, int, int]]:
    """The four counters of each account once batches 0..``committed`` are in."""
    counters = {account.id: [0, 0, 0, 0] for account in ACCOUNTS}

    def move(debit: int, credit: int, amount: int, pending: bool = False) -> None:
        counters[debit][0 if pending else 1] += amount
        counters[credit][2 if pending else 3] += amount

    for number in range(committed + 1):
        if number == 0:
            for id in WALLETS:
                move(TRUST, id, ISSUED)
            continue
        payer, payee, other = wallet(number), wallet(number + 1), wallet(number + 2)
        move(payer, payee, 1 + number % 97)
        move(payer, FEES, 1)
        move(FEES, payee, 1)
        move(other, payee, RESERVED, pending=True)
        if number >= 2:
            # The post releases the previous batch's reservation and moves part of it.
            earlier_payee, earlier_other = wallet(number), wallet(number + 1)
            move(earlier_other, earlier_payee, -RESERVED, pending=True)
            move(earlier_other, earlier_payee, POSTED)
    return {id: (c[0], c[1], c[2], c[3]) for id, c in counters.items()}


def main(url: str, commit_process: bool) -> None:
    with LedgerWriter(open_store(url, commit_process=commit_process)) as writer:
        store = writer.store
        connection = getattr(store, "_connection", None)
        backend = getattr(getattr(connection, "info", None), "backend_pid", 0)
        print(f"backend {backend}", flush=True)
        assert all(result.ok for result in writer.create_accounts(ACCOUNTS).result())
        in_flight: collections.deque[tuple[int, Future[list[TransferResult]]]] = collections.deque()
        for number in range(batches_max):
            in_flight.append((number, writer.submit(batch(number))))
            if len(in_flight) >= in_flight_max:
                acked, future = in_flight.popleft()
                future.result()
                print(f"ack {acked}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], commit_process=sys.argv[2:] != ["thread"])
