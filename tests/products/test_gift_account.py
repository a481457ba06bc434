"""A store made before gift vouchers existed gets the operator's gift account at start.

Method: the platform's operator is created with the chart of accounts as it was
before gifts (no ``Purpose.GIFTS``); starting the products' background work must
open the account, after which a gift can be bought and the books balance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mkoba.app import Platform
from mkoba.codes import Code
from mkoba.parties import OPERATOR_ID, Purpose, chart
from mkoba.products import gift_book
from tests.conftest import MakePlatform
from tests.products.world import CUSTOMER_PIN, KSH, World, wallet

pytestmark = pytest.mark.anyio
BEFORE_GIFTS = tuple(purpose for purpose in chart.OPERATOR_PURPOSES if purpose != Purpose.GIFTS)


@pytest.fixture(scope="module")
async def platform(make_platform: MakePlatform) -> AsyncIterator[Platform]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chart, "OPERATOR_PURPOSES", BEFORE_GIFTS)
        # The chart the composition root creates the operator with has no gift account now.
        codes = [account.code for account in chart.operator_accounts(1, "KES")]
        assert int(Purpose.GIFTS) not in codes and int(Purpose.VOUCHERS) in codes
        yield await make_platform("gift_account")


async def test_the_gift_account_is_opened_at_start_and_gifts_work(world: World) -> None:
    directory = world.services.directory
    assert directory.account(OPERATOR_ID, Purpose.GIFTS) == gift_book.GIFTS
    # Once open, starting again opens nothing.
    assert not await gift_book.ensure_account(world.services)
    buyer = await world.customer(500)
    assert buyer.msisdn
    bought = await world.ask(
        "buy_gift", buyer.msisdn, CUSTOMER_PIN, to=world.msisdn(), amount="100"
    )
    assert bought.code is Code.OK, bought
    assert await world.balances(wallet(buyer), gift_book.GIFTS) == [400 * KSH, 100 * KSH]
    world.check_books()
