"""Today's failures, named once: the findings of issue 16 the fault suite reproduces.

A scenario marks a check with one of these (a strict xfail): when the fix lands the
check passes, the strict marker fails the run, and the marker is removed. A finding
that a run hits only when a fault lands in a window (a race) is ``Racy``: its xfail
is not strict, or CI would fail on the runs the race spares; its reason says how
often it was hit while the suite was written.
"""

from __future__ import annotations


class Racy(str):
    """A finding hit in some runs only: marked xfail, not strictly."""

    __slots__ = ()


# Finding 6: health lies. There is no /health/ready (404) for a load balancer to ask.
NO_READINESS = "issue 16 finding 6 (health lies): no /health/ready endpoint (404)"

# Finding 1: every front numbers its callback outbox rows from the same base (1 << 60),
# so the second front to write one collides (UniqueViolation, outbox_pkey), the core
# refuses the front's whole batch (WriterError), the prompt stays 'pending' in the store
# and its callback is never sent. The warm-up makes both fronts write one.
FRONT_OUTBOX_IDS = (
    "issue 16 finding 1: fronts hand out the same callback outbox ids (outbox_pkey);"
    " the losing front's prompt stays pending and its callback is never sent"
)
# The same, and a front's rows that fail while the store is out are not retried either.
FRONT_ROWS_LOST = (
    FRONT_OUTBOX_IDS + "; and a front's prompt rows that fail while PostgreSQL is"
    " unreachable are never retried (the prompt stays pending, no callback)"
)

# Finding 1 again: a prompt belongs to no one front. A restarted front takes every open
# prompt in the store as its own; when the customer has two (one its own, one the other
# front's), it fails the other front's with 1037 though that front was answering it.
FRONT_TAKES_PROMPTS = Racy(
    "issue 16 finding 1: a restarted front takes over the other front's open STK prompt"
    " and fails it with 1037 (hit in 4 of 10 runs)"
)

# Finding 3: a core's requests in hand when it (or NATS) dies stay unacknowledged in
# JetStream until redelivery (60 s), filling the consumer's pending slots (``workers``):
# nothing is processed for about a minute, and requests in flight time out busy.
REDELIVERY = (
    "issue 16 finding 3: the dead core's unacknowledged requests fill the consumer's"
    " pending slots until JetStream redelivers them after 60 s"
)
# After a NATS restart the core's requests in hand at the kill block the consumer the
# same way, unless the kill found fewer in hand than the pending limit.
REDELIVERY_RACY = Racy(
    "issue 16 finding 3: requests the core held when NATS died fill the consumer's"
    " pending slots until JetStream redelivers them after 60 s (hit in 7 of 10 runs)"
)

# Finding 7: Daraja answers 500.003.1001 at once while the core cannot answer.
DARAJA_FAILS_AT_ONCE = (
    "issue 16 finding 7: the STK push route answers 500.003.1001 at once while the"
    " core is down, where the native API waits and answers busy"
)
DARAJA_FAILS_AT_ONCE_RACY = Racy(DARAJA_FAILS_AT_ONCE + " (hit in 8 of 10 runs)")
# Not in the list (the writer's failures surface to clients, cf. finding 6):
# while PostgreSQL cannot be reached, TranProc answers SYSTEM_ERROR, HTTP 500.
STORE_OUTAGE_500 = (
    "while PostgreSQL is unreachable, native requests are answered 500 system_error"
    " (TranProc: 'request ... failed'), not 503 busy; and " + DARAJA_FAILS_AT_ONCE
)

# Finding 2's cause, seen from the other side: a front gives up on a delivery
# acknowledgement after 5 s ("reached no TranProc") and tells the client ROLLED_BACK,
# while the core had posted the money (its answer was lost with the core or NATS, or
# came after the front stopped waiting).
ACK_GIVEN_UP = (
    "issue 16 finding 2: the front does not retry a delivery acknowledgement that"
    " 'reached no TranProc'; it tells the client rolled back, though the core posted it"
)
# Hit when the fault lands between the core's post and the front's receiving its answer:
# with NATS killed, acknowledgements are always in flight; with the core killed or
# paused, only sometimes.
ACK_GIVEN_UP_NATS = Racy(ACK_GIVEN_UP + " (answers lost with NATS: hit in 10 of 10 runs)")
ACK_GIVEN_UP_CORE = Racy(ACK_GIVEN_UP + " (hit in 3 of 10 runs)")
ACK_GIVEN_UP_PAUSE = Racy(
    ACK_GIVEN_UP + " (the front waits 5 s, the core was paused 4 s: hit in 2 of 10 runs)"
)
# A paused front: the core's answer reaches it while it is stopped; when it continues,
# its 5 s wait has passed and it tells the client rolled back.
ACK_GIVEN_UP_FRONT_PAUSE = Racy(
    ACK_GIVEN_UP + " (the answer came while the front was paused: hit in 2 of 3 runs)"
)
