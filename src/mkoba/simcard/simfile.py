"""A simulated SIM's file: what the card holds between runs of ``mkoba phone --sim``.

``mkoba sims provision`` writes one per card into the SIMs folder (``var/sims``,
``MKOBA_SIMS_DIR``), as a SIM vendor receives a card's profile: its ICCID, the
number and role it serves, its key version. The phone keeps the card's counters,
its menu and a download in progress there (``SimCard.state``). No key is in it:
the phone derives the card's keys from the platform's master key file, as the
SIM had them written at personalisation. Written whole to a temporary file and
renamed, so a crash leaves the old state or the new, never half of one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkoba.parties import SecretKey
from mkoba.simcard.card import SimCard
from mkoba.simcard.keys import check_iccid

DEFAULT_DIR = Path("var/sims")


class SimFileError(ValueError):
    """No such SIM, or a file that is not one; the message says which and what to do."""


@dataclass(slots=True)
class SimFile:
    """A SIM card as the phone holds it, and where it is kept."""

    path: Path
    msisdn: str
    role: str
    provisioned: float
    card: SimCard

    def save(self) -> None:
        """Write the card's state (atomically)."""
        body = {
            "msisdn": self.msisdn,
            "role": self.role,
            "provisioned": self.provisioned,
            **self.card.state(),
        }
        write(self.path, body)


def write(path: Path, body: dict[str, Any]) -> None:
    """``body`` as ``path``'s JSON, atomically (mode 0600: a card is the holder's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def personalise(sims_dir: Path, iccid: str, msisdn: str, role: str, key_version: int = 1) -> Path:
    """A new card's file (its counters at zero, no menu yet); where it is."""
    path = sims_dir / f"{check_iccid(iccid)}.json"
    body = {
        "msisdn": msisdn,
        "role": role,
        "provisioned": time.time(),
        "iccid": iccid,
        "key_version": key_version,
        "counter": 0,
        "received": 0,
        "menu": "",
    }
    write(path, body)
    return path


def load(path: Path, master: SecretKey) -> SimFile:
    """The card in ``path`` (``SimFileError`` if it is not one)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        card = SimCard.from_state(body, master)
        return SimFile(
            path, str(body["msisdn"]), str(body["role"]), float(body["provisioned"]), card
        )
    except FileNotFoundError:
        raise SimFileError(f"no SIM file {path}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise SimFileError(f"{path} is not a SIM file ({type(error).__name__})") from None


def find(sims_dir: Path, msisdn: str, iccid: str | None = None) -> Path:
    """The file of ``iccid``, or of ``msisdn``'s newest card (after a swap, the new one)."""
    if iccid is not None:
        path = sims_dir / f"{check_iccid(iccid)}.json"
        if not path.exists():
            raise SimFileError(f"no SIM file for ICCID {iccid} in {sims_dir}")
        return path
    found: list[tuple[float, Path]] = []
    for path in sims_dir.glob("*.json") if sims_dir.is_dir() else ():
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(body, dict) and body.get("msisdn") == msisdn:
            found.append((float(body.get("provisioned", 0)), path))
    if not found:
        raise SimFileError(
            f"{msisdn} has no SIM in {sims_dir}: provision one with"
            f" `mkoba sims provision ICCID --msisdn {msisdn}`"
        )
    return max(found)[1]
