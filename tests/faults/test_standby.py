"""The hot standby core's scenarios: a place kept for them until the standby exists.

Issue 16 asks for a second ``--role core`` on the same ledger that waits, ready,
and takes over when the active core dies or hangs: new requests succeed again
within 10 s; a lease and a fencing token checked inside the commit transaction
keep a core that lost its lease from ever committing again; no acknowledged write
lost, nothing applied twice, no success a client saw undone. It is being built
now; today a second core is refused at start.

When it lands, each scenario below becomes a ``Fault`` like the others (see
``test_core_kill.py``), run on a cluster with a standby core (``cluster.py``
needs a second core node for it) and asked every check in ``scenario.CHECKS``,
the takeover's own checks added once its behaviour is specified.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

SCENARIOS = {
    "active-core-kill": "kill -9 of the active core under load: the standby takes over",
    "active-core-pause": "SIGSTOP of the active core: the standby takes over; continued,"
    " the old core must never commit again",
    "standby-kill": "kill -9 of the standby under load: clients see nothing",
    "standby-pause": "SIGSTOP of the standby under load: clients see nothing",
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_standby_scenario(scenario: str) -> None:
    pytest.skip(f"no hot standby core yet (issue 16): {SCENARIOS[scenario]}")
