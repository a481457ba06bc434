"""PINs as DESIGN.md says: a keyed verifier, constant-time comparison, durable attempt counts.

A four-digit PIN has 10,000 values, so an unkeyed slow hash protects nothing
from whoever holds the database. The verifier is HMAC-SHA-256 under a PIN key
that lives outside the database (``load_or_create_key``), as an HSM's PIN
verification key would. Wrong attempts are counted and the credential locks at
the profile's limit; the caller persists every change before answering, and
serialises checks per party so that exactly the limit reaches the verifier.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import itertools
from typing import NamedTuple

from mkoba.parties.model import Credential
from mkoba.parties.secrets import Pin, SecretKey


class PinOutcome(enum.StrEnum):
    """The answer to a PIN check."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET = "not_set"


class PinCheck(NamedTuple):
    """What a check found, and the credential as it must now be stored."""

    outcome: PinOutcome
    attempts_left: int
    credential: Credential | None
    changed: bool


class PinVault:
    """Makes and checks keyed PIN verifiers; counts how often it is asked (for audits)."""

    def __init__(self, key: SecretKey) -> None:
        self._key = key
        self.verifications = 0

    def verifier(self, party_id: int, pin: Pin) -> str:
        """The stored form of ``pin`` for ``party_id``: useless without the key."""
        message = f"{party_id}:{pin.reveal()}".encode()
        return hmac.new(self._key.reveal(), message, hashlib.sha256).hexdigest()

    def matches(self, credential: Credential, pin: Pin) -> bool:
        """Whether ``pin`` is the credential's PIN, compared in constant time."""
        self.verifications += 1
        expected = self.verifier(credential.party_id, pin)
        return hmac.compare_digest(expected, credential.verifier)

    def attempt_tag(self, party_id: int, pin: Pin) -> bytes:
        """A keyed tag of one PIN attempt, to recognise its retry (kept in memory only)."""
        message = f"attempt:{party_id}:{pin.reveal()}".encode()
        return hmac.new(self._key.reveal(), message, hashlib.sha256).digest()

    def check(self, credential: Credential | None, pin: Pin, attempts_max: int) -> PinCheck:
        """Check ``pin``; a locked credential is refused without asking the verifier."""
        assert attempts_max > 0
        if credential is None:
            return PinCheck(PinOutcome.NOT_SET, 0, None, False)
        if credential.locked:
            return PinCheck(PinOutcome.LOCKED, 0, credential, False)
        if self.matches(credential, pin):
            changed = credential.failed_attempts != 0
            return PinCheck(
                PinOutcome.OK, attempts_max, credential._replace(failed_attempts=0), changed
            )
        failed = credential.failed_attempts + 1
        locked = failed >= attempts_max
        updated = credential._replace(failed_attempts=failed, locked=locked)
        outcome = PinOutcome.LOCKED if locked else PinOutcome.WRONG
        return PinCheck(outcome, max(0, attempts_max - failed), updated, True)

    def id_digest(self, id_number: str) -> str:
        """A keyed digest of an ID document number: checkable, not reversible without the key."""
        normalized = "".join(id_number.split()).upper()
        message = f"id:{normalized}".encode()
        return hmac.new(self._key.reveal(), message, hashlib.sha256).hexdigest()

    def id_matches(self, digest: str | None, id_number: str) -> bool:
        """Whether ``id_number`` is the one behind ``digest``, compared in constant time."""
        if digest is None:
            return False
        return hmac.compare_digest(self.id_digest(id_number), digest)

    def new_credential(
        self, party_id: int, pin: Pin, now: int, must_change: bool = False
    ) -> Credential:
        """A fresh credential for ``pin`` (registration, change, reset)."""
        return Credential(party_id, self.verifier(party_id, pin), 0, False, must_change, now)


def is_weak(pin: Pin) -> bool:
    """PINs nobody should choose: one digit repeated, or a straight run (1234, 9876)."""
    digits = pin.reveal()
    if len(set(digits)) == 1:
        return True
    steps = {int(b) - int(a) for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {-1})
