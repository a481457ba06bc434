"""What must hold after a fault, checked from the database with SQL of our own, not mkoba's code.

The SQL reads the tables as their schemas define them (``ledger/store/schema.py``,
``processor/schema.py``) and the processor's documented id layout
(``processor/ids.py``: request n's ledger transfers are n * 32 + slot, slots 0-7
pending, 8-15 posts, 16-23 voids, 24-31 direct transfers). Each check returns the
problems it found, as sentences for the report; none means it holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable

import psycopg

from tests.faults.answers import Answer, Outcome
from tests.faults.stk import StkPayer

# Transfer flags (ledger/transfer.py): PENDING 2, POST_PENDING 4, VOID_PENDING 8, EXPIRY 16.
_UNDOING = 8 | 16
_NOT_MOVING = 2 | 8 | 16
# Account flags: a wallet's or float's balance (credits - debits) may not go below its limit.
_DEBITS_MUST_NOT_EXCEED_CREDITS = 1
# Account kinds: the trust account's mirror, and e-money held by anyone.
_TRUST, _EMONEY = 1, 2
# Outbox rows a front writes (its failure callbacks) are numbered from here (daraja/callbacks.py).
_FRONT_OUTBOX_BASE = 1 << 60
# Problems listed per check; the count is always given.
shown_max = 10


def connect(url: str) -> psycopg.Connection:
    base, _, schema = url.partition("?schema=")
    connection = psycopg.connect(base, connect_timeout=10)
    if schema:
        connection.execute(f"SET search_path TO {schema}")
    return connection


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= shown_max:
        return problems
    return [*problems[:shown_max], f"... {len(problems)} problems in all"]


def conservation(url: str) -> list[str]:
    """Double entry from the balance columns, and e-money equal to the trust mirror.

    Per ledger and currency: the sum of debits equals the sum of credits, posted
    and pending alike; and replaying the whole transfer log, no wallet or float is
    below its overdraft limit.
    """
    problems = []
    with connect(url) as connection:
        sums = connection.execute(
            "SELECT ledger, currency, SUM(debits_posted) - SUM(credits_posted),"
            " SUM(debits_pending) - SUM(credits_pending),"
            f" SUM(CASE WHEN kind = {_EMONEY} THEN credits_posted - debits_posted ELSE 0 END)"
            f" - SUM(CASE WHEN kind = {_TRUST} THEN debits_posted - credits_posted ELSE 0 END)"
            " FROM ledger_accounts GROUP BY ledger, currency"
        ).fetchall()
        below = connection.execute(
            "SELECT a.id, a.overdraft_limit, COALESCE(SUM(m.amount), 0) FROM ledger_accounts AS a"
            " LEFT JOIN (SELECT credit_account_id AS account, amount FROM ledger_transfers"
            f"   WHERE (flags & {_NOT_MOVING}) = 0"
            "  UNION ALL SELECT debit_account_id, -amount FROM ledger_transfers"
            f"   WHERE (flags & {_NOT_MOVING}) = 0) AS m ON m.account = a.id"
            f" WHERE (a.flags & {_DEBITS_MUST_NOT_EXCEED_CREDITS}) <> 0"
            " GROUP BY a.id, a.overdraft_limit"
            " HAVING COALESCE(SUM(m.amount), 0) < -a.overdraft_limit"
        ).fetchall()
    for ledger, currency, posted, pending, emoney in sums:
        if posted:
            problems.append(f"ledger {ledger} {currency}: posted debits - credits = {posted}")
        if pending:
            problems.append(f"ledger {ledger} {currency}: pending debits - credits = {pending}")
        if emoney:
            problems.append(f"ledger {ledger} {currency}: e-money - trust mirror = {emoney}")
    problems += [
        f"account {id}: {balance} by the log, limit -{limit}" for id, limit, balance in below
    ]
    return _capped(problems)


def keys_with_two_receipts(url: str, answers: Iterable[Answer]) -> list[str]:
    """No request id with two receipts in the store, and no client told two receipts for one key."""
    with connect(url) as connection:
        doubled = connection.execute(
            "SELECT request_id, COUNT(*), STRING_AGG(receipt, ',') FROM receipts"
            " GROUP BY request_id HAVING COUNT(*) > 1"
        ).fetchall()
    problems = [f"{id}: {count} receipts ({receipts})" for id, count, receipts in doubled]
    told: dict[str, set[str]] = defaultdict(set)
    for answer in answers:
        if answer.receipt is not None:
            told[answer.key].add(answer.receipt)
    problems += [
        f"client key {key} told receipts {sorted(r)}" for key, r in told.items() if len(r) > 1
    ]
    return _capped(problems)


_SEEN = """
SELECT c.receipt, c.request_id, c.status, r.status, c.legs,
  (SELECT COUNT(*) FROM ledger_transfers AS t WHERE t.pending_id >= c.number * 32
     AND t.pending_id < c.number * 32 + 8 AND (t.flags & %(undoing)s) <> 0),
  (SELECT COUNT(*) FROM ledger_transfers AS t
     WHERE (t.id >= c.number * 32 + 8 AND t.id < c.number * 32 + 16 AND (t.flags & 4) <> 0)
        OR (t.id >= c.number * 32 + 24 AND t.id < c.number * 32 + 32))
FROM receipts AS c LEFT JOIN requests AS r ON r.id = c.request_id
WHERE c.receipt = ANY(%(receipts)s)
"""


def successes_undone(url: str, answers: Iterable[Answer]) -> list[str]:
    """Every success a client saw is completed: request, receipt, and money moved, not voided."""
    seen = {a.receipt: a for a in answers if a.outcome is Outcome.SUCCESS and a.receipt}
    with connect(url) as connection:
        rows = connection.execute(_SEEN, {"undoing": _UNDOING, "receipts": list(seen)}).fetchall()
    problems = []
    found = set()
    for receipt, request_id, status, request_status, legs, undone, moved in rows:
        found.add(receipt)
        answer = seen[receipt]
        wrong = []
        if answer.stream == "native" and request_id != answer.request_id:
            wrong.append(f"receipt of {request_id}")
        if answer.stream == "stk" and not request_id.endswith(f":{answer.key}"):
            wrong.append(f"receipt of {request_id}")
        if (status, request_status) != ("completed", "completed"):
            wrong.append(f"receipt {status}, request {request_status}")
        if undone:
            wrong.append(f"{undone} pending legs voided or expired")
        if moved != len(json.loads(legs)):
            wrong.append(f"{moved} of {len(json.loads(legs))} legs moved")
        if wrong:
            problems.append(f"{answer.stream} {answer.key} ({receipt}): {'; '.join(wrong)}")
    problems += [
        f"{seen[r].stream} {seen[r].key}: receipt {r} is not in the store"
        for r in set(seen) - found
    ]
    return _capped(problems)


def failures_done(url: str, answers: Iterable[Answer]) -> list[str]:
    """No request a client was told failed (or rolled back) is completed, and no key got both."""
    outcomes: dict[str, set[Outcome]] = defaultdict(set)
    failed: dict[str, Answer] = {}
    for answer in answers:
        outcomes[answer.key].add(answer.outcome)
        if answer.outcome is Outcome.FAILURE:
            failed[answer.key] = answer
    problems = [
        f"client key {key}: told both success and failure"
        for key, seen in outcomes.items()
        if {Outcome.SUCCESS, Outcome.FAILURE} <= seen
    ]
    native = [a.request_id for a in failed.values() if a.stream == "native"]
    stk = [f"stk:%:{a.key}" for a in failed.values() if a.stream == "stk"]
    with connect(url) as connection:
        done = connection.execute(
            "SELECT id, status, (updated - created) / 1000000 FROM requests"
            " WHERE status = 'completed' AND (id = ANY(%s) OR id LIKE ANY(%s))",
            (native, stk),
        ).fetchall()
    problems += [
        f"{id}: told failed, but {status} (posted {late_ms} ms after it was decided)"
        for id, status, late_ms in done
    ]
    return _capped(problems)


def reconcile(url: str) -> list[str]:
    """``mkoba reconcile`` on the store exits 0."""
    done = subprocess.run(
        [sys.executable, "-c", "from mkoba.cli import main; main()", "reconcile", "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 0:
        return []
    return [f"exit {done.returncode}: {(done.stdout + done.stderr)[-1500:]}"]


def callbacks(url: str, payers: Iterable[StkPayer]) -> list[str]:
    """Every push a front accepted was called back, and never in two different ways.

    A callback may come twice (callbacks are retried until the business answers), but
    every copy must say the same: a second, contradicting callback undoes what the
    business was told. Each problem names the prompt's state and its callback rows in
    the store, the evidence of where the callback was lost.
    """
    wrong: dict[str, str] = {}
    for payer in payers:
        for push in payer.accepted:
            said = [_said(body) for body in payer.listener.bodies(push.path)]
            if not said or len(set(said)) > 1:
                wrong[push.checkout] = f"via {push.front}: callbacks {said}"
    if not wrong:
        return []
    with connect(url) as connection:
        prompts: dict[str, str] = {
            str(checkout): str(state)
            for checkout, state in connection.execute(
                "SELECT checkout_id, state || ' ' || COALESCE(result_code::text, '-')"
                " FROM daraja_prompts WHERE checkout_id = ANY(%s)",
                (list(wrong),),
            ).fetchall()
        }
        rows: dict[str, list[str]] = defaultdict(list)
        for request_id, id, state in connection.execute(
            "SELECT request_id, id, state FROM outbox WHERE channel = 'callback'"
            " AND request_id LIKE ANY(%s) ORDER BY id",
            ([f"stk:%:{checkout}" for checkout in wrong],),
        ).fetchall():
            kind = "front row" if id >= _FRONT_OUTBOX_BASE else "core row"
            rows[request_id.rsplit(":", 1)[-1]].append(f"{kind} {state}")
    return _capped(
        [
            f"{checkout} {what}; prompt {prompts.get(checkout, 'missing')};"
            f" outbox {rows.get(checkout, [])}"
            for checkout, what in wrong.items()
        ]
    )


def _said(body: object) -> tuple[object, object]:
    """What a callback told the business: its ResultCode and receipt."""
    if not isinstance(body, dict):
        return (body, None)
    stk = body.get("Body", {}).get("stkCallback", {})
    items = {i.get("Name"): i.get("Value") for i in stk.get("CallbackMetadata", {}).get("Item", [])}
    return (stk.get("ResultCode"), items.get("MpesaReceiptNumber"))


def server_errors(answers: Iterable[Answer]) -> list[str]:
    """No client was answered with a server error: a fault makes the platform busy, not broken."""
    found: dict[str, int] = defaultdict(int)
    for answer in answers:
        if answer.outcome is Outcome.ERROR:
            found[f"{answer.stream} via {answer.front}: {answer.status} {answer.code}"] += 1
    return [f"{what} ({count} times)" for what, count in sorted(found.items())]
