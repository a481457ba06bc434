"""The reporting entity the report tests file as (a made-up goAML id, Kenya's profile)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from mkoba.money import CURRENCIES
from mkoba.risk.reports import Filer, ReportingPerson
from tests.world import KSH

NAIROBI = ZoneInfo("Africa/Nairobi")
# The threshold the test's operator sets: KES 100,000.00 (a single cash transaction
# cannot reach Kenya's USD 15,000 equivalent, the tiers cap one at KES 250,000).
THRESHOLD = 100_000 * KSH
FILER = Filer(
    rentity_id="1234",
    currency=CURRENCIES["KES"],
    country="KE",
    zone=NAIROBI,
    reporting_person=ReportingPerson("Wanjiku", "Kamau", "mlro@example.org", "254700000001"),
)
