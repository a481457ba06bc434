"""The customers ``mkoba bench processor`` sends money between, and their requests."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from typing import Any

from mkoba.bench.errors import BenchError
from mkoba.bench.processor_config import (
    PIN,
    amount_ksh_max,
    amount_ksh_min,
    first_msisdn,
    opening_balance_ksh,
)
from mkoba.commands import catalog as commands
from mkoba.ledger import Transfer, TransferResult, limits
from mkoba.parties import (
    OPERATOR_ID,
    Change,
    Party,
    PartyKind,
    Pin,
    Purpose,
    Role,
    account_id,
    emoney_account,
    seal_pin,
)
from mkoba.processor import ids
from mkoba.processor.request import Channel, Request


async def populate(platform: Any, count: int) -> list[str]:
    """``count`` funded customers with PIN ``PIN`` (not timed); their MSISDNs."""
    services = platform.services
    now = platform.clock()
    profile = services.profile(now)
    tier = profile.tiers[-1]
    limit = profile.limits(tier)
    first = services.directory.allocate_id()
    for _ in range(count - 1):
        services.directory.allocate_id()
    parties = [
        Party(
            first + index,
            PartyKind.CUSTOMER,
            f"Customer {index}",
            str(first_msisdn + index),
            kyc_tier=tier,
            created=now,
        )
        for index in range(count)
    ]
    ledger, currency = profile.ledger, profile.currency.code
    accounts = [
        emoney_account(party.id, Purpose.WALLET, ledger, currency, limit.balance_max)
        for party in parties
    ]
    step = limits.batch_transfers_max
    for start in range(0, count, step):
        results = await asyncio.wrap_future(
            services.writer.create_accounts(accounts[start : start + step])
        )
        if not all(result.ok for result in results):
            raise BenchError("could not create the wallets")
    pin = Pin(PIN)
    change = Change(
        parties=tuple(parties),
        accounts=tuple(
            (party.id, Purpose.WALLET, account.id)
            for party, account in zip(parties, accounts, strict=True)
        ),
        roles=tuple((party.id, Role.CUSTOMER, 0) for party in parties),
        credentials=tuple(services.vault.new_credential(party.id, pin, now) for party in parties),
    )
    await services.writer.submit_async([], attach=change.writes())
    services.directory.apply(change)
    trust = account_id(OPERATOR_ID, Purpose.TRUST)
    major = profile.currency.minor_per_major
    # Fee income holds money for commissions, as an operator funds it at launch.
    moves = [(account_id(OPERATOR_ID, Purpose.FEES), 10_000_000 * major)]
    moves += [(account.id, opening_balance_ksh * major) for account in accounts]
    transfers = [
        Transfer(
            ids.leg_id(services.counter.next(), 0, "direct"), trust, target, amount, profile.ledger
        )
        for target, amount in moves
    ]
    for start in range(0, len(transfers), step):
        results = await services.writer.submit_async(transfers[start : start + step])
        if not all(result is TransferResult.OK for result in results):
            raise BenchError("could not fund the wallets")
    return [party.msisdn or "" for party in parties]


def send_money_requests(
    platform: Any,
    channel: str,
    count: int,
    msisdns: Sequence[str],
    rng: random.Random,
    numbers: Iterator[int],
) -> list[Request]:
    """``count`` send-money requests between random customers, PINs sealed (not timed)."""
    key = platform.transport_key
    pin = Pin(PIN)
    minor_per_major = platform.services.profile(platform.clock()).currency.minor_per_major
    requests = []
    for _ in range(count):
        payer, payee = rng.sample(msisdns, 2)
        request_id = f"bench:{channel}:{next(numbers)}"
        amount = rng.randint(amount_ksh_min, amount_ksh_max)
        requests.append(
            Request(
                request_id,
                Channel(channel),
                "send_money",
                payer,
                commands.PayPerson(payee, amount * minor_per_major),
                seal_pin(pin, key, request_id.encode()),
            )
        )
    return requests
