"""No lockout is for good: the operator unlocks staff from the server's command line.

Found by an attacker: five wrong PINs from anywhere locked the only admin for
good (care may not unlock staff, and the admin's own unlock is refused; now the
native API unlocks no PIN at all, and the operator console no staff PIN). Method:
a real server; the attacker locks the admin over the native API; the operator
runs ``mkoba staff unlock`` on the server's machine (it signs with the operator
key in the keys directory). The admin's PIN works again, the unlock is in the
audit log with the user who ran it, and nobody without the key can do the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.channels.serving import serve

ADMIN = "254711900004"
CARE = "254711900001"
STAFF_PIN = "9753"


def _mkoba(*args: str, keys: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from mkoba.cli import main; main()",
            *args,
            "--keys-dir",
            str(keys),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_locked_admin_is_unlocked_by_the_operator_only(tmp_path: Path) -> None:
    with serve(tmp_path) as served, httpx.Client(base_url=served.url, timeout=30) as api:
        for _ in range(5):
            api.post("/api/v1/balance", json={"msisdn": ADMIN, "pin": "0000"})
        locked = api.post("/api/v1/balance", json={"msisdn": ADMIN, "pin": STAFF_PIN})
        assert locked.json()["code"] == "pin_locked"
        # No staff PIN unlocks anyone over the API: the route is gone (care unlock customers
        # in the operator console, which never touches a staff PIN).
        for who in (CARE, ADMIN):
            by_staff = api.post(
                "/api/v1/pin/unlock", json={"msisdn": who, "pin": STAFF_PIN, "customer": ADMIN}
            )
            assert by_staff.status_code in (404, 405), by_staff.text
        # Without the operator key, or with a forged or replayed signature: refused.
        unsigned = api.post("/operator/v1/staff/unlock", json={"staff": ADMIN})
        assert unsigned.status_code == 401
        body = json.dumps({"staff": ADMIN, "user": "mallory"}).encode()
        at = time.time_ns()
        forged = hmac.new(
            b"0" * 32,
            b"\n".join((b"/operator/v1/staff/unlock", str(at).encode(), body)),
            hashlib.sha256,
        ).hexdigest()
        refused = api.post(
            "/operator/v1/staff/unlock",
            content=body,
            headers={"x-mkoba-operator": f"{at}.{forged}"},
        )
        assert refused.status_code == 401
        assert (
            api.post("/api/v1/balance", json={"msisdn": ADMIN, "pin": STAFF_PIN}).json()["code"]
            == "pin_locked"
        )
        # The operator, on the server's machine.
        keys = tmp_path / "keys"
        done = _mkoba("staff", "unlock", "0711900004", "--url", served.url, keys=keys)
        assert done.returncode == 0, done.stderr
        assert "unlocked" in done.stdout
        # The PIN is taken again (a staff member holds no wallet: that is the next refusal).
        works = api.post("/api/v1/balance", json={"msisdn": ADMIN, "pin": STAFF_PIN})
        assert works.json()["code"] == "account_inactive", works.text
        audit = served.rows(
            "SELECT a.action, a.detail FROM audit_log AS a JOIN parties AS p"
            " ON p.id = a.subject_id WHERE p.msisdn = ? AND a.action = 'pin_unlock'",
            (ADMIN,),
        )
        assert len(audit) == 1 and json.loads(audit[0][1])["by"] == "command line"
        # Not locked any more: a second unlock says so; customers are not unlocked here.
        again = _mkoba("staff", "unlock", ADMIN, "--url", served.url, keys=keys)
        assert again.returncode == 1 and "not locked" in again.stderr
        customer = _mkoba("staff", "unlock", "254712000001", "--url", served.url, keys=keys)
        assert customer.returncode == 1 and "Only staff" in customer.stderr
        elsewhere = _mkoba("staff", "unlock", ADMIN, "--url", served.url, keys=tmp_path / "none")
        assert elsewhere.returncode == 2 and "no operator key" in elsewhere.stderr
