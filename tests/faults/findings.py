"""Today's failures, named once: the findings of issue 16 that the fault suite reproduces.

A scenario marks a check with one of these (strict xfail); when the fix lands the
check passes, the strict marker fails the run, and the marker is removed.
"""

from __future__ import annotations

# Finding 6: no /health/ready; /health says ok on a front while no core can serve.
NO_READINESS = "issue 16 finding 6 (health lies): no /health/ready endpoint (404)"
# Finding 1: fronts number their callback outbox rows from the same base, so a second
# (or restarted) front's failure callback collides (outbox_pkey), the core's writer
# refuses the batch, and the callback is never sent.
FRONT_OUTBOX_IDS = (
    "issue 16 finding 1: fronts hand out the same callback outbox ids; the colliding"
    " front's failure callbacks are lost ('a front's rows did not commit')"
)
