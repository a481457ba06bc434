"""Parties: one identity and role model for customers, agents, merchants and staff."""

from __future__ import annotations

from mkoba.parties.directory import OPERATOR_ID, Change, Directory
from mkoba.parties.model import (
    STAFF_ROLES,
    Credential,
    Party,
    PartyKind,
    PartyState,
    Purpose,
    Role,
    account_id,
    emoney_account,
)
from mkoba.parties.msisdn import InvalidMsisdn, local_msisdn, mask_msisdn, normalize_msisdn
from mkoba.parties.names import mask_name
from mkoba.parties.pins import PinCheck, PinOutcome, PinVault, is_weak
from mkoba.parties.secrets import (
    Pin,
    SealedPin,
    SecretKey,
    keys_fingerprint,
    load_or_create_key,
    open_pin,
    seal_pin,
)

__all__ = [
    "OPERATOR_ID",
    "STAFF_ROLES",
    "Change",
    "Credential",
    "Directory",
    "InvalidMsisdn",
    "Party",
    "PartyKind",
    "PartyState",
    "Pin",
    "PinCheck",
    "PinOutcome",
    "PinVault",
    "Purpose",
    "Role",
    "SealedPin",
    "SecretKey",
    "account_id",
    "emoney_account",
    "is_weak",
    "keys_fingerprint",
    "load_or_create_key",
    "local_msisdn",
    "mask_msisdn",
    "mask_name",
    "normalize_msisdn",
    "open_pin",
    "seal_pin",
]
