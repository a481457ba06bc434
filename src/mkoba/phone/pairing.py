"""Pairing the terminal phone with a server: its handset credential.

The server's simulated-handset routes (inbox, SMS from the phone, STK prompts)
answer only a number's own handset credential (``parties/handsets.py``). The
phone makes it from the server's handset key when it can read the server's
keys directory (``--keys-dir``, ``MKOBA_KEYS_DIR``, default ``var/keys``: the
same machine); a phone elsewhere is given one instead, in
``MKOBA_HANDSET_CREDENTIAL`` (printed on the server by
``mkoba phone MSISDN --credential``; an environment variable, so that it does not
show in the process list).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mkoba.parties.handsets import KEY_FILE, HandsetCredential, HandsetKey

CREDENTIAL_ENV = "MKOBA_HANDSET_CREDENTIAL"


class PairingError(Exception):
    """The phone cannot get its credential; the message says what to do."""


def pair(msisdn: str, keys_dir: Path, environ: Mapping[str, str] = os.environ) -> HandsetCredential:
    """``msisdn``'s handset credential: given in the environment, or made from the key."""
    given = environ.get(CREDENTIAL_ENV, "").strip()
    if given:
        if not given.startswith(f"{msisdn}."):
            raise PairingError(f"{CREDENTIAL_ENV} is not a credential for {msisdn}")
        return HandsetCredential(msisdn, given)
    try:
        key = HandsetKey.load(keys_dir)
    except FileNotFoundError:
        raise PairingError(
            f"no {KEY_FILE} in {keys_dir}: start mkoba serve first, give its keys"
            f" (--keys-dir or MKOBA_KEYS_DIR), or set {CREDENTIAL_ENV}"
        ) from None
    except (OSError, ValueError) as problem:
        raise PairingError(f"cannot read the handset key: {problem}") from None
    return key.credential(msisdn)
