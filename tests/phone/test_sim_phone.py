"""``mkoba phone MSISDN --sim`` driven as a person would, keys typed into tmux.

A SIM is provisioned with the real ``mkoba sims provision`` while the server is
stopped (it writes the card's file); the phone then renders the M-PESA menu on
the SIM (personalised with the role's menu from the server), takes the answers
and the PIN hidden, sends the request as secured SIM data SMS to 334, and shows
the server's secured answer and the confirmation SMS. The card's counters move
in its file and in the server's table alike.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from mkoba.parties.handsets import HandsetKey
from mkoba.simcard.keys import load_master_key
from tests.channels.serving import serve
from tests.channels.sim.sim import new_iccid
from tests.phone.test_phone import Pane

SENDER, RECIPIENT = "254712000003", "254712000004"
_MKOBA = [sys.executable, "-c", "from mkoba.cli import main; main()"]


def _provision(db: Path, sims: Path, iccid: str, msisdn: str) -> str:
    done = subprocess.run(
        [
            *_MKOBA,
            "sims",
            "provision",
            iccid,
            "--msisdn",
            msisdn,
            "--db",
            str(db),
            "--sims-dir",
            str(sims),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_person_sends_money_from_the_menu_on_the_sim(tmp_path: Path) -> None:
    with serve(tmp_path) as first:
        db = first.db  # the demo world, made at the first start
    sims, iccid = tmp_path / "sims", new_iccid()
    said = _provision(db, sims, iccid, SENDER)
    assert f"its SIM file: {sims / iccid}.json" in said
    with serve(tmp_path) as server:
        command = [f"'{part}'" if " " in part else part for part in _MKOBA]
        pane = Pane(
            [
                *command,
                "phone",
                SENDER,
                "--sim",
                "--url",
                server.url,
                "--keys-dir",
                str(server.keys),
                "--sims-dir",
                str(sims),
            ]
        )
        try:
            pane.wait_for(f"SIM {iccid}")
            pane.wait_for("messages in the inbox")
            pane.type("m")
            pane.wait_for("SIM personalised with menu v4")
            pane.wait_for("1. Send Money")
            pane.type("1")
            pane.wait_for("Enter phone no.")
            pane.type("0" + RECIPIENT[3:])
            pane.wait_for("Enter amount")
            pane.type("100")
            pane.wait_for("Enter M-PESA PIN")
            mark = len(pane.screen().rstrip())
            pane.type("1357")
            shown = pane.wait_for("Receipt ", after=mark)
            assert "1357" not in shown[mark:]  # typed hidden, never shown
            assert "sent as 1 secured SMS to 334" in shown[mark:]
            assert "Ksh100.00 sent to" in shown[mark:]
            pane.wait_for("New SMS from MPESA", after=mark)
            # A choice the menu does not have is refused on the SIM: nothing is sent.
            mark = len(pane.screen().rstrip())
            pane.type("m")
            pane.wait_for("1. Send Money", after=mark)
            pane.type("9")
            pane.wait_for("choose one of 1, 2, 3, 5, 7", after=mark)
            pane.type("")
            pane.wait_for("menu closed", after=mark)
            pane.type("q")
        finally:
            pane.close()
        card = json.loads((sims / f"{iccid}.json").read_text())
        assert (card["counter"], card["received"]) == (1, 1)
        assert card["menu"] and "1357" not in json.dumps(card)
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            ((counter,),) = connection.execute(
                "SELECT mo_counter FROM sim_cards WHERE iccid = ?", (iccid,)
            ).fetchall()
        finally:
            connection.close()
        assert counter == 1
        assert "1357" not in server.log.read_text(errors="replace")


def test_a_phone_without_a_sim_file_says_how_to_get_one(tmp_path: Path) -> None:
    HandsetKey.load_or_create(tmp_path / "keys")
    load_master_key(tmp_path / "keys")
    done = subprocess.run(
        [
            *_MKOBA,
            "phone",
            SENDER,
            "--sim",
            "--keys-dir",
            str(tmp_path / "keys"),
            "--sims-dir",
            str(tmp_path / "sims"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert done.returncode == 2
    assert f"{SENDER} has no SIM" in done.stderr and "mkoba sims provision" in done.stderr
