"""New parties screened against the sanctions and PEP list; matches go to compliance.

After a registration commits (a customer, a business with its paybill or till, an
agent), each new party's name is screened (``screening.Screener``) in the
background, off TranProc's path: screening never holds a registration up; a
possible match is an alert (rule ``SCREEN``) with the list's entries it resembles,
their scores and the list's version, for compliance to confirm or dismiss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mkoba.parties import Party, PartyKind
from mkoba.risk.screening import SAMPLE_LIST, Screener, load_list

log = logging.getLogger("mkoba.risk.screening")

RULE = "SCREEN"
# Who is screened: the people and businesses that hold money, not staff.
SCREENED = frozenset(
    {
        PartyKind.CUSTOMER,
        PartyKind.MERCHANT,
        PartyKind.ORGANISATION,
        PartyKind.AGENT_HEAD_OFFICE,
        PartyKind.AGENT_STORE,
        PartyKind.SUPER_AGENT,
    }
)
matches_kept = 5


def load_screener(source: str) -> Screener | None:
    """The screener for ``MKOBA_SCREENING_LIST``: ``sample`` (the shipped fictional
    list), a list file (our CSV or the UN consolidated XML), or "" (none)."""
    if not source:
        return None
    path = SAMPLE_LIST if source == "sample" else Path(source)
    screening_list = load_list(path)
    log.info(
        "screening against %s: %d entries, version %s",
        path.name,
        len(screening_list.entries),
        screening_list.version,
    )
    return Screener.from_list(screening_list)


class Registrations:
    """Screens new parties in the background; alerts on a possible match."""

    def __init__(self, screener: Screener | None, alert: Any) -> None:
        self.screener = screener
        self.alert = alert
        self._tasks: set[asyncio.Task[None]] = set()

    def registered(self, parties: Sequence[Party], request_id: str) -> None:
        """Parties a registration committed: screen each one that holds money."""
        if self.screener is None or self.alert is None:
            return
        for party in parties:
            if party.kind in SCREENED and party.name:
                task = asyncio.get_running_loop().create_task(self._screen(party, request_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _screen(self, party: Party, request_id: str) -> None:
        screener = self.screener
        assert screener is not None
        try:
            matches = await asyncio.to_thread(screener.screen, party.name)
        except ValueError:  # a name with no letters: nothing a list can hold
            return
        except Exception:
            log.exception("screening a new party failed")
            return
        if not matches:
            return
        found = [
            {
                "entry_id": match.entry_id,
                "listed_name": match.listed_name,
                "score": f"{match.score:.1f}",
                "kind": match.kind.value,
                "source": match.source,
                "list_version": match.list_version,
            }
            for match in matches[:matches_kept]
        ]
        best = matches[0]
        summary = (
            f"{RULE}: a new {party.kind.value} resembles a {best.kind.value} list entry"
            f" ({best.score:.0f}/100)"
        )
        try:
            await self.alert(
                RULE,
                party.id,
                party.msisdn or "",
                "high",
                summary,
                {"request_id": request_id, "matches": found},
                key=f"{RULE}:{party.id}:{best.list_version}",
            )
        except Exception:
            log.exception("a screening alert could not be raised")

    async def drain(self) -> None:
        """Wait for the screenings under way."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
