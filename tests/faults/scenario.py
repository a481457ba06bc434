"""A fault under load, from warm-up to verdict: the timeline every scenario follows.

1. Load through both fronts until each has served successes (warm-up).
2. The fault, held for ``hold_s`` while the load goes on; meanwhile every node
   still alive is asked ``/health/ready`` (is it fit to take traffic?).
3. The heal (a restart, SIGCONT, the partition mended), then the wait for the
   first success of a request sent after the fault: the time to resume. Where a
   standby core heals the fault by taking over (``takeover``), the test's heal
   waits for that, then brings the old core back, and the time to resume is held
   to the issue's 10 s from the fault itself.
4. More load, readiness asked again, the load stopped (requests in hand finish),
   STK callbacks given time to arrive, the cluster stopped cleanly.
5. The checks (``checks.py``) from the database, each with its own problems.

The report (figures and problems per check) is written as JSON in the scenario's
folder and summed up at the end of the run (``conftest.py``); each test of a
scenario asserts one check of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.faults import checks as db_checks
from tests.faults import standby
from tests.faults.answers import Answer, Outcome
from tests.faults.findings import Racy
from tests.faults.load import client_timeout_s
from tests.faults.rig import Rig

# Successes each front must serve before the fault.
warm_successes = 10
warm_timeout_s = 30.0
# After the heal, requests must succeed again within this (the target for a
# standby's takeover; a restart's backlog must cost "a few seconds, not a minute").
resume_after_heal_s_max = 10.0
# How long the load runs on after resuming.
after_s = 1.0
# How long after its push an accepted prompt's callback may come: the prompt's life
# (rig.SETTINGS daraja_stk_timeout_s: its payment's request times out before that)
# and a callback's first attempt.
callback_due_s = 8.0 + 2.0
# How long a node may take to say it is ready again after the resume.
ready_again_s = 5.0


# Every check a scenario reports on, in the order they are asked.
CHECKS = (
    "conservation",  # debits equal credits; e-money equals the trust mirror; no wallet below 0
    "idempotency",  # no request id with two receipts; no client told two receipts for one key
    "successes_kept",  # every success a client saw is completed, its money moved, not voided
    "failures_kept",  # no request a client was told failed is completed
    "reconcile",  # mkoba reconcile exits 0
    "no_errors",  # no client answered with a server error (500): busy (503) at worst
    "resume",  # a request sent after the fault succeeds within 10 s of the heal
    "callbacks",  # every STK push a front accepted is called back, never two different ways
    "readiness",  # /health/ready says 503 while money cannot move, 200 once it can
)


def checks(**failing_today: str) -> list[Any]:
    """``CHECKS`` as test parameters; each named one marked xfail with its finding.

    Strict (unless the finding is ``Racy``): when the fix lands the check passes, the
    test fails, and the marker goes.
    """
    assert set(failing_today) <= set(CHECKS), sorted(set(failing_today) - set(CHECKS))
    return [
        pytest.param(
            name,
            marks=pytest.mark.xfail(
                strict=not isinstance(failing_today[name], Racy), reason=failing_today[name]
            ),
        )
        if name in failing_today
        else name
        for name in CHECKS
    ]


@dataclass(frozen=True)
class Fault:
    """What a scenario does: inject, hold, heal; and whether the money path is down meanwhile."""

    name: str
    inject: Callable[[Rig], None]
    heal: Callable[[Rig], None]
    hold_s: float = 4.0
    # While the fault holds, no front can move money (the core, its store or the bus is out).
    stops_money: bool = True
    # The node the fault hits, when money still moves: its readiness is not judged meanwhile.
    # (On a takeover: the core whose lease the standby takes over.)
    hits: str | None = None
    # Native clients, each with one request in hand: more than a core's requests in hand
    # (rig.SETTINGS ``workers``), as a busy operator's platform has.
    native_clients: int = 24
    # A standby core heals the fault (the test's heal waits for it): resume from the fault.
    takeover: bool = False
    # The scenario's own check (``standby``), asked once the cluster has stopped.
    verify: Callable[[Rig, Report], list[str]] | None = None


@dataclass
class Report:
    """What a scenario measured and what each check found."""

    scenario: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    # What the clients saw, and when the fault began and healed (time.monotonic).
    seen: list[Answer] = field(default_factory=list)
    fault_at: float = 0.0
    healed_at: float = 0.0

    def check(self, name: str) -> None:
        """Assert that check ``name`` ran and found nothing wrong."""
        assert name in self.problems, f"check {name} did not run: {sorted(self.problems)}"
        found = self.problems[name]
        assert not found, f"{self.scenario}: {name}:\n  " + "\n  ".join(found)


def run(rig: Rig, fault: Fault, wait_resume_s: float) -> Report:
    """Run ``fault`` on ``rig`` under load and check everything afterwards."""
    report = Report(fault.name)
    figures = report.figures
    answers = rig.answers
    began = time.monotonic()
    timeline: dict[str, float] = {}
    figures["timeline_s"] = timeline

    def mark(moment: str) -> None:
        timeline[moment] = round(time.monotonic() - began, 2)

    rig.start_load(fault.native_clients)
    assert rig.load is not None
    fronts = [node.name for node in rig.cluster.fronts]
    if not answers.wait(lambda a: _warm(a, fronts, rig), warm_timeout_s):
        raise RuntimeError(f"no warm-up in {warm_timeout_s}s: {answers.counts()}")
    mark("warm")
    fault_at = rig.fault_at = time.monotonic()
    fault.inject(rig)
    figures["readiness_during"] = _ready_during(rig, fault, fault_at + fault.hold_s)
    time.sleep(max(0.0, fault_at + fault.hold_s - time.monotonic()))  # the fault's length
    heal_from = time.monotonic()
    fault.heal(rig)
    healed_at = time.monotonic()
    mark("healed")
    answers.wait(lambda _: answers.first_success_sent_after(fault_at) is not None, wait_resume_s)
    resumed = answers.first_success_sent_after(fault_at)
    mark("resumed")
    time.sleep(after_s)  # load goes on after the resume: it must keep succeeding
    figures["readiness_after"] = _ready_after(rig)
    if len(rig.cluster.cores) > 1:
        figures["cores_after"] = standby.after(rig)
    figures["stuck_clients"] = rig.load.stop(client_timeout_s + 5.0)
    mark("load_stopped")
    _await_callbacks(rig)
    mark("called_back")
    stop_at = time.monotonic()
    figures["unclean_stops"] = rig.stop_cluster()
    # Nodes that exited on their own, and were started again, as a supervisor does.
    figures["exits"] = {name: found for name, found in rig.supervisor.exits.items() if found}
    mark("stopped")
    figures |= {
        "fault_held_s": round(healed_at - fault_at, 2),
        "heal_s": round(healed_at - heal_from, 2),
        "resume_s": None if resumed is None else round(resumed.answered - fault_at, 2),
        "resume_after_heal_s": None if resumed is None else round(resumed.answered - healed_at, 2),
        "answers_before_fault": answers.counts(until=fault_at),
        "answers_fault_to_heal": answers.counts(fault_at, healed_at),
        "answers_after_heal": answers.counts(healed_at, stop_at),
        "logs": {n.name: _evidence(n.lines("[warning", "[error")) for n in rig.cluster.nodes},
        "log_counts": {n.name: _counts(n.lines(*EVIDENCE)) for n in rig.cluster.nodes},
        "notes": rig.notes,
    }
    report.seen, report.fault_at, report.healed_at = answers.all(), fault_at, healed_at
    problems = report.problems
    problems["resume"] = _resume_problems(figures, wait_resume_s, fault)
    problems["readiness"] = _readiness_problems(figures, fault)
    _money_checks(rig, problems)
    if fault.verify is not None:
        problems["standby"] = fault.verify(rig, report)
    mark("checked")
    _write(rig, report)
    return report


def _money_checks(rig: Rig, problems: dict[str, list[str]]) -> None:
    seen = rig.answers.all()
    problems["conservation"] = db_checks.conservation(rig.db)
    problems["idempotency"] = db_checks.keys_with_two_receipts(rig.db, seen)
    problems["successes_kept"] = db_checks.successes_undone(rig.db, seen)
    problems["failures_kept"] = db_checks.failures_done(rig.db, seen)
    problems["callbacks"] = db_checks.callbacks(rig.db, rig.payers)
    problems["reconcile"] = db_checks.reconcile(rig.db)
    problems["no_errors"] = db_checks.server_errors(seen)


def _warm(seen: list[Answer], fronts: list[str], rig: Rig) -> bool:
    """Each front served native successes, and each STK payer finished a cancel and a payment."""
    counts = dict.fromkeys(fronts, 0)
    for answer in seen:
        if answer.outcome is Outcome.SUCCESS and answer.front in counts:
            counts[answer.front] += 1
    payers = all(payer.done >= 2 for payer in rig.payers)
    return min(counts.values()) >= warm_successes and payers


def _ready(url: str) -> int | None:
    """``/health/ready``'s HTTP status, or None when nothing answers (in time)."""
    try:
        return httpx.get(f"{url}/health/ready", timeout=1.0).status_code
    except httpx.HTTPError:
        return None


def _ready_during(rig: Rig, fault: Fault, until: float) -> dict[str, list[int | None]]:
    """Each live node's ``/health/ready`` statuses, polled while the fault holds.

    A takeover is polled until another core than the one the fault hit says 200 (within
    ``standby.takeover_wait_s``): the whole outage, however long the takeover takes.
    """
    seen: dict[str, list[int | None]] = {n.name: [] for n in rig.cluster.nodes if n.running}
    others = [n.name for n in rig.cluster.cores if n.name != fault.hits and n.name in seen]
    latest = rig.fault_at + standby.takeover_wait_s

    def holding() -> bool:
        now = time.monotonic()
        if now < until - 0.5:
            return True
        taken = any(200 in seen[name] for name in others)
        return fault.takeover and not taken and now < latest

    while holding():
        for node in rig.cluster.nodes:
            if node.name in seen and node.running:
                seen[node.name].append(_ready(node.url))
        time.sleep(0.5)  # a load balancer's polling interval
    return seen


def _ready_after(rig: Rig) -> dict[str, int | None]:
    """Each node's ``/health/ready`` once it has had ``ready_again_s`` to say 200.

    With a standby, the cores are asked which of them serves instead (``standby.after``).
    """
    deadline = time.monotonic() + ready_again_s
    found: dict[str, int | None] = {}
    cores = rig.cluster.cores if len(rig.cluster.cores) > 1 else []
    for node in rig.cluster.nodes:
        if node in cores:
            continue
        found[node.name] = _ready(node.url)
        # Polled while it says "not yet" (503, or nothing); other answers are final.
        while found[node.name] in (503, None) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling, as a load balancer would
            found[node.name] = _ready(node.url)
    return found


def _await_callbacks(rig: Rig) -> None:
    """Wait for the callbacks still due: a prompt ends within ``callback_due_s`` of its push."""
    while True:
        missing = [
            push.sent
            for payer in rig.payers
            for push in payer.accepted
            if not payer.listener.bodies(push.path)
        ]
        if not missing or time.monotonic() > max(missing) + callback_due_s:
            return
        time.sleep(0.2)


def _resume_problems(figures: dict[str, Any], wait_resume_s: float, fault: Fault) -> list[str]:
    after = figures["resume_after_heal_s"]
    if after is None:
        return [f"no request sent after the fault succeeded within {wait_resume_s}s of the heal"]
    if fault.takeover and figures["resume_s"] > standby.takeover_resume_s_max:
        most = standby.takeover_resume_s_max
        return [f"first success {figures['resume_s']}s after the fault (at most {most}s)"]
    if not fault.takeover and after > resume_after_heal_s_max:
        return [f"first success {after}s after the heal (at most {resume_after_heal_s_max}s)"]
    return []


def _readiness_problems(figures: dict[str, Any], fault: Fault) -> list[str]:
    problems = []
    for name, statuses in figures["readiness_during"].items():
        # No answer in time is "not ready" to a load balancer (a paused core gives none).
        if fault.stops_money and not {503, None} & set(statuses):
            problems.append(f"{name} never said not ready while money could not move: {statuses}")
        if not fault.stops_money and name != fault.hits and any(s != 200 for s in statuses):
            problems.append(f"{name} said not ready while it could serve: {statuses}")
    for name, status in figures["readiness_after"].items():
        if status != 200:
            problems.append(f"{name} /health/ready {status} after the resume")
    if "cores_after" in figures:
        problems += standby.role_problems(figures["cores_after"])
    return problems


# Log lines that are evidence for the findings, counted per node.
EVIDENCE = (
    "outbox_pkey",  # a front's callback row collided with another's (finding 1)
    "STK prompt work failed",  # a front could not settle a prompt (its rows did not commit)
    "reached no TranProc",  # a delivery acknowledgement got no answer (finding 2)
    "left pending by the last stop",  # a restarted core rolled back what was pending
    "the ledger store is unavailable",  # the writer could not reach PostgreSQL
    "failed [mkoba.bus]",  # TranProc answered a request SYSTEM_ERROR
    "Daraja route",  # a Daraja route failed (answered 500.003.1001)
)


def _counts(lines: list[str]) -> dict[str, int]:
    """How many of ``lines`` hold each piece of ``EVIDENCE``."""
    return {n: c for n in EVIDENCE if (c := sum(n in line for line in lines))}


def _evidence(lines: list[str]) -> dict[str, Any]:
    """How many warnings and errors a node logged, and the first few distinct ones."""
    distinct: list[str] = []
    for line in lines:
        text = line.split("]", 1)[-1].strip()[:160]
        if text not in distinct:
            distinct.append(text)
    return {"count": len(lines), "first": distinct[:6]}


def _write(rig: Rig, report: Report) -> None:
    """The report as JSON in the scenario's folder (the run's summary names the file)."""
    path = rig.folder / "faults.json"
    found = {"scenario": report.scenario, "figures": report.figures, "problems": report.problems}
    path.write_text(json.dumps(found, indent=2, default=str), encoding="utf-8")
