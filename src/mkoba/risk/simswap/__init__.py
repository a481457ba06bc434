"""SIM-swap signals for the risk rules (R6): the port and its providers.

``SimSwapProvider`` is the port; ``NullSimSwap`` (no feed), ``CamaraSimSwap`` (an
operator's CAMARA SIM Swap API) and ``RecordedSimSwap`` (swaps fed to the platform)
implement it. See docs/risk-simswap.md.
"""

from mkoba.risk.simswap.camara import CamaraSimSwap, e164
from mkoba.risk.simswap.provider import (
    MAX_MAX_AGE_HOURS,
    MIN_MAX_AGE_HOURS,
    NullSimSwap,
    SimSwapMisconfigured,
    SimSwapProvider,
    SimSwapUnavailable,
    check_max_age,
)
from mkoba.risk.simswap.recorded import RecordedSimSwap
from mkoba.risk.simswap.tokens import (
    DEFAULT_SCOPES,
    ClientCredentials,
    Secret,
    StaticToken,
    TokenSource,
)

__all__ = [
    "DEFAULT_SCOPES",
    "MAX_MAX_AGE_HOURS",
    "MIN_MAX_AGE_HOURS",
    "CamaraSimSwap",
    "ClientCredentials",
    "NullSimSwap",
    "RecordedSimSwap",
    "Secret",
    "SimSwapMisconfigured",
    "SimSwapProvider",
    "SimSwapUnavailable",
    "StaticToken",
    "TokenSource",
    "check_max_age",
    "e164",
]
