"""The hot standby under faults: which core serves, the takeover, and what must hold after.

A cluster made with ``standby=True`` runs two cores on one ledger: "core", started
first, holds the ledger's lease; "core-b" stands by (``/health`` 503, status
"standby") and takes the lease once it has expired (``MKOBA_LEASE_S``, 5 s). A core
that lost the lease exits 75 and, started again by the supervisor, stands by.

The standby scenarios (``test_standby_*.py``) check, beyond every scenario's checks:

- ``readiness`` (``scenario.py``): after the fault exactly one core is ready
  (``/health/ready`` 200) and the other says "standby";
- ``standby``, each scenario's own: the lease row in the database names the core that
  serves, with one takeover's token or none (no core took it back), which core exited
  on its own and with what status, what the cores logged of the lease, and for a fault
  of the standby alone, that no client saw anything of it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from typing import Any

import httpx

from tests.faults.answers import Answer, expected
from tests.faults.checks import connect
from tests.faults.cluster import Cluster, Node
from tests.faults.rig import Rig

# How long a heal waits, from the fault, for the standby to serve before it brings the
# old core back anyway (the ``standby`` check then says that there was no takeover).
takeover_wait_s = 20.0
# The target: requests succeed again within this of the active core's failure.
takeover_resume_s_max = 10.0
# After the resume, how long a restarted core may take to stand by: the supervisor
# restarts a core that exited after 1 s, and a start took up to 17 s on a busy 2-core VM.
standby_again_s = 30.0
# How long a core continued after losing its lease may take to exit: it finds out at
# its next renewal (every MKOBA_LEASE_S / 3) or commit, whichever comes first.
exit_wait_s = 10.0
exit_after_continue_s_max = 3.0
# A fault of the standby alone: a request sent after it is answered as promptly as any.
undisturbed_resume_s_max = 2.0

READY, STANDBY = "ready", "standby"
# What the cores log (mkoba/standby.py, ledger/store/base.py LeaseLost).
STOOD_BY = "standby: the ledger lease is held by"
TOOK_OVER = "took over the ledger lease (token {token}); starting as the core"
LOST = "lost the ledger lease"


def ready(node: Node) -> bool:
    """Whether ``/health/ready`` says 200 (in time)."""
    try:
        return httpx.get(f"{node.url}/health/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def role(node: Node) -> str:
    """What a core is: "ready", "standby", another ``/health`` status, or why none."""
    if not node.running:
        return "down"
    if ready(node):
        return READY
    said = node.says()
    return "no answer" if said is None else str(said)


def settled(found: Mapping[str, str]) -> bool:
    """Exactly one core ready and every other standing by."""
    return sorted(found.values()) == sorted([READY] + [STANDBY] * (len(found) - 1))


def roles(cluster: Cluster, timeout_s: float) -> dict[str, str]:
    """Each core's role once they have settled, or as last seen after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = {node.name: role(node) for node in cluster.cores}
        if settled(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def holder(node: Node) -> str | None:
    """The lease's holder a serving core names in ``/health``."""
    found = node.health()
    if found is None:
        return None
    lease = found[1].get("parts", {}).get("writer", {}).get("lease", {})  # type: ignore[attr-defined]
    return None if lease.get("holder") is None else str(lease["holder"])


def lease_row(db: str) -> tuple[str, int]:
    """The ledger lease's holder and token, as the database has them."""
    with connect(db) as connection:
        row = connection.execute("SELECT holder, token FROM ledger_lease").fetchone()
    assert row is not None, "no ledger lease row"
    return str(row[0]), int(row[1])


def after(rig: Rig) -> dict[str, str]:
    """The cores' roles after the resume, and the serving core's lease holder (in notes)."""
    found = roles(rig.cluster, standby_again_s)
    rig.notes["holders"] = {
        node.name: holder(node) for node in rig.cluster.cores if found[node.name] == READY
    }
    return found


def role_problems(found: Mapping[str, str]) -> list[str]:
    """The ``readiness`` check's part for the cores of a cluster with a standby."""
    if settled(found):
        return []
    return [f"not exactly one core ready and the other standing by: {dict(found)}"]


def note_lease(rig: Rig) -> None:
    """Before the fault: the lease's token (a takeover makes it one more)."""
    rig.notes["token_before"] = lease_row(rig.db)[1]


def wait_takeover(rig: Rig, old: Node) -> None:
    """Until a core other than ``old`` is ready: its name and the time since the fault."""
    others = [node for node in rig.cluster.cores if node is not old]
    while time.monotonic() < rig.fault_at + takeover_wait_s:
        for node in others:
            if ready(node):
                rig.notes["took_over"] = node.name
                rig.notes["takeover_s"] = round(time.monotonic() - rig.fault_at, 2)
                return
        time.sleep(0.1)


def continue_lost(rig: Rig, old: Node) -> None:
    """SIGCONT a core whose lease was taken over, and note how and how soon it exits."""
    process = old.process
    assert process is not None
    continued = time.monotonic()
    old.resume()
    try:
        # The supervisor polls the same process: either of them may reap it.
        process.wait(exit_wait_s)
    except subprocess.TimeoutExpired:  # noted: the check says so
        rig.notes["exit_status"] = None
        return
    rig.notes["exit_status"] = process.returncode
    rig.notes["exit_after_continue_s"] = round(time.monotonic() - continued, 2)


def lease_problems(rig: Rig, figures: Mapping[str, Any], serving: str, takeovers: int) -> list[str]:
    """The lease row names ``serving``'s holder, with ``takeovers`` more than before the fault."""
    problems = []
    found = figures["cores_after"]
    if found.get(serving) != READY:
        problems.append(f"{serving} is not the core that serves after the fault: {found}")
    row_holder, token = lease_row(rig.db)
    before = rig.notes["token_before"]
    if token != before + takeovers:
        problems.append(f"lease token {token}: {takeovers} takeover(s) after {before} expected")
    named = rig.notes.get("holders", {}).get(serving)
    if row_holder != named:
        problems.append(f"the lease row names {row_holder}, {serving} holds it as {named}")
    return problems


def exit_problems(figures: Mapping[str, Any], exits: Mapping[str, list[int]]) -> list[str]:
    """Which nodes exited on their own, with what status: exactly ``exits``."""
    if figures["exits"] == exits:
        return []
    return [f"nodes that exited on their own: {figures['exits']}, expected {dict(exits)}"]


def log_problems(node: Node, needle: str, times: int) -> list[str]:
    """``node`` logged ``needle`` ``times`` times (once per start that did it)."""
    found = len(node.lines(needle))
    if found == times:
        return []
    return [f"{node.name} logged {needle!r} {found} times, not {times}"]


def undisturbed(seen: list[Answer], figures: Mapping[str, Any]) -> list[str]:
    """A fault no client should notice: every answer as without it, and no pause in successes."""
    wrong: dict[str, int] = {}
    for answer in seen:
        if not expected(answer):
            what = f"{answer.stream} via {answer.front}: {answer.outcome} {answer.code}"
            wrong[what] = wrong.get(what, 0) + 1
    problems = [f"{what} ({count} times)" for what, count in sorted(wrong.items())]
    resume_s = figures["resume_s"]
    if resume_s is None or resume_s > undisturbed_resume_s_max:
        problems.append(
            f"first success {resume_s}s after the fault (at most {undisturbed_resume_s_max}s)"
        )
    return problems
