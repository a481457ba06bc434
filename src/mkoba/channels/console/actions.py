"""The staff actions the console runs through TranProc, and the view a checker approves.

Each product a member of staff may ask for belongs to one action of the policy
(``staff/policy.yaml``): e-money issue and redemption to ``float_topup``, PIN unlock
and reset to ``pin_reset``, reversal decisions to ``reversal``, freezing and
unfreezing a wallet to ``wallet_freeze`` and ``wallet_unfreeze``, a KYC tier change
to ``kyc_tier``, working a care ticket to ``tickets``, approving a bulk disbursement
batch to ``bulk_disbursement`` (``ACTIONS``). Before a command is recorded the
console looks at what it acts on: the entity (one open command per entity), the
amount (for the checkers' limits) and a readable before/after view.
A command that cannot work as things stand (an unknown number, a reversal already
decided) is refused here, with TranProc deciding again when it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from mkoba.commands import Command
from mkoba.commands import catalog as commands
from mkoba.ledger.books import TrialLine
from mkoba.money import format_amount
from mkoba.parties import (
    OPERATOR_ID,
    Party,
    PartyKind,
    Purpose,
    account_id,
    local_msisdn,
    mask_msisdn,
)
from mkoba.parties.holders import BUSINESSES, EMONEY_ACCOUNTS, EMONEY_HOLDERS, bank_reference
from mkoba.ports import DirectoryView, Ports, Reversals, Tables, Tickets
from mkoba.staff import batches
from mkoba.staff.commands import Line

TRUST = account_id(OPERATOR_ID, Purpose.TRUST)


class Unfit(ValueError):
    """A command that cannot work as things stand, with the reason for the member of staff."""


class Preview(NamedTuple):
    """What a command acts on, its amount and the view its checker approves."""

    entity: str
    amount: int
    summary: str
    view: tuple[Line, ...]


@dataclass(frozen=True)
class Books:
    """What the console reads of the core's books: reversals, care tickets, ID digests,
    and the one write compliance makes on a held payment (``release``)."""

    reversals: Reversals
    tickets: Tickets
    # The keyed digest of an ID document number (the PIN vault's, in the core).
    id_digest: Callable[[str], str]
    # Every ledger account's balance summed by code, now (the writer's, in order).
    trial_balance: Callable[[], Awaitable[list[TrialLine]]]
    # Compliance's word on a payment the risk rules held (TranProc's ``release``): post
    # it (True) or give the money back (False). True: done; False: it could not (the
    # hold had run out); None: that request is not held.
    release: Callable[[str, bool], Awaitable[bool | None]]


@dataclass(frozen=True)
class Reads:
    """What the console reads: the directory, balances, the core's books."""

    ports: Ports
    tables: Tables
    books: Books

    @property
    def reversals(self) -> Reversals:
        """The reversal book."""
        return self.books.reversals

    @property
    def tickets(self) -> Tickets:
        """The care ticket book."""
        return self.books.tickets

    def id_digest(self, id_number: str) -> str:
        """The keyed digest of an ID document number."""
        return self.books.id_digest(id_number)

    @property
    def directory(self) -> DirectoryView:
        """The directory as it stands now."""
        return self.ports.directory()

    def money(self, minor: int) -> str:
        """An amount as people read it."""
        return format_amount(minor, self.ports.profile().currency)

    async def balance(self, account: int) -> int:
        """What an account holds now (posted; the signed balance its owner sees)."""
        (found,) = await self.tables.balances([account])
        if found is None:
            return 0
        return found.credits_posted - found.debits_posted


Previewer = Callable[[str, Command, Reads], Awaitable[Preview]]


async def _emoney(product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.Emoney)
    issue = product == "issue_emoney"
    if command.kind not in EMONEY_HOLDERS:
        raise Unfit(f"kind: one of {', '.join(EMONEY_HOLDERS)}")
    kind, purpose = EMONEY_HOLDERS[command.kind]
    directory = reads.directory
    holder = directory.get(OPERATOR_ID) if command.kind == "operator" else None
    if command.kind != "operator":
        if not command.to:
            raise Unfit("to: the holder's agent, paybill or till number")
        holder = directory.by_number(kind, command.to)
    if holder is None:
        raise Unfit(f"There is no {command.kind.replace('_', ' ')} {command.to}.")
    if command.account:
        if command.account not in EMONEY_ACCOUNTS:
            raise Unfit(f"account: one of {', '.join(EMONEY_ACCOUNTS)}")
        purpose = EMONEY_ACCOUNTS[command.account]
    account = directory.account(holder.id, purpose)
    if account is None:
        raise Unfit(f"{holder.name} holds no {purpose.name.lower()} account.")
    reference = bank_reference(command.reference)
    if reference is None:
        raise Unfit("reference: the bank's reference, letters and digits")
    amount = command.amount
    signed = amount if issue else -amount
    held = await reads.balance(account)
    outstanding = -(await reads.balance(TRUST))
    verb = "Issue" if issue else "Redeem"
    where = "to" if issue else "from"
    summary = (
        f"{verb} {reads.money(amount)} of e-money {where} {holder.name}"
        f" against bank reference {reference}"
    )
    view = (
        Line("Holder", holder.name, holder.name),
        Line(
            f"{purpose.name.title()} account",
            reads.money(held),
            reads.money(held + signed),
        ),
        Line(
            "E-money outstanding (trust)",
            reads.money(outstanding),
            reads.money(outstanding + signed),
        ),
        Line("Bank reference", "", reference),
    )
    return Preview(f"emoney:{reference}", amount, summary, view)


def pin_state(reads: Reads, party: Party) -> str:
    """A party's PIN as staff read it: none yet, locked, temporary, or open with its tries."""
    credential = reads.directory.credential(party.id)
    if credential is None:
        return "No PIN yet"
    if credential.locked:
        return "Locked"
    if credential.must_change:
        return "Temporary: to be changed"
    tries = credential.failed_attempts
    return f"Open, {tries} wrong {'try' if tries == 1 else 'tries'}"


async def _pin(product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.CustomerPin)
    party = reads.directory.by_msisdn(command.customer)
    if party is None:
        raise Unfit("That number is not registered.")
    state = pin_state(reads, party)
    number = mask_msisdn(command.customer)
    if product == "unlock_pin":
        if state != "Locked":
            raise Unfit("That PIN is not locked.")
        summary = f"Unlock the PIN of {party.name} ({number})"
        after = "Open, 0 wrong tries"
    else:
        summary = f"Reset the PIN of {party.name} ({number})"
        after = f"Temporary PIN sent by SMS to {number}, to be changed at once"
    view = (Line("Customer", party.name, party.name), Line("PIN", state, after))
    return Preview(f"pin:{command.customer}", 0, summary, view)


async def _reversal(product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.Reversal)
    receipt = command.receipt.upper()
    found = await reads.reversals.get(receipt)
    if found is None:
        raise Unfit("There is no reversal request for that code.")
    if found.state != "held":
        raise Unfit(f"This reversal request is {found.state} already.")
    directory = reads.directory
    payer = directory.get(found.payer_id)
    recipient = directory.get(found.payee_id)
    payer_name = payer.name if payer is not None else "?"
    recipient_name = recipient.name if recipient is not None else "?"
    amount = reads.money(found.amount)
    approve = product == "approve_reversal"
    verb = "Approve" if approve else "Reject"
    summary = f"{verb} the reversal of {receipt}: {amount} from {recipient_name} to {payer_name}"
    view = (
        Line("Transaction", receipt, receipt),
        Line("Amount", amount, amount),
        Line(
            "Money",
            f"Held in {recipient_name}'s wallet",
            f"Refunded to {payer_name}" if approve else f"Released to {recipient_name}",
        ),
        Line("Request", "held", "approved" if approve else "rejected"),
    )
    return Preview(f"reversal:{receipt}", found.amount, summary, view)


def _customer(reads: Reads, msisdn: str) -> Party:
    party = reads.directory.by_msisdn(msisdn)
    if party is None or party.kind != PartyKind.CUSTOMER:
        raise Unfit("That number is not a registered customer.")
    return party


async def _wallet_state(product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.WalletState)
    party = _customer(reads, command.customer)
    freeze = product == "freeze_wallet"
    needed, wanted = ("active", "frozen") if freeze else ("frozen", "active")
    if party.state.value != needed:
        raise Unfit(f"That wallet is {party.state.value}, not {needed}.")
    number = mask_msisdn(command.customer)
    verb = "Freeze" if freeze else "Unfreeze"
    summary = f"{verb} the wallet of {party.name} ({number})"
    if command.reason:
        summary += f": {command.reason}"
    view = (
        Line("Customer", party.name, party.name),
        Line("Wallet", needed, wanted),
        Line("May move money", "yes" if needed == "active" else "no", "no" if freeze else "yes"),
    )
    return Preview(f"wallet:{command.customer}", 0, summary, view)


async def _kyc_tier(_product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.KycTier)
    party = _customer(reads, command.customer)
    tiers = reads.ports.profile().tiers
    if command.tier not in tiers:
        raise Unfit(f"tier: one of {', '.join(tiers)}")
    if party.kyc_tier == command.tier:
        raise Unfit(f"That customer is on the {command.tier} tier already.")
    summary = f"Move {party.name} ({mask_msisdn(command.customer)}) to the {command.tier} tier"
    view = (
        Line("Customer", party.name, party.name),
        Line("KYC tier", party.kyc_tier or "none", command.tier),
    )
    return Preview(f"wallet:{command.customer}", 0, summary, view)


async def _ticket(product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.TicketWork)
    if not command.ticket.isdigit() or len(command.ticket) > 18:
        raise Unfit("ticket: the request's number")
    found = await reads.tickets.get(int(command.ticket))
    if found is None:
        raise Unfit(f"There is no request {command.ticket}.")
    if found.state != "open":
        raise Unfit(f"Request {found.id} is {found.state} already.")
    head = f"request {found.id} ({found.category.replace('_', ' ')})"
    view: tuple[Line, ...]
    if product == "resolve_ticket":
        if found.category == "reversal":
            raise Unfit("Decide the reversal: its request closes with the decision.")
        summary = f"Resolve {head}: {command.text}"
        view = (Line("Request", "open", "resolved"), Line("The customer reads", "", command.text))
    elif product == "assign_ticket":
        to = command.to.strip().lower() or "nobody"
        summary = f"Give {head} to {to}"
        view = (Line("Held by", found.assigned or "nobody", to),)
    else:
        summary = f"Note on {head}: {command.text}"
        view = (Line("Notes", str(len(found.notes)), str(len(found.notes) + 1)),)
    return Preview(f"ticket:{found.id}", 0, summary, view)


async def _onboard(_product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.Onboard)
    if command.kind not in BUSINESSES:
        raise Unfit(f"kind: one of {', '.join(BUSINESSES)}")
    business = BUSINESSES[command.kind]
    kind, parent_kind = business.party, business.parent
    accounts = ", ".join(p.name.lower() for p in business.purposes) or "none"
    directory = reads.directory
    parent = None
    if parent_kind is not None:
        parent = directory.by_number(parent_kind, command.parent) if command.parent else None
        if parent is None:
            raise Unfit("parent: the head office's (or store's) number")
    number = command.number.strip().upper()
    if number and directory.by_number(kind, number) is not None:
        raise Unfit(f"{number} is taken already.")
    if command.phone and directory.by_msisdn(command.phone) is not None:
        raise Unfit("That phone number is registered already.")
    label = command.kind.replace("_", " ")
    summary = f"Onboard {command.name} as {label}" + (f" {number}" if number else "")
    if parent is not None:
        summary += f" under {parent.name}"
    view = (
        Line("Business", "", f"{command.name} ({label})"),
        Line("Number", "", number or "given at approval"),
        Line("Phone", "", local_msisdn(command.phone) if command.phone else "none"),
        Line("Under", "", parent.name if parent is not None else "the operator"),
        Line("Accounts", "", accounts),
    )
    key = number or command.phone or f"{command.parent}:{command.name}"
    return Preview(f"onboard:{command.kind}:{key}", 0, summary, view)


async def _bulk(_product: str, command: Command, reads: Reads) -> Preview:
    assert isinstance(command, commands.BulkDisbursement)
    if not command.batch.isdigit() or len(command.batch) > 18:
        raise Unfit("batch: the batch's number")
    batch = await asyncio.to_thread(batches.get, reads.tables, int(command.batch))
    if batch is None or batch.state != batches.WAITING or batch.command_id:
        raise Unfit(f"Batch {command.batch} is not a new upload waiting for approval.")
    payer = reads.directory.by_number(PartyKind.ORGANISATION, batch.shortcode)
    if payer is None or batch.shortcode != command.shortcode:
        raise Unfit(f"There is no organisation {command.shortcode}.")
    account = reads.directory.account(payer.id, Purpose.UTILITY)
    if account is None:
        raise Unfit(f"{payer.name} holds no utility account.")
    debit = batch.total + batch.fees
    if debit != command.amount:
        raise Unfit("amount: what the batch takes, payments and fees")
    held = await reads.balance(account)
    if held < debit:
        raise Unfit(
            f"{payer.name}'s utility account holds {reads.money(held)}: the batch needs"
            f" {reads.money(debit)} (payments and fees)."
        )
    rows = await asyncio.to_thread(batches.rows_of, reads.tables, batch.id)
    unknown = sum(1 for row in rows if not _registered(reads, row.phone))
    summary = (
        f"Pay {batch.row_count} payees {reads.money(batch.total)} in all from"
        f" {payer.name} ({batch.shortcode}): batch {batch.id}, {batch.title}"
    )
    view = (
        Line("Organisation", f"{payer.name} ({batch.shortcode})", payer.name),
        Line("Payments", "", str(batch.row_count)),
        Line("Total paid", "", reads.money(batch.total)),
        Line("B2C fees", "", reads.money(batch.fees)),
        Line("Utility account", reads.money(held), reads.money(held - debit)),
        Line("Payees not registered now (will fail)", str(unknown), str(unknown)),
    )
    return Preview(batch.entity, debit, summary, view)


def _registered(reads: Reads, msisdn: str) -> bool:
    party = reads.directory.by_msisdn(msisdn)
    return party is not None and party.kind == PartyKind.CUSTOMER and party.active


# product -> (its policy action, its preview)
ACTIONS: Mapping[str, tuple[str, Previewer]] = {
    "issue_emoney": ("float_topup", _emoney),
    "redeem_emoney": ("float_topup", _emoney),
    "unlock_pin": ("pin_reset", _pin),
    "reset_pin": ("pin_reset", _pin),
    "approve_reversal": ("reversal", _reversal),
    "reject_reversal": ("reversal", _reversal),
    "freeze_wallet": ("wallet_freeze", _wallet_state),
    "unfreeze_wallet": ("wallet_unfreeze", _wallet_state),
    "set_kyc_tier": ("kyc_tier", _kyc_tier),
    "note_ticket": ("tickets", _ticket),
    "assign_ticket": ("tickets", _ticket),
    "resolve_ticket": ("tickets", _ticket),
    "onboard_business": ("agent_onboard", _onboard),
    "bulk_disbursement": ("bulk_disbursement", _bulk),
}


def who(party: Party | None) -> str:
    """A party as staff lists show it: the name and the local number."""
    if party is None:
        return "?"
    return f"{party.name} ({local_msisdn(party.msisdn)})" if party.msisdn else party.name
