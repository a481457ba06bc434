"""The device's signature over a request: the key, the signed text, the check (pure).

The app's key is ECDSA P-256, made by WebCrypto (non-extractable) and exported
once as SPKI DER. It signs, with SHA-256, the text of docs/app-protocol.md:

    mkoba-app-v1
    <METHOD>
    <path>
    <device id>
    <counter>
    <base64url of SHA-256 of the body>

and sends the signature as WebCrypto makes it: IEEE P1363 ``r || s``, 64 bytes,
in base64url without padding. ``cryptography`` checks DER, so ``r`` and ``s``
are re-encoded (``encode_dss_signature``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from mkoba.channels.app.validation.keys import b64url
from mkoba.channels.app.validation.refusals import (
    KEY_INVALID,
    SIGNATURE_INVALID,
    AppRefused,
)

PREFIX = "mkoba-app-v1"
# An uncompressed P-256 public key in SPKI DER is 91 bytes; the bound keeps parsing cheap.
spki_bytes_max = 128
# IEEE P1363: r and s, 32 bytes each.
signature_bytes = 64
signature_chars = 86
# Counters are JavaScript safe integers: the app counts with a Number.
counter_max = 2**53
counter_digits_max = 16
method_chars_max = 10
path_chars_max = 512
_METHOD = re.compile(r"^[A-Z]{1,10}$")
# A path as a server sees it: printable ASCII, no space, starting with a slash.
_PATH = re.compile(r"^/[\x21-\x7e]{0,511}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def _unpadded(text: str) -> bytes:
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(text: str) -> tuple[ec.EllipticCurvePublicKey, str]:
    """The device key in ``text`` (SPKI DER, base64url) and its canonical text.

    ``AppRefused(key_invalid)`` for anything but one uncompressed P-256 key.
    """
    if not isinstance(text, str) or len(text) > (spki_bytes_max * 4 + 2) // 3:
        raise AppRefused(KEY_INVALID, "the device key is not a P-256 public key")
    try:
        der = _unpadded(text)
        key = serialization.load_der_public_key(der)
    except (ValueError, binascii.Error, TypeError):
        raise AppRefused(KEY_INVALID, "the device key is not a P-256 public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise AppRefused(KEY_INVALID, "the device key must be ECDSA on curve P-256")
    canonical = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # One form per key: what WebCrypto exports (uncompressed point, no trailing bytes).
    if canonical != der:
        raise AppRefused(KEY_INVALID, "the device key is not in WebCrypto's SPKI form")
    return key, b64url(canonical)


def read_counter(text: str) -> int:
    """The counter header's value: a decimal integer from 1 to 2**53, without leading zeros."""
    if not (
        isinstance(text, str)
        and 0 < len(text) <= counter_digits_max
        and text.isascii()
        and text.isdigit()
        and (text == "0" or not text.startswith("0"))
    ):
        raise AppRefused(SIGNATURE_INVALID, "the counter is a decimal number")
    value = int(text)
    if not 0 < value <= counter_max:
        raise AppRefused(SIGNATURE_INVALID, f"the counter is between 1 and {counter_max}")
    return value


def signed_text(method: str, path: str, device: str, counter: int, body: bytes) -> bytes:
    """The exact bytes the device signed for this request."""
    if not _METHOD.match(method):
        raise AppRefused(SIGNATURE_INVALID, "the request's method cannot be signed")
    if not _PATH.match(path):
        raise AppRefused(SIGNATURE_INVALID, "the request's path cannot be signed")
    body_hash = b64url(hashlib.sha256(body).digest())
    lines = (PREFIX, method, path, device, str(counter), body_hash)
    return "\n".join(lines).encode("utf-8")


def _der(signature: str) -> bytes:
    if not (isinstance(signature, str) and len(signature) == signature_chars):
        raise AppRefused(SIGNATURE_INVALID, "the signature is 64 bytes in base64url")
    try:
        raw = _unpadded(signature)
    except (ValueError, binascii.Error):
        raise AppRefused(SIGNATURE_INVALID, "the signature is 64 bytes in base64url") from None
    assert len(raw) == signature_bytes
    half = signature_bytes // 2
    r = int.from_bytes(raw[:half], "big")
    s = int.from_bytes(raw[half:], "big")
    return encode_dss_signature(r, s)


def check(key: ec.EllipticCurvePublicKey, signature: str, message: bytes) -> None:
    """``AppRefused(signature_invalid)`` unless ``signature`` (P1363) signs ``message``."""
    der = _der(signature)
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AppRefused(SIGNATURE_INVALID, "the request's signature does not verify") from None
