"""What the handset says to a running ``mkoba serve``: USSD hops, the SMS inbox, STK prompts.

The handset plays the USSD gateway (Africa's Talking form POSTs, the whole
input path in ``text``, an end-of-session notice), reads its inbox from the
in-memory SMSC, sends SMS to short codes (the reversal number) and answers STK
push prompts. Every call is plain HTTP to the server's public routes and
carries the phone's handset credential (``pairing.py``), without which the
server shows no inbox or prompt and takes no SMS from this number.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import httpx

from mkoba.parties.handsets import HandsetCredential

# How long one HTTP call may take (long-polling the inbox adds its wait).
timeout_s = 20.0
network_code = "63902"
_UTC = ZoneInfo("UTC")


class Screen(NamedTuple):
    """A USSD screen as the handset shows it."""

    text: str
    more: bool


class Sms(NamedTuple):
    """A message in the inbox."""

    id: int
    sender: str
    text: str
    at: float
    # SIM data (a secured packet's SMS, for the SIM; never shown): its user data.
    data: bytes = b""


class StkPrompt(NamedTuple):
    """A payment prompt pushed to the phone (Lipa na M-PESA online)."""

    checkout_id: str
    text: str


class Unavailable(Exception):
    """The server does not offer this (a 404): the message says what."""


class Unpaired(Unavailable):
    """The server refused the phone's credential (a 401): not paired with this server."""

    def __init__(self) -> None:
        super().__init__(
            "the server refused this phone's handset credential: pair it with that"
            " server's keys (--keys-dir) or its printed credential"
        )


class Server:
    """One handset's connection to a running mkoba."""

    def __init__(
        self,
        url: str,
        msisdn: str,
        client: httpx.Client | None = None,
        credential: HandsetCredential | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.msisdn = msisdn
        # Sent with every call, hops too: a USSD gateway that is closed to strangers
        # still takes a simulated handset's own hops (channels/ussd/access.py).
        headers = credential.header() if credential is not None else {}
        self.client = client or httpx.Client(base_url=self.url, timeout=timeout_s)
        self.client.headers.update(headers)
        self.session_id = ""
        self.path: list[str] = []
        self.service_code = ""

    def close(self) -> None:
        """Close the HTTP connection."""
        self.client.close()

    # -- USSD -------------------------------------------------------------------------

    def dial(self, service_code: str) -> Screen:
        """Open a USSD session on ``service_code``."""
        self.session_id = f"phone-{uuid.uuid4().hex[:16]}"
        self.service_code = service_code
        self.path = []
        return self._hop()

    def reply(self, text: str) -> Screen:
        """Send the user's answer to the open session."""
        self.path.append(text)
        return self._hop()

    def hang_up(self, completed: bool) -> None:
        """End the session and tell the server how (as the gateway's notice does)."""
        if not self.session_id:
            return
        form = {
            "sessionId": self.session_id,
            "serviceCode": self.service_code,
            "phoneNumber": "+" + self.msisdn,
            "networkCode": network_code,
            "status": "Success" if completed else "Incomplete",
            "hopsCount": str(len(self.path) + 1),
            "durationInMillis": "0",
            "errorMessage": "",
        }
        self.session_id = ""
        self.path = []
        try:
            self.client.post("/ussd/at/events", data=form)
        except httpx.HTTPError:
            return  # the notice is a courtesy; the server's timeout ends the session anyway

    def _hop(self) -> Screen:
        form = {
            "sessionId": self.session_id,
            "serviceCode": self.service_code,
            "phoneNumber": "+" + self.msisdn,
            "networkCode": network_code,
            "text": "*".join(self.path),
        }
        response = self.client.post("/ussd/at", data=form)
        if response.status_code == 404:
            raise Unavailable("this server has no USSD gateway")
        if response.status_code == 401:
            raise Unpaired
        body = response.text
        if response.status_code != 200 or not body.startswith(("CON ", "END ")):
            return Screen("Connection problem or invalid MMI code.", False)
        return Screen(body[4:], body.startswith("CON "))

    # -- the server ---------------------------------------------------------------------

    def timezone(self) -> ZoneInfo:
        """The zone the server's SMS name their times in (its profile's); UTC if it does not say."""
        try:
            body = self.client.get("/health").json()
            name = body.get("timezone") if isinstance(body, dict) else None
            return ZoneInfo(name) if isinstance(name, str) else _UTC
        except (httpx.HTTPError, ValueError, KeyError):  # not JSON, or an unknown zone
            return _UTC

    # -- SMS --------------------------------------------------------------------------

    def inbox(self, after: int = 0, wait_s: float = 0.0) -> list[Sms]:
        """Messages newer than ``after`` (waiting up to ``wait_s`` for the first)."""
        params: dict[str, Any] = {"after": after}
        if wait_s > 0:
            params["wait"] = wait_s
        response = self.client.get(
            f"/api/v1/sms/{self.msisdn}", params=params, timeout=timeout_s + wait_s
        )
        if response.status_code == 404:
            raise Unavailable("this server has no SMS inbox (a real SMSC sends its SMS)")
        if response.status_code == 401:
            raise Unpaired
        response.raise_for_status()
        return [
            Sms(
                int(m["id"]),
                str(m["from"]),
                str(m["text"]),
                float(m["at"]),
                bytes.fromhex(str(m.get("data") or "")),
            )
            for m in response.json().get("messages", [])
        ]

    def send_sms(self, to: str, text: str) -> str:
        """Send an SMS from this phone to a short code; what the server made of it."""
        response = self.client.post(
            "/api/v1/sms/inbound", json={"from": self.msisdn, "to": to, "text": text}
        )
        if response.status_code == 404:
            raise Unavailable("this server does not take SMS from phones")
        if response.status_code == 401:
            raise Unpaired
        body = response.json()
        return str(body.get("reply") or body.get("message") or "")

    def send_sim_data(self, to: str, user_data: bytes) -> None:
        """Send one SIM data SMS (8-bit, its user data header included) to ``to``."""
        response = self.client.post(
            "/api/v1/sms/inbound",
            json={"from": self.msisdn, "to": to, "data": user_data.hex()},
        )
        if response.status_code == 404:
            raise Unavailable("this server has no SIM channel, or takes no SMS from phones")
        if response.status_code == 401:
            raise Unpaired
        response.raise_for_status()

    def menu_document(self, role: str) -> str:
        """The role's current USSD menu definition, JSON (what a SIM is personalised with)."""
        response = self.client.get(f"/ussd/menus/{role}")
        if response.status_code == 404:
            raise Unavailable(f"this server serves no {role} menu")
        response.raise_for_status()
        return response.text

    # -- STK push ---------------------------------------------------------------------

    def stk_pending(self) -> list[StkPrompt]:
        """Payment prompts waiting for this phone."""
        response = self.client.get(f"/api/v1/stk/{self.msisdn}/pending")
        if response.status_code == 404:
            raise Unavailable("this server has no STK push prompts (Daraja is not running)")
        if response.status_code == 401:
            raise Unpaired
        response.raise_for_status()
        body = response.json()
        items = body if isinstance(body, list) else body.get("prompts", body.get("pending", []))
        return [_prompt(item) for item in items if isinstance(item, dict)]

    def stk_answer(self, checkout_id: str, pin: str | None) -> str:
        """Answer a prompt with the PIN (or cancel it with None); the server's word."""
        body: dict[str, Any] = {"pin": pin} if pin is not None else {"cancel": True}
        response = self.client.post(f"/api/v1/stk/{checkout_id}/answer", json=body)
        if response.status_code == 404:
            raise Unavailable("that prompt is gone, or this server has no STK prompts")
        if response.status_code == 401:
            raise Unpaired
        try:
            answer = response.json()
        except ValueError:
            return response.text[:200]
        if isinstance(answer, dict):
            return str(answer.get("message") or answer.get("ResultDesc") or answer)
        return str(answer)


def _prompt(item: dict[str, Any]) -> StkPrompt:
    checkout_id = str(item.get("checkout_id") or item.get("CheckoutRequestID") or "")
    text = item.get("text") or item.get("message")
    if not text:
        amount = item.get("amount", "")
        business = item.get("business") or item.get("account") or ""
        text = f"Pay {amount} to {business}?".replace("  ", " ")
    return StkPrompt(checkout_id, str(text))
