"""``mkoba app ...``: the smartphone channel's commands (a till's or paybill's printed code)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from mkoba.channels.app import keqr, render
from mkoba.channels.app.refusal import QrRefused

app_app = typer.Typer(help="The smartphone app channel: payment codes.", no_args_is_help=True)
_KINDS = {"till": keqr.PayeeKind.BUY_GOODS, "paybill": keqr.PayeeKind.PAYBILL}


@app_app.command("code")
def static_code(
    kind: str = typer.Argument(..., help="till or paybill"),
    number: str = typer.Argument(..., help="The till or paybill number"),
    name: str = typer.Option(..., help="The name printed in the code (at most 25 characters)"),
    city: str = typer.Option("NAIROBI", help="The city (at most 15 characters)"),
    category: str = typer.Option("5399", help="ISO 18245 merchant category code"),
    account: str = typer.Option(None, help="A paybill's account number, fixed in the code"),
    out: str = typer.Option(None, help="Write the picture here: .svg or .png"),
) -> None:
    """A static (reusable) payment code for a till or paybill: the payer types the amount.

    The payer's app shows the name the platform holds for the number, not the one
    printed here, and pays only a registered till or paybill.
    """
    console = Console()
    if kind not in _KINDS:
        raise typer.BadParameter("till or paybill", param_hint="KIND")
    try:
        payee = keqr.Payee(_KINDS[kind], number, name.upper(), city.upper(), category)
        payload = keqr.static_code(payee, account)
    except QrRefused as refused:
        raise typer.BadParameter(str(refused)) from None
    if out is not None:
        path = Path(out)
        if path.suffix.lower() not in {".svg", ".png"}:
            raise typer.BadParameter("a .svg or .png file", param_hint="--out")
        if path.suffix.lower() == ".svg":
            path.write_text(render.svg(payload, title=f"Pay {payee.name}"), encoding="utf-8")
        else:
            path.write_bytes(render.png(payload))
        console.print(f"wrote {path}", highlight=False)
    print(payload)
