"""Maker-checker: staff commands recorded, approved by another, and run through TranProc.

One mechanism for every staff write. The policy says, per action and role, whether
the caller may do it at once (``do``), may only start it (``make``: it waits for a
checker) or neither. A checker is a different member of staff whose role may
``check`` the action, within their amount limit; they approve after a fresh TOTP
code, having seen the before/after view. Only then does the command reach TranProc,
as a request on the staff channel naming the maker and the checker (and their own
wallets, which no product lets them act on).

The console is one process (the one holding the ledger writer): its lock makes
allocating ids and the one-open-command-per-entity check atomic, and the table's
partial unique index backs it. A command whose answer TranProc did not give (a
crash, a busy bus) stays ``approving`` and is sent again at start with the same
request id: TranProc answers a replay as it answered the first, or decides it now.

Staff accounts (``staff_users.py``) are commands of this same desk whose effect is
on the console's own staff tables rather than a TranProc product's: the desk
applies it under its lock, in the commit that marks the command done. So are risk
rule changes (``rule_changes.py``), whose effect is the risk package's override row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mkoba.catalog import Profile
from mkoba.channels.console import rule_changes, staff_users
from mkoba.channels.console.actions import ACTIONS, Previewer, Unfit
from mkoba.channels.console.auth import Caller, Refusal, record
from mkoba.codes import Code
from mkoba.commands import BadCommand, Command, shape
from mkoba.commands import command_class as command_class_of
from mkoba.ledger import Write
from mkoba.processor.request import Channel, Request, Response, Staff
from mkoba.staff import accounts
from mkoba.staff import commands as book
from mkoba.staff.commands import StaffCommand
from mkoba.staff.policy import Mode
from mkoba.staff.signin import step_up

if TYPE_CHECKING:
    from mkoba.channels.console.channel import ConsoleChannel

log = logging.getLogger(__name__)

# Codes that say TranProc has not decided (yet): the command stays ``approving``.
UNDECIDED = frozenset({Code.SYSTEM_BUSY})
# Every product staff may ask for -> (its policy action, its preview): TranProc's and
# the console's own (staff accounts).
PRODUCTS: Mapping[str, tuple[str, Previewer]] = {
    **ACTIONS,
    **staff_users.ACTIONS,
    **rule_changes.ACTIONS,
}
# The staff products the desk applies itself (no TranProc), by product.
OWN: Mapping[str, type[Command]] = {**staff_users.COMMANDS, **rule_changes.COMMANDS}


def command_class(product: str) -> type[Command]:
    """The command a staff product takes (``BadCommand`` for none)."""
    return OWN.get(product) or command_class_of(product)


def parse_fields(product: str, fields: Mapping[str, str], profile: Profile) -> Command:
    """A staff product's typed command from its text fields, or ``BadCommand``."""
    return command_class(product).parse(fields, profile)


class Desk:
    """Staff commands: make, approve, reject, cancel, and run."""

    def __init__(self, console: ConsoleChannel) -> None:
        self.console = console
        self._lock = asyncio.Lock()
        # product -> what to do once one of its commands is settled (done, failed,
        # rejected or cancelled): a bulk batch starts paying, or closes.
        self.settled: dict[str, Callable[[StaffCommand], Awaitable[None]]] = {}

    # -- making -----------------------------------------------------------------------

    async def make(
        self, who: Caller, product: str, fields: Mapping[str, str], note: str, origin: str
    ) -> StaffCommand:
        """Record a command (and run it at once where the caller's role may do it)."""
        console = self.console
        account = who.account
        if product not in PRODUCTS:
            raise Refusal(404, f"There is no staff action {product!r}.")
        action, preview = PRODUCTS[product]
        policy = console.policy
        direct = policy.may(account.role, action, Mode.DO)
        if not direct and not policy.may(account.role, action, Mode.MAKE):
            await self._audit(who, "command.refused", "forbidden", product, origin)
            raise Refusal(403, f"Your role may not {policy.actions[action].what.lower()}.")
        command = self._parse(product, fields)
        staff_users.check(policy, command, account)
        try:
            seen = await preview(product, command, console.reads)
        except Unfit as unfit:
            raise Refusal(409, str(unfit)) from None
        now = time.time_ns()
        async with self._lock:
            already = await asyncio.to_thread(book.open_on, console.tables, seen.entity)
            if already is not None:
                raise Refusal(
                    409, f"Command {already.id} on this is already waiting for a checker."
                )
            number = await asyncio.to_thread(book.next_id, console.tables)
            made = StaffCommand(
                id=number,
                action=action,
                product=product,
                entity=seen.entity,
                amount=seen.amount,
                # As the maker typed them (amounts in major units): parsed again to run.
                fields=dict(fields),
                summary=seen.summary,
                view=seen.view,
                note=note,
                maker_id=account.id,
                maker=account.username,
                state=book.APPROVING if direct else book.PENDING,
                checker_id=0,
                checker="",
                reason="",
                outcome={},
                created=now,
                updated=now,
            )
            await console.tables.submit([book.new_row(made)])
        await self._audit(
            who,
            "command.make",
            "doing" if direct else "pending",
            product,
            origin,
            entity=made.entity,
            detail={"command": made.id, "amount": made.amount, "summary": made.summary},
        )
        if direct:
            return await self._run(made, account, None)
        return made

    # -- deciding ---------------------------------------------------------------------

    async def approve(self, who: Caller, command_id: int, code: str, origin: str) -> StaffCommand:
        """A checker approves after a fresh TOTP code; the command then runs."""
        console = self.console
        account = who.account
        found = await self._found(command_id)
        self._may_check(account, found)
        if found.state != book.PENDING:
            raise Refusal(409, f"Command {found.id} is {found.state}.")
        if found.product in staff_users.COMMANDS:
            staff_users.check(console.policy, self._parse(found.product, found.fields), account)
        accepted, state = await asyncio.to_thread(step_up, account.state, code, console.now())
        if state != account.state:
            await console.tables.submit([accounts.state_write(account.id, state, time.time_ns())])
        if not accepted:
            await self._audit(
                who, "command.approve", "wrong_code", found.product, origin, entity=found.entity
            )
            if state.locked_until > console.now():
                console.sessions.close_all(account.id)
                raise Refusal(423, "Too many wrong codes: this account is locked for a while.")
            raise Refusal(401, "Wrong code: give your authenticator's current code.")
        async with self._lock:
            current = await self._found(command_id)
            if current.state != book.PENDING:
                raise Refusal(409, f"Command {current.id} is {current.state}.")
            approving = current._replace(
                state=book.APPROVING,
                checker_id=account.id,
                checker=account.username,
                updated=time.time_ns(),
            )
            await console.tables.submit([book.update_row(approving)])
        await self._audit(
            who,
            "command.approve",
            "approved",
            found.product,
            origin,
            entity=found.entity,
            detail={"command": found.id, "maker": found.maker, "amount": found.amount},
        )
        maker = await asyncio.to_thread(accounts.by_id, console.tables, console.key, found.maker_id)
        return await self._run(approving, maker, account)

    async def reject(self, who: Caller, command_id: int, reason: str, origin: str) -> StaffCommand:
        """A checker refuses a pending command; nothing runs."""
        found = await self._found(command_id)
        self._may_check(who.account, found)
        return await self._close(who, found, book.REJECTED, reason, origin)

    async def cancel(self, who: Caller, command_id: int, origin: str) -> StaffCommand:
        """The maker withdraws a pending command."""
        found = await self._found(command_id)
        if found.maker_id != who.account.id:
            raise Refusal(403, "Only the member of staff who made a command may cancel it.")
        return await self._close(who, found, book.CANCELLED, "", origin)

    async def resume(self) -> int:
        """Send again each command whose answer was lost (a crash while TranProc decided)."""
        console = self.console
        stuck = await asyncio.to_thread(book.listing, console.tables, (book.APPROVING,), (), 1000)
        for found in stuck:
            maker = await asyncio.to_thread(
                accounts.by_id, console.tables, console.key, found.maker_id
            )
            checker = (
                await asyncio.to_thread(
                    accounts.by_id, console.tables, console.key, found.checker_id
                )
                if found.checker_id
                else None
            )
            await self._run(found, maker, checker)
        return len(stuck)

    # -- parts ------------------------------------------------------------------------

    def _parse(self, product: str, fields: Mapping[str, str]) -> Command:
        known = {field.name for field in shape(command_class(product))}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise Refusal(422, f"{product} takes no {', '.join(unknown)[:200]}")
        try:
            return parse_fields(product, fields, self.console.ports.profile())
        except BadCommand as bad:
            raise Refusal(422, bad.message) from None

    def _may_check(self, account: accounts.StaffAccount, found: StaffCommand) -> None:
        policy = self.console.policy
        if found.maker_id == account.id:
            raise Refusal(403, "You made this command: another member of staff must decide it.")
        if not policy.may(account.role, found.action, Mode.CHECK):
            raise Refusal(403, "Your role may not approve or reject this.")
        if not policy.may(account.role, found.action, Mode.CHECK, found.amount):
            limit = policy.actions[found.action].check_max.get(account.role, 0)
            raise Refusal(
                403,
                f"This is above your approval limit ({self.console.reads.money(limit)}):"
                " a checker with a higher limit must decide it.",
            )

    async def _found(self, command_id: int) -> StaffCommand:
        found = await asyncio.to_thread(book.get, self.console.tables, command_id)
        if found is None:
            raise Refusal(404, f"There is no command {command_id}.")
        return found

    async def _close(
        self, who: Caller, found: StaffCommand, state: str, reason: str, origin: str
    ) -> StaffCommand:
        async with self._lock:
            current = await self._found(found.id)
            if current.state != book.PENDING:
                raise Refusal(409, f"Command {current.id} is {current.state}.")
            closed = current._replace(
                state=state,
                checker_id=who.account.id if state == book.REJECTED else 0,
                checker=who.account.username if state == book.REJECTED else "",
                reason=reason,
                updated=time.time_ns(),
            )
            await self.console.tables.submit([book.update_row(closed)])
        await self._audit(
            who,
            f"command.{'reject' if state == book.REJECTED else 'cancel'}",
            state,
            found.product,
            origin,
            entity=found.entity,
            detail={"command": found.id, "reason": reason},
        )
        await self._settled(closed)
        return closed

    async def _run(
        self,
        command: StaffCommand,
        maker: accounts.StaffAccount | None,
        checker: accounts.StaffAccount | None,
    ) -> StaffCommand:
        """Send the command to TranProc as its maker (and checker), and keep the answer."""
        console = self.console
        if maker is None:
            return await self._finish(
                command,
                Response(command.request_id, Code.NOT_ALLOWED, "The maker's account is gone."),
            )
        phones = tuple(p for p in (maker.phone, checker.phone if checker else "") if p)
        staff = Staff(maker.username, maker.role, checker.username if checker else "", phones)
        try:
            typed = parse_fields(command.product, command.fields, console.ports.profile())
        except BadCommand as bad:
            return await self._finish(command, Response(command.request_id, bad.code, bad.message))
        if command.product in OWN:
            return await self._apply(command, typed)
        request = Request(
            command.request_id,
            Channel.STAFF,
            command.product,
            f"staff:{maker.username}",
            typed,
            received=time.time_ns(),
            staff=staff,
        )
        response = await console.ports.request(request)
        if response.code in UNDECIDED:
            log.warning(
                "staff command %d: TranProc did not answer; sent again at start", command.id
            )
            return command._replace(outcome=_outcome(response))
        if response.ok:
            await console.ports.acknowledge(request.id)
        return await self._finish(command, response)

    async def _apply(self, command: StaffCommand, typed: Command) -> StaffCommand:
        """A staff-account or rule-change command's effect, committed with the command's end."""
        console = self.console
        async with self._lock:
            if command.product in rule_changes.COMMANDS:  # effective times: the platform's clock
                effect = await asyncio.to_thread(
                    rule_changes.apply,
                    console.tables,
                    console.ports.profile(),
                    command,
                    typed,
                    console.ports.clock(),
                )
            else:
                effect = await asyncio.to_thread(
                    staff_users.apply,
                    console.tables,
                    console.key,
                    console.policy,
                    command,
                    typed,
                    time.time_ns(),
                )
            response = Response(command.request_id, effect.code, effect.message)
            finished = await self._finish(command, response, effect.writes)
        if effect.end_sessions_of:
            console.sessions.close_all(effect.end_sessions_of)
        if not effect.token:
            return finished
        # The enrolment token goes back to the approver once; the stored outcome lacks it.
        return finished._replace(outcome={**finished.outcome, "enrolment_token": effect.token})

    async def _finish(
        self, command: StaffCommand, response: Response, writes: Sequence[Write] = ()
    ) -> StaffCommand:
        finished = command._replace(
            state=book.DONE if response.ok else book.FAILED,
            outcome=_outcome(response),
            updated=time.time_ns(),
        )
        await self.console.tables.submit([*writes, book.update_row(finished)])
        await self.console.trail.append(
            time.time_ns(),
            "command.run",
            finished.state,
            actor=command.maker,
            entity=command.entity,
            detail={
                "command": command.id,
                "code": str(response.code),
                "receipt": response.receipt or "",
            },
        )
        await self._settled(finished)
        return finished

    async def _settled(self, command: StaffCommand) -> None:
        then = self.settled.get(command.product)
        if then is not None:
            await then(command)

    async def _audit(
        self,
        who: Caller,
        action: str,
        outcome: str,
        product: str,
        where: str,
        *,
        entity: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        details: dict[str, object] = {"product": product, **(detail or {})}
        await record(self.console, who, where, action, outcome, entity=entity, detail=details)


def _outcome(response: Response) -> dict[str, Any]:
    return {
        "code": str(response.code),
        "message": response.message,
        "receipt": response.receipt or "",
    }
