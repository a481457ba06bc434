"""``mkoba staff``: what the operator does for staff from the server's command line.

``mkoba staff unlock MSISDN`` unlocks a staff member's PIN on a running server,
signed with the operator key from the keys directory, and audited with the name
of the operating-system user who ran it. No lockout is for good.
"""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

import typer

from mkoba.channels.api.operator import SIGNATURE_HEADER, UNLOCK_PATH, key_path, sign
from mkoba.parties import load_or_create_key

staff_app = typer.Typer(
    help="Staff accounts, from the server's command line.", no_args_is_help=True
)
UrlOption = typer.Option("http://127.0.0.1:8334", help="the running server", envvar="MKOBA_URL")
KeysOption = typer.Option(
    Path("var/keys"), help="the server's keys directory", envvar="MKOBA_KEYS_DIR"
)


@staff_app.command()
def unlock(
    msisdn: str = typer.Argument(..., help="the staff member's phone number"),
    url: str = UrlOption,
    keys_dir: Path = KeysOption,
) -> None:
    """Unlock a staff member's PIN (locked by wrong tries); audited with your user name."""
    import httpx

    path = key_path(keys_dir)
    if not path.exists():
        typer.echo(f"no operator key at {path}: run this where the server keeps its keys", err=True)
        raise typer.Exit(2)
    key = load_or_create_key(path)
    body = json.dumps({"staff": msisdn, "user": getpass.getuser()}).encode()
    headers = {
        SIGNATURE_HEADER: sign(key, UNLOCK_PATH, time.time_ns(), body),
        "content-type": "application/json",
    }
    try:
        answer = httpx.post(
            url.rstrip("/") + UNLOCK_PATH, content=body, headers=headers, timeout=30
        )
    except httpx.HTTPError as problem:
        typer.echo(f"no mkoba answers at {url}: {type(problem).__name__}", err=True)
        raise typer.Exit(2) from None
    message = answer.json().get("message", answer.text) if answer.content else answer.text
    typer.echo(message, err=answer.status_code != 200)
    if answer.status_code != 200:
        raise typer.Exit(1)
