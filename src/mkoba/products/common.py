"""Pieces every product uses: fee and commission legs, names and numbers for messages."""

from __future__ import annotations

from mkoba.codes import Code
from mkoba.parties import OPERATOR_ID, Party, PartyKind, Purpose, local_msisdn, mask_name
from mkoba.processor.context import Context
from mkoba.processor.plan import Leg, Refused
from mkoba.processor.request import Staff
from mkoba.processor.services import Services

FEES = Services.operator_account(Purpose.FEES)
EXCISE = Services.operator_account(Purpose.EXCISE)


def fee_legs(
    payer_account: int, fee: int, excise: int, short: Code = Code.INSUFFICIENT_FUNDS
) -> list[Leg]:
    """The fee from the payer: its excise duty to the tax office's account, the rest to fees.

    Both legs leave the payer's account: on a channel with a delivery deadline the
    legs are pending, and a pending credit to fee income could not pay the duty on.
    """
    assert 0 <= excise <= fee
    legs = []
    if fee - excise:
        legs.append(Leg(payer_account, FEES, fee - excise, short=short))
    if excise:
        legs.append(Leg(payer_account, EXCISE, excise, short=short))
    return legs


def commission_leg(ctx: Context, agent: Party, commission: int) -> list[Leg]:
    """The agent's commission out of fee income, to the head office (or the store itself)."""
    if not commission:
        return []
    owner = ctx.directory.get(agent.parent_id) if agent.parent_id else None
    if owner is None or owner.kind != PartyKind.AGENT_HEAD_OFFICE:
        owner = agent
    return [
        Leg(FEES, ctx.account(owner, Purpose.COMMISSION), commission, short=Code.OPERATOR_UNFUNDED)
    ]


def display_name(party: Party) -> str:
    """A party's name as messages show it (upper case, as M-Pesa prints names)."""
    return party.name.upper()


def display_number(ctx: Context, party: Party) -> str:
    """A party's phone number as people at home write it, or '' when it has none."""
    if party.msisdn is None:
        return ""
    return local_msisdn(party.msisdn, ctx.profile.country)


def masked(party: Party) -> str:
    """The name a payer sees before confirming (Hakikisha)."""
    return mask_name(party.name)


def store_of(ctx: Context, party: Party) -> Party:
    """The agent store a store operator or assistant works for."""
    if party.kind == PartyKind.AGENT_STORE:
        return party
    if party.kind == PartyKind.AGENT_ASSISTANT:
        store = ctx.directory.get(party.parent_id)
        if store is not None and store.kind == PartyKind.AGENT_STORE and store.active:
            return store
    raise Refused(Code.NOT_ALLOWED, "only an agent store or its assistant can do that")


def customer(ctx: Context, msisdn: str) -> Party:
    """The registered, active customer on ``msisdn``."""
    party = ctx.directory.by_msisdn(msisdn)
    if party is None or party.kind != PartyKind.CUSTOMER or not party.active:
        if party is not None and party.kind == PartyKind.CUSTOMER and party.msisdn:
            state = party.state.value
            if state != "unregistered":
                raise Refused(Code.ACCOUNT_INACTIVE, "that customer's account cannot transact")
        raise Refused(Code.RECIPIENT_NOT_REGISTERED)
    return party


def offered(ctx: Context, product: str) -> None:
    """Refuse a product the profile in force does not offer (campus sells no airtime)."""
    if product not in ctx.profile.products:
        raise Refused(Code.UNKNOWN_PRODUCT, f"{ctx.profile.name} does not offer this service")


def console_staff(ctx: Context) -> Staff:
    """The members of staff a console request acts for (TranProc checked it has them)."""
    staff = ctx.request.staff
    if staff is None:
        raise Refused(Code.NOT_ALLOWED, "only staff, in the operator console, can do that")
    return staff


def not_their_own(ctx: Context, staff: Staff, *parties: Party) -> None:
    """Refuse when a party is linked to the staff: their wallet, their ID, their business.

    A party is linked when it is, or is the same person as, the party on a staff
    member's own phone, or when the two share a business: one heads the other's chain
    (a head office and its stores and assistants), or both sit in one chain.
    """
    for phone in staff.phones:
        linked = ctx.directory.by_msisdn(phone)
        if linked is None:
            continue
        theirs = _chain(ctx, linked)
        for party in parties:
            if same_person(linked, party) or theirs & _chain(ctx, party):
                raise Refused(
                    Code.NOT_ALLOWED,
                    "Staff may not act on a wallet linked to their own phone or identity.",
                )


# A business chain is at most this deep (super-agent, head office, store, assistant).
_chain_depth_max = 4


def _chain(ctx: Context, party: Party) -> set[int]:
    """The party and the businesses above it (never the operator)."""
    found = {party.id}
    current: Party | None = party
    for _ in range(_chain_depth_max):
        if current is None or current.parent_id in (0, OPERATOR_ID):
            break
        found.add(current.parent_id)
        current = ctx.directory.get(current.parent_id)
    return found


def by_staff(staff: Staff, **detail: object) -> dict[str, object]:
    """An audit record's details for a console action: who made it and who checked it."""
    return {"by": "console", "maker": staff.maker, "checker": staff.checker, **detail}


def same_person(one: Party, other: Party) -> bool:
    """Whether two parties are the same person: one party, or one ID document."""
    if one.id == other.id:
        return True
    return one.id_digest is not None and one.id_digest == other.id_digest
