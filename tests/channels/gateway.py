"""A USSD gateway in the Africa's Talking convention, played against a server (tests only)."""

from __future__ import annotations

import uuid

import httpx


class Dial:
    """One USSD session from one phone: dial, then answer screen by screen."""

    def __init__(self, client: httpx.Client, msisdn: str, code: str = "*334#") -> None:
        self.client = client
        self.msisdn = msisdn
        self.code = code
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.path: list[str] = []
        self.screens: list[str] = []

    def form(self) -> dict[str, str]:
        """The hop's form as the gateway posts it."""
        return {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": f"+{self.msisdn}",
            "networkCode": "63902",
            "text": "*".join(self.path),
        }

    def start(self) -> str:
        """Dial; the first screen (with its CON/END prefix)."""
        return self._hop()

    def send(self, text: str) -> str:
        """Answer the current screen; the next one."""
        self.path.append(text)
        return self._hop()

    def walk(self, *inputs: str) -> str:
        """Dial and answer ``inputs`` in turn; the last screen."""
        screen = self.start()
        for text in inputs:
            assert screen.startswith("CON "), screen
            screen = self.send(text)
        return screen

    def end(self, status: str = "Success") -> httpx.Response:
        """The gateway's end-of-session notice."""
        form = {
            "sessionId": self.session_id,
            "serviceCode": self.code,
            "phoneNumber": f"+{self.msisdn}",
            "networkCode": "63902",
            "status": status,
            "hopsCount": str(len(self.path) + 1),
            "durationInMillis": "1200",
            "input": "*".join(self.path),
            "lastAppResponse": self.screens[-1] if self.screens else "",
            "errorMessage": "",
            "cost": "KES 0.0",
            "date": "2026-11-24 10:00:00",
        }
        return self.client.post("/ussd/at/events", data=form)

    def _hop(self) -> str:
        response = self.client.post("/ussd/at", data=self.form())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        self.screens.append(response.text)
        return response.text
