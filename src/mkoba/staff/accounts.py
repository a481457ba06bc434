"""Staff accounts: who signs in to the console, their role, and their sign-in state.

The ``staff_accounts`` table is this package's. An account has one role of the
policy, a password hash (argon2id), a TOTP seed sealed with the staff key (AES-GCM,
bound to the account's id: a seed copied onto another row does not open) and the
sign-in state (the last TOTP step taken, failures, a lock). The console writes the
state after each attempt. The command line (``mkoba staff create``) makes an account
with its credentials; the console makes one without (an empty hash and seed: it
cannot sign in) and its member chooses them by enrolment (``enrolment.py``).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mkoba.ledger import Store, Write, WriteMode, queries
from mkoba.parties import SecretKey, load_or_create_key
from mkoba.staff.credentials import hash_password, new_totp_secret
from mkoba.staff.policy import Policy
from mkoba.staff.signin import SignInState

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_accounts (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_sealed TEXT NOT NULL,
    last_step BIGINT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until DOUBLE PRECISION NOT NULL,
    enabled BOOLEAN NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
"""
MIGRATION = "staff-0001"
# The wallet phone linked to a member of staff (their own): they may not act on it.
PHONE_SCHEMA = "ALTER TABLE staff_accounts ADD COLUMN phone TEXT NOT NULL DEFAULT ''"
PHONE_MIGRATION = "staff-0002-phone"
username_chars_max = 64
name_chars_max = 80
_COLUMNS = (
    "id, username, name, role, password_hash, totp_sealed, last_step, failures,"
    " locked_until, enabled, phone"
)


class Reader(Protocol):
    """Where accounts are read from: the store, or a channel's view of it."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query written with ``?`` placeholders."""


class StaffError(ValueError):
    """A staff account that cannot be made or found, with the reason as its message."""


class StaffAccount(NamedTuple):
    """One member of staff, as the console knows them."""

    id: int
    username: str
    name: str
    role: str
    state: SignInState
    # Their own wallet's number (canonical), or "": staff never act on it.
    phone: str = ""


def key_path(keys_dir: Path) -> Path:
    """Where the key that seals TOTP seeds is kept."""
    return keys_dir / "staff.key"


def staff_key(keys_dir: Path) -> SecretKey:
    """The staff key, made on first use (kept outside the database, as the other keys)."""
    return load_or_create_key(key_path(keys_dir))


def migrate(store: Store) -> None:
    """The staff table, once (``schema.migrate`` makes every staff table)."""
    store.migrate_script(MIGRATION, SCHEMA)
    store.migrate_script(PHONE_MIGRATION, PHONE_SCHEMA)


def create(
    store: Store,
    key: SecretKey,
    policy: Policy,
    username: str,
    name: str,
    role: str,
    password: str,
    now: int,
    phone: str = "",
) -> tuple[StaffAccount, str]:
    """A new account and its TOTP seed (shown once, to enrol an authenticator app)."""
    if by_username(store, key, username) is not None:
        raise StaffError(f"{username.strip().lower()} already has an account")
    account, secret, write = prepare(
        key, policy, next_id(store), username, name, role, password, now, phone
    )
    queries.execute_write(store, write)
    return account, secret


def next_id(store: Reader) -> int:
    """The next account's id (the one console process allocates them, under its lock)."""
    found = store.query("SELECT COALESCE(MAX(id), 0) FROM staff_accounts")
    return int(found[0][0]) + 1


def prepare(
    key: SecretKey,
    policy: Policy,
    staff_id: int,
    username: str,
    name: str,
    role: str,
    password: str,
    now: int,
    phone: str = "",
) -> tuple[StaffAccount, str, Write]:
    """A new account, its fresh TOTP seed and its row (which the caller commits)."""
    username, name = checked(policy, username, name, role)
    password_hash = hash_password(password)  # WeakPassword when the policy refuses it
    secret = new_totp_secret()
    sealed = _seal(key, staff_id, secret)
    write = _row(staff_id, username, name, role, password_hash, sealed, now, phone)
    state = SignInState(password_hash, secret)
    return StaffAccount(staff_id, username, name, role, state, phone), secret, write


def prepare_unenrolled(
    policy: Policy, staff_id: int, username: str, name: str, role: str, now: int, phone: str = ""
) -> tuple[StaffAccount, Write]:
    """A new account with no credentials yet (its member enrols them) and its row."""
    username, name = checked(policy, username, name, role)
    write = _row(staff_id, username, name, role, "", "", now, phone)
    return StaffAccount(staff_id, username, name, role, SignInState("", ""), phone), write


def checked(policy: Policy, username: str, name: str, role: str) -> tuple[str, str]:
    """The username and name in their normal forms; ``StaffError`` saying what is wrong."""
    username = username.strip().lower()
    name = " ".join(name.split())
    if not username or len(username) > username_chars_max or not _plain(username):
        raise StaffError(f"a username is 1 to {username_chars_max} letters, digits, . - _ @")
    if not name or len(name) > name_chars_max or not name.isprintable():
        raise StaffError(f"a name is 1 to {name_chars_max} printable characters")
    if role not in policy.roles:
        raise StaffError(f"role: one of {', '.join(policy.roles)}")
    return username, name


def _row(
    staff_id: int,
    username: str,
    name: str,
    role: str,
    password_hash: str,
    sealed: str,
    now: int,
    phone: str,
) -> Write:
    return Write(
        "staff_accounts",
        (
            "id",
            "username",
            "name",
            "role",
            "password_hash",
            "totp_sealed",
            "last_step",
            "failures",
            "locked_until",
            "enabled",
            "created",
            "updated",
            "phone",
        ),
        (
            staff_id,
            username,
            name,
            role,
            password_hash,
            sealed,
            0,
            0,
            0.0,
            True,
            now,
            now,
            phone,
        ),
    )


def by_username(store: Reader, key: SecretKey, username: str) -> StaffAccount | None:
    """The account signing in as ``username``, or None."""
    rows = store.query(
        f"SELECT {_COLUMNS} FROM staff_accounts WHERE username = ?",
        (username.strip().lower(),),
    )
    return _account(key, rows[0]) if rows else None


def by_id(store: Reader, key: SecretKey, staff_id: int) -> StaffAccount | None:
    """The account with this id, or None."""
    rows = store.query(f"SELECT {_COLUMNS} FROM staff_accounts WHERE id = ?", (staff_id,))
    return _account(key, rows[0]) if rows else None


def everyone(store: Reader, key: SecretKey) -> list[StaffAccount]:
    """Every account, by id."""
    rows = store.query(f"SELECT {_COLUMNS} FROM staff_accounts ORDER BY id")
    return [_account(key, row) for row in rows]


def save_state(store: Store, staff_id: int, state: SignInState, now: int) -> None:
    """Store an account's sign-in state now (the command line's path)."""
    queries.execute_write(store, state_write(staff_id, state, now))


def state_write(staff_id: int, state: SignInState, now: int) -> Write:
    """An account's sign-in state after an attempt, as a row for the ledger writer."""
    return Write(
        "staff_accounts",
        ("id", "last_step", "failures", "locked_until", "enabled", "updated"),
        (staff_id, state.last_step, state.failures, state.locked_until, state.enabled, now),
        ("id",),
        WriteMode.UPDATE,
    )


class Member(NamedTuple):
    """An account as the staff list shows it: no hash, no seed."""

    id: int
    username: str
    name: str
    role: str
    phone: str
    enabled: bool
    enrolled: bool
    locked_until: float


_ROSTER = (
    "SELECT id, username, name, role, phone, enabled,"
    " password_hash <> '' AND totp_sealed <> '', locked_until FROM staff_accounts"
)


def roster(store: Reader) -> list[Member]:
    """Every account, by id, without its secrets."""
    return [_member(row) for row in store.query(f"{_ROSTER} ORDER BY id")]


def member(store: Reader, username: str) -> Member | None:
    """One account by username, without its secrets; None if there is none."""
    rows = store.query(f"{_ROSTER} WHERE username = ?", (username.strip().lower(),))
    return _member(rows[0]) if rows else None


def active_with_role(store: Reader, role: str) -> int:
    """How many enabled accounts hold ``role``."""
    rows = store.query(
        "SELECT COUNT(*) FROM staff_accounts WHERE role = ? AND enabled = ?", (role, True)
    )
    return int(rows[0][0])


def _member(row: tuple[Any, ...]) -> Member:
    staff_id, username, name, role, phone, enabled, enrolled, locked = row
    return Member(
        int(staff_id),
        str(username),
        str(name),
        str(role),
        str(phone),
        bool(enabled),
        bool(enrolled),
        float(locked),
    )


def role_write(staff_id: int, role: str, now: int) -> Write:
    """An account's new role, as a row."""
    return _update(staff_id, {"role": role}, now)


def enabled_write(staff_id: int, enabled: bool, now: int) -> Write:
    """An account suspended (False) or reactivated (True), as a row."""
    return _update(staff_id, {"enabled": enabled, "failures": 0, "locked_until": 0.0}, now)


def credentials_write(
    key: SecretKey, staff_id: int, password_hash: str, secret: str, last_step: int, now: int
) -> Write:
    """An account's enrolled credentials (its seed sealed to it), as a row."""
    fields = {
        "password_hash": password_hash,
        "totp_sealed": _seal(key, staff_id, secret),
        "last_step": last_step,
        "failures": 0,
        "locked_until": 0.0,
    }
    return _update(staff_id, fields, now)


def cleared_write(staff_id: int, now: int) -> Write:
    """An account's credentials ended (it cannot sign in until its member enrols again)."""
    fields = {"password_hash": "", "totp_sealed": "", "failures": 0, "locked_until": 0.0}
    return _update(staff_id, fields, now)


def _update(staff_id: int, fields: dict[str, object], now: int) -> Write:
    return Write(
        "staff_accounts",
        ("id", *fields, "updated"),
        (staff_id, *fields.values(), now),
        ("id",),
        WriteMode.UPDATE,
    )


def seal(key: SecretKey, context: str, secret: str) -> str:
    """``secret`` sealed with the staff key, bound to ``context`` (AES-GCM)."""
    nonce = os.urandom(12)
    blob = nonce + AESGCM(key.reveal()).encrypt(nonce, secret.encode(), context.encode())
    return base64.b64encode(blob).decode()


def unseal(key: SecretKey, context: str, sealed: str) -> str:
    """What ``seal`` sealed under ``context``; ``StaffError`` if it does not open."""
    try:
        blob = base64.b64decode(sealed, validate=True)
        clear = AESGCM(key.reveal()).decrypt(blob[:12], blob[12:], context.encode())
    except (InvalidTag, ValueError):
        raise StaffError("a sealed staff secret does not open with the staff key") from None
    return clear.decode()


def _account(key: SecretKey, row: tuple[object, ...]) -> StaffAccount:
    staff_id, username, name, role, password_hash, sealed, step, failures, locked, enabled = row[
        :10
    ]
    # An account not enrolled yet (or whose credentials were reset) has no seed.
    secret = _open(key, int(str(staff_id)), str(sealed)) if sealed else ""
    state = SignInState(
        str(password_hash),
        secret,
        int(str(step)),
        int(str(failures)),
        float(str(locked)),
        bool(enabled),
    )
    return StaffAccount(
        int(str(staff_id)), str(username), str(name), str(role), state, str(row[10])
    )


def _seal(key: SecretKey, staff_id: int, secret: str) -> str:
    return seal(key, _context(staff_id), secret)


def _open(key: SecretKey, staff_id: int, sealed: str) -> str:
    try:
        return unseal(key, _context(staff_id), sealed)
    except StaffError:
        raise StaffError("this account's TOTP seed does not open with the staff key") from None


def _context(staff_id: int) -> str:
    return f"mkoba staff totp {staff_id}"


def _plain(username: str) -> bool:
    return username.isascii() and all(c.isalnum() or c in ".-_@" for c in username)
