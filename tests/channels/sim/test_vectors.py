"""Fixed test vectors for the envelope, opened again by a second AES-GCM (PyCryptodome).

A fixed master key, ICCID, counter and request give these bytes; should the
derivation, the layout or the nonce change, the vectors fail. PyCryptodome, not
``cryptography``, decrypts them from the documented layout alone: the nonce is
``direction | key version | 00 00 | counter (8 bytes)``, the associated data
the header up to PCNTR (or the status), the tag in the CC field.
"""

from __future__ import annotations

from Crypto.Cipher import AES

from mkoba.simcard.packet import (
    TAR_MONEY,
    open_command,
    open_response,
    seal_command,
    seal_response,
)
from mkoba.simcard.refusals import PorStatus
from tests.channels.sim.sims import MO_KEY, MT_KEY, REQUEST

COMMAND = bytes.fromhex(
    "003e1d163913134d4b01000000002a01211f1d713a70dfb312a69d99542b17242c49ab1e48bfa5"
    "fead8050fbd27bf1837e243f74bf62aa99015cec98681aa948"
)
RESPONSE = bytes.fromhex(
    "002b1a4d4b010000000007050012aacaabd87d7b2d34e32b665ca607726f8d33cc720736f0116a39372e55c9d6"
)


def pycryptodome_open(key: bytes, nonce: bytes, header: bytes, rest: bytes) -> bytes:
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(header)
    return cipher.decrypt_and_verify(rest[16:], rest[:16])


def test_the_command_vector_is_sealed_as_written() -> None:
    assert seal_command(MO_KEY, 1, tar=TAR_MONEY, counter=42, data=REQUEST) == COMMAND
    assert open_command(COMMAND, keys={1: MO_KEY}, last_counter=41).data == REQUEST


def test_the_command_vector_opens_with_a_second_library() -> None:
    nonce = bytes((0, 1, 0, 0)) + (42).to_bytes(8, "big")  # MO, key version 1, CNTR
    plain = pycryptodome_open(MO_KEY.reveal(), nonce, COMMAND[:16], COMMAND[16:])
    padding = COMMAND[15]
    assert padding == 1
    assert plain == REQUEST + bytes(padding)


def test_the_response_vector_is_sealed_as_written() -> None:
    packet = seal_response(
        MT_KEY, 1, tar=TAR_MONEY, counter=7, answers=42, status=PorStatus.OK, data=b"OK QX1"
    )
    assert packet == RESPONSE
    assert open_response(RESPONSE, key=MT_KEY, key_version=1, last_counter=6).data == b"OK QX1"


def test_the_response_vector_opens_with_a_second_library() -> None:
    nonce = bytes((1, 1, 0, 0)) + (7).to_bytes(8, "big")  # MT, key version 1, CNTR
    plain = pycryptodome_open(MT_KEY.reveal(), nonce, RESPONSE[:13], RESPONSE[13:])
    assert RESPONSE[12] == PorStatus.OK
    assert plain[:5] == (42).to_bytes(5, "big")  # the command it answers
    assert plain[5:] == b"OK QX1" + bytes(RESPONSE[11])


def test_both_libraries_agree_with_the_gcm_specifications_vectors() -> None:
    # McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13 and 14
    # (AES-256, zero key and IV): the primitive itself, before our envelope.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, iv = bytes(32), bytes(12)
    cases = [
        (b"", "530f8afbc74536b9a963b4f1c4cb738b"),
        (bytes(16), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"),
    ]
    for plain, expected in cases:
        assert AESGCM(key).encrypt(iv, plain, None).hex() == expected
        cipher = AES.new(key, AES.MODE_GCM, nonce=iv)
        ciphertext, tag = cipher.encrypt_and_digest(plain)
        assert (ciphertext + tag).hex() == expected
