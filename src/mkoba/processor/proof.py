"""What a product needs before it acts for a phone: the proof that the requester owns it.

A customer acts only for their own phone. Some channels know the caller's
number because the network tells them (a USSD gateway, an SMSC, an STK answer
from the SIM): their requests carry ``phone_verified``. Others (the native JSON
API) know only what the body says, so the PIN is the proof there. Every product
declares the proof it needs (``Product.proof``, default ``PIN``), and TranProc,
not the product, enforces it: a product that forgets to check cannot answer OK.
"""

from __future__ import annotations

import enum

from mkoba.processor.request import Channel, Request


class Proof(enum.StrEnum):
    """What proves that a request comes from the phone (or business) it acts for."""

    # The requester's PIN, on every channel: anything that moves money or shows it.
    PIN = "pin"
    # The phone itself: a channel that knows the caller's number, or else the PIN
    # (choosing a language, looking a name up: they change or spend the phone's state).
    PHONE = "phone"
    # Only a channel that knows the caller's number: products whose point is that
    # there is no PIN to give (registering, unlocking a forgotten PIN with an ID).
    NETWORK = "network"
    # A channel that authenticated a business (Daraja: OAuth and the initiator).
    BUSINESS = "business"
    # A member of staff the operator console signed in (password and TOTP), with a
    # checker where its policy wants one: the console channel only, never a PIN.
    CONSOLE = "console"
    # The operator's own command line (``mkoba staff unlock``): the system channel only.
    OPERATOR = "operator"
    # The smartphone app's validation server, and nothing else: texting an enrolment
    # code to a number proves nothing and needs nothing (the SMS reaches only the
    # number's own phone); no other channel may make mkoba text one.
    APP = "app"


# Channels that authenticate a business themselves.
BUSINESS_CHANNELS = frozenset({Channel.DARAJA, Channel.SYSTEM})


def proof_of(product: object) -> Proof:
    """The proof ``product`` declares; a product that declares none needs the PIN."""
    proof = getattr(product, "proof", Proof.PIN)
    assert isinstance(proof, Proof), proof
    return proof


def needs_pin(proof: Proof, request: Request) -> bool:
    """Whether ``request`` must carry the requester's PIN for a product needing ``proof``."""
    if request.channel == Channel.SYSTEM:
        return False  # the platform itself (background work, tests of the core)
    if proof is Proof.PIN:
        return True
    if proof is Proof.PHONE:
        return not request.phone_verified
    return False


def refusal(proof: Proof, request: Request) -> str | None:
    """Why ``request`` cannot be served at all for a product needing ``proof``, or None."""
    if proof is Proof.CONSOLE and (request.channel != Channel.STAFF or request.staff is None):
        return "only staff, in the operator console, can do that"
    if proof is Proof.APP and request.channel != Channel.APP:
        return "only the smartphone app can ask for that"
    if request.channel == Channel.SYSTEM:
        return None
    if proof is Proof.NETWORK and not request.phone_verified:
        return "Do this from the phone itself: dial the menu or use the SIM or the app."
    if proof is Proof.BUSINESS and request.channel not in BUSINESS_CHANNELS:
        return "only a business's own API can ask for that"
    if proof is Proof.OPERATOR:
        return "only the operator's command line can do that"
    return None
