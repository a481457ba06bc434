"""``SecurityCredential``: the initiator's password, RSA-encrypted for M-Pesa.

SDKs encrypt with Safaricom's certificate, which mkoba cannot decrypt, and they
disagree on the plaintext (daraja.md §3.3). Two modes:

- ``lenient`` (the default): any credential is accepted; the initiator's name
  must still be one of the app's.
- ``strict``: the credential is decrypted with mkoba's own key (PKCS#1 v1.5)
  and the plaintext must be the password, base64 of it, or the password
  followed by a 14-digit timestamp (django-daraja, daraja-sdk-py, mpesakit).

mkoba's certificate (RSA-2048, self-signed) is made on first start in
``keys_dir`` and served at ``/api/v1/daraja/certificate`` for SDKs to encrypt with.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from mkoba.channels.daraja.vault import Vault

CERTIFICATE_FILE = "daraja-credential.cer"
PRIVATE_KEY_FILE = "daraja-credential.key"
# RSA-2048 ciphertext is 256 bytes: 344 characters of base64.
credential_length_max = 1024
_TIMESTAMPED = re.compile(r"^(.*)([0-9]{14})$", re.S)


def ensure_certificate(keys_dir: Path) -> Path:
    """mkoba's credential certificate in ``keys_dir`` (made with its key on first use)."""
    certificate = keys_dir / CERTIFICATE_FILE
    private = keys_dir / PRIVATE_KEY_FILE
    if certificate.exists() and private.exists():
        return certificate
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mkoba Daraja SecurityCredential")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return certificate


class Credentials:
    """Checks ``SecurityCredential`` values in the configured mode."""

    def __init__(self, mode: str, keys_dir: Path) -> None:
        assert mode in ("lenient", "strict"), mode
        self.mode = mode
        self.certificate = ensure_certificate(keys_dir)
        self._key: rsa.RSAPrivateKey | None = None
        if mode == "strict":
            loaded = serialization.load_pem_private_key(
                (keys_dir / PRIVATE_KEY_FILE).read_bytes(), password=None
            )
            assert isinstance(loaded, rsa.RSAPrivateKey)
            self._key = loaded

    def accepts(self, vault: Vault, verifier: str, credential: str) -> bool:
        """Whether ``credential`` proves the password behind ``verifier``."""
        if self.mode == "lenient":
            return True
        if not credential or len(credential) > credential_length_max or self._key is None:
            return False
        try:
            sealed = base64.b64decode(credential, validate=True)
            plain = self._key.decrypt(sealed, padding.PKCS1v15()).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return False
        return any(
            vault.matches(verifier, "initiator", candidate) for candidate in candidates(plain)
        )


def candidates(plain: str) -> list[str]:
    """The passwords a decrypted credential may stand for, per SDK convention."""
    found = [plain]
    try:
        decoded = base64.b64decode(plain, validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        decoded = None
    if decoded:
        found.append(decoded)
    stamped = _TIMESTAMPED.match(plain)
    if stamped and stamped.group(1):
        found.append(stamped.group(1))
    return found


def encrypt(certificate: Path, plaintext: str) -> str:
    """A credential for ``plaintext`` under ``certificate`` (what SDKs do), for tools and tests."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return base64.b64encode(public.encrypt(plaintext.encode(), padding.PKCS1v15())).decode()
