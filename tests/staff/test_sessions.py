"""Console sessions: server-side, timed out idle and absolute, one at a time where it matters."""

from __future__ import annotations

from mkoba.staff.sessions import (
    Sessions,
    absolute_s,
    csrf_matches,
    idle_s,
    sessions_max,
)

T0 = 1_796_500_000.0


def test_a_session_is_found_by_its_id_only() -> None:
    sessions = Sessions()
    session_id, session = sessions.open(7, "care_l1", T0)
    assert sessions.find(session_id, T0 + 1) is session
    assert sessions.find(session_id + "x", T0 + 1) is None
    # The table never holds the id itself.
    assert session_id not in repr(sessions._by_digest)


def test_idle_for_fifteen_minutes_ends_it() -> None:
    sessions = Sessions()
    session_id, _ = sessions.open(7, "care_l1", T0)
    assert sessions.find(session_id, T0 + idle_s - 1) is not None
    # Used just now: the idle clock started again.
    assert sessions.find(session_id, T0 + 2 * idle_s - 2) is not None
    assert sessions.find(session_id, T0 + 3 * idle_s) is None
    assert len(sessions) == 0


def test_twelve_hours_end_it_however_busy() -> None:
    sessions = Sessions()
    session_id, _ = sessions.open(7, "care_l2", T0)
    at = T0
    while at + idle_s / 2 < T0 + absolute_s:
        at += idle_s / 2
        assert sessions.find(session_id, at) is not None
    assert sessions.find(session_id, T0 + absolute_s) is None


def test_signing_out_ends_it_at_once() -> None:
    sessions = Sessions()
    session_id, _ = sessions.open(7, "auditor", T0)
    sessions.close(session_id)
    assert sessions.find(session_id, T0) is None


def test_money_and_audit_roles_have_one_session_at_a_time() -> None:
    sessions = Sessions()
    first, _ = sessions.open(1, "finance", T0)
    second, _ = sessions.open(1, "finance", T0 + 5)
    assert sessions.find(first, T0 + 6) is None
    assert sessions.find(second, T0 + 6) is not None
    # Care may work from two screens.
    one, _ = sessions.open(2, "care_l1", T0)
    two, _ = sessions.open(2, "care_l1", T0)
    assert sessions.find(one, T0) is not None and sessions.find(two, T0) is not None
    assert sessions.close_all(2) == 2


def test_the_anti_forgery_token_is_the_sessions_own() -> None:
    sessions = Sessions()
    _, mine = sessions.open(1, "care_l1", T0)
    _, theirs = sessions.open(2, "care_l1", T0)
    assert csrf_matches(mine, mine.csrf)
    assert not csrf_matches(mine, theirs.csrf)
    assert not csrf_matches(mine, None)
    assert not csrf_matches(mine, "")


def test_the_number_of_sessions_is_bounded() -> None:
    sessions = Sessions()
    first, _ = sessions.open(0, "care_l1", T0)
    for staff_id in range(1, sessions_max + 1):
        sessions.open(staff_id, "care_l1", T0 + staff_id * 0.001)
    assert len(sessions) == sessions_max
    assert sessions.find(first, T0 + 1) is None  # the least recently used went first
