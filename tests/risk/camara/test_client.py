"""CamaraSimSwap against the test operator built from the published spec, over real HTTP.

Each answer the spec defines is produced by the server as the spec says, and the
client's outcome is what rule R6 needs: a boolean, a date or None, or an error
with a code that never carries the token or the client secret.
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from mkoba.risk.simswap import (
    CamaraSimSwap,
    ClientCredentials,
    Secret,
    SimSwapMisconfigured,
    SimSwapUnavailable,
    StaticToken,
    TokenSource,
)
from mkoba.risk.simswap.camara import _date_time
from tests.risk.camara.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    NEVER_SWAPPED,
    NOW,
    OTHER_NETWORK,
    SWAPPED_2H_AGO,
    SWAPPED_10D_AGO,
    UNKNOWN,
    Served,
)
from tests.risk.camara.server import Client

pytestmark = pytest.mark.anyio


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def credentials(served: Served, clock: Clock | None = None, **kwargs: Any) -> ClientCredentials:
    """Client credentials of the registered client at the test operator."""
    return ClientCredentials(
        served.token_url, CLIENT_ID, Secret(CLIENT_SECRET), now=clock or Clock(), **kwargs
    )


def provider(
    served: Served, tokens: TokenSource | None = None, timeout_s: float = 3.0
) -> CamaraSimSwap:
    """The provider under test, on the test operator's API root."""
    return CamaraSimSwap(served.api, tokens or credentials(served), timeout_s=timeout_s)


def leaks(error: BaseException, *secrets: str) -> list[str]:
    """The secrets found in the error's message, repr or formatted traceback."""
    shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
    return [secret for secret in secrets if secret in shown]


async def test_check_is_true_within_max_age_and_false_outside_it_or_never(served: Served) -> None:
    sims = provider(served)
    assert await sims.check(SWAPPED_2H_AGO, 72) is True
    assert await sims.check(SWAPPED_10D_AGO, 72) is False
    assert await sims.check(SWAPPED_10D_AGO, 2400) is True
    assert await sims.check(NEVER_SWAPPED, 2400) is False


async def test_calls_carry_e164_number_max_age_correlator_and_bearer(served: Served) -> None:
    await provider(served).check(SWAPPED_2H_AGO, 72)
    path, headers, body = served.operator.calls[-1]
    assert path == "/check"
    assert body == {"phoneNumber": "+254712000001", "maxAge": 72}
    uuid.UUID(headers["x-correlator"])  # a UUID
    assert headers["authorization"].startswith("Bearer ")


async def test_retrieve_date_gives_the_swap_or_activation_date(served: Served) -> None:
    sims = provider(served)
    swapped = await sims.latest_change(SWAPPED_2H_AGO)
    assert swapped is not None and swapped.tzinfo is not None
    assert abs(swapped - (NOW - timedelta(hours=2))) < timedelta(seconds=1)
    activated = await sims.latest_change(NEVER_SWAPPED)
    assert activated is not None
    assert abs(activated - (NOW - timedelta(days=365))) < timedelta(seconds=1)


async def test_retrieve_date_is_none_beyond_the_monitored_period(served: Served) -> None:
    served.operator.monitored_days = 30
    sims = provider(served)
    assert await sims.latest_change(NEVER_SWAPPED) is None  # activated a year ago
    assert await sims.latest_change(SWAPPED_10D_AGO) is not None


async def test_max_age_out_of_range_is_refused_before_any_call(served: Served) -> None:
    sims = provider(served)
    for hours in (0, 2401, -5):
        with pytest.raises(ValueError, match="1 to 2400"):
            await sims.check(SWAPPED_2H_AGO, hours)
    with pytest.raises(ValueError, match="canonical digits"):
        await sims.check("+254712000001", 72)
    assert served.operator.calls == []
    assert served.operator.issued == 0


async def test_unknown_number_is_unavailable_with_the_spec_code(served: Served) -> None:
    with pytest.raises(SimSwapUnavailable) as caught:
        await provider(served).check(UNKNOWN, 72)
    assert caught.value.code == "IDENTIFIER_NOT_FOUND" and caught.value.status == 404
    assert not isinstance(caught.value, SimSwapMisconfigured)
    assert caught.value.correlator == served.operator.calls[-1][1]["x-correlator"]


async def test_number_of_another_network_is_service_not_applicable(served: Served) -> None:
    with pytest.raises(SimSwapUnavailable) as caught:
        await provider(served).latest_change(OTHER_NETWORK)
    assert (caught.value.code, caught.value.status) == ("SERVICE_NOT_APPLICABLE", 422)


async def test_operator_privacy_cap_is_out_of_range(served: Served) -> None:
    served.operator.privacy_cap_hours = 720
    sims = provider(served)
    assert await sims.check(SWAPPED_2H_AGO, 720) is True
    with pytest.raises(SimSwapUnavailable) as caught:
        await sims.check(SWAPPED_2H_AGO, 721)
    assert (caught.value.code, caught.value.status) == ("OUT_OF_RANGE", 400)
    assert "privacy limit" in str(caught.value)


async def test_three_legged_token_is_a_configuration_error(served: Served) -> None:
    served.operator.clients[CLIENT_ID] = Client(
        CLIENT_SECRET, frozenset({"sim-swap"}), phone="+" + NEVER_SWAPPED
    )
    with pytest.raises(SimSwapMisconfigured) as caught:
        await provider(served, credentials(served, scopes=["sim-swap"])).check(NEVER_SWAPPED, 72)
    assert (caught.value.code, caught.value.status) == ("UNNECESSARY_IDENTIFIER", 422)
    assert "2-legged" in str(caught.value)


async def test_missing_scope_is_permission_denied(served: Served) -> None:
    served.operator.clients[CLIENT_ID] = Client(
        CLIENT_SECRET, frozenset({"sim-swap:retrieve-date"})
    )
    sims = provider(served, credentials(served, scopes=["sim-swap:retrieve-date"]))
    assert await sims.latest_change(NEVER_SWAPPED) is not None
    with pytest.raises(SimSwapMisconfigured) as caught:
        await sims.check(NEVER_SWAPPED, 72)
    assert (caught.value.code, caught.value.status) == ("PERMISSION_DENIED", 403)


async def test_quota_exceeded_is_unavailable(served: Served) -> None:
    served.operator.quota = 1
    sims = provider(served)
    await sims.check(NEVER_SWAPPED, 72)
    with pytest.raises(SimSwapUnavailable) as caught:
        await sims.check(NEVER_SWAPPED, 72)
    assert (caught.value.code, caught.value.status) == ("QUOTA_EXCEEDED", 429)


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        ("500", "SERVER_ERROR", 500),
        ("not-json", "BAD_RESPONSE", 200),
        ("schema", "BAD_RESPONSE", None),
    ],
)
async def test_broken_answers_are_unavailable(
    served: Served, fault: str, code: str, status: int | None
) -> None:
    served.operator.fault = fault
    sims = provider(served)
    for call in (sims.check(NEVER_SWAPPED, 72), sims.latest_change(NEVER_SWAPPED)):
        with pytest.raises(SimSwapUnavailable) as caught:
            await call
        assert (caught.value.code, caught.value.status) == (code, status)


async def test_a_slow_operator_times_out(served: Served) -> None:
    served.operator.delay_s = 1.0
    with pytest.raises(SimSwapUnavailable) as caught:
        await provider(served, timeout_s=0.2).check(NEVER_SWAPPED, 72)
    assert caught.value.code == "TIMEOUT"


async def test_nobody_listening_is_unreachable(served: Served) -> None:
    sims = CamaraSimSwap("http://127.0.0.1:9/sim-swap/v2rc2", StaticToken(Secret("t0ken-xyz")))
    with pytest.raises(SimSwapUnavailable) as caught:
        await sims.check(NEVER_SWAPPED, 72)
    assert caught.value.code == "UNREACHABLE"


async def test_token_is_fetched_once_and_renewed_before_expiry(served: Served) -> None:
    served.operator.token_lifetime_s = 600
    clock = Clock()
    sims = provider(served, credentials(served, clock))
    await sims.check(NEVER_SWAPPED, 72)
    await sims.latest_change(NEVER_SWAPPED)
    assert served.operator.issued == 1
    clock.now += 600 - 31  # still outside the 30 s margin
    await sims.check(NEVER_SWAPPED, 72)
    assert served.operator.issued == 1
    clock.now += 2  # inside it: renewed before the server would refuse it
    await sims.check(NEVER_SWAPPED, 72)
    assert served.operator.issued == 2
    assert len(served.operator.calls) == 4  # no call was refused and retried


async def test_a_revoked_token_is_renewed_on_401_and_the_call_retried(served: Served) -> None:
    sims = provider(served)
    await sims.check(NEVER_SWAPPED, 72)
    served.operator.revoke_all()
    assert await sims.check(SWAPPED_2H_AGO, 72) is True
    assert served.operator.issued == 2
    first, second = served.operator.calls[-2:]
    assert first[1]["authorization"] != second[1]["authorization"]
    assert first[1]["x-correlator"] == second[1]["x-correlator"]  # one logical call


async def test_a_refused_static_token_is_not_retried_nor_shown(served: Served) -> None:
    token = "static-" + uuid.uuid4().hex
    with pytest.raises(SimSwapMisconfigured) as caught:
        await provider(served, StaticToken(Secret(token))).check(NEVER_SWAPPED, 72)
    assert (caught.value.code, caught.value.status) == ("UNAUTHENTICATED", 401)
    assert len(served.operator.calls) == 1
    assert leaks(caught.value, token) == []


async def test_a_wrong_client_secret_is_token_rejected_and_not_shown(served: Served) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    tokens = ClientCredentials(served.token_url, CLIENT_ID, Secret(wrong))
    with pytest.raises(SimSwapMisconfigured) as caught:
        await provider(served, tokens).check(NEVER_SWAPPED, 72)
    assert (caught.value.code, caught.value.status) == ("TOKEN_REJECTED", 401)
    assert "invalid_client" in str(caught.value)
    assert leaks(caught.value, wrong) == []
    assert served.operator.calls == []


async def test_tokens_never_appear_in_errors_or_reprs(served: Served) -> None:
    tokens = credentials(served)
    sims = provider(served, tokens)
    await sims.check(NEVER_SWAPPED, 72)
    issued = list(served.operator.grants)
    assert len(issued) == 1
    served.operator.fault = "500"
    with pytest.raises(SimSwapUnavailable) as caught:
        await sims.check(NEVER_SWAPPED, 72)
    shown = repr(sims) + repr(tokens) + repr(await tokens.token())
    assert issued[0] not in shown and CLIENT_SECRET not in shown
    assert leaks(caught.value, issued[0], CLIENT_SECRET) == []


async def test_shared_client_stays_open(served: Served) -> None:
    async with httpx.AsyncClient() as client:
        sims = CamaraSimSwap(served.api, credentials(served, client=client), client=client)
        assert await sims.check(SWAPPED_2H_AGO, 72) is True
        assert await sims.check(NEVER_SWAPPED, 72) is False
        assert not client.is_closed


def test_rfc3339_date_times_with_any_fraction_and_offset() -> None:
    read = _date_time("2024-09-18T07:37:53.471829447Z", "c")  # the spec's own example
    assert read == datetime.fromisoformat("2024-09-18T07:37:53.471829+00:00")
    read = _date_time("2023-07-03T14:27:08.312+02:00", "c")
    assert read == datetime.fromisoformat("2023-07-03T12:27:08.312+00:00")
    for bad in (
        "2023-07-03T14:27:08",
        "2023-07-03",
        "yesterday",
        1688394428,
        "2023-13-03T00:00:00Z",
    ):
        with pytest.raises(SimSwapUnavailable):
            _date_time(bad, "c")


async def test_concurrent_calls_share_one_token_fetch(served: Served) -> None:
    sims = provider(served)
    answers = await asyncio.gather(*(sims.check(SWAPPED_2H_AGO, 72) for _ in range(5)))
    assert answers == [True] * 5
    assert served.operator.issued == 1
