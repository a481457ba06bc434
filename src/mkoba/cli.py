"""The ``mkoba`` command line: serve, reconcile, bench and admin commands."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from mkoba.parties.handsets import HandsetCredential
    from mkoba.settings import Settings

from mkoba.app_commands import channel_commands
from mkoba.bench.commands import bench_app
from mkoba.catalog.cli import tariffs_app
from mkoba.catalog.rules_cli import rules_app
from mkoba.demo.cli import demo_app
from mkoba.risk.reports.cli import reports_app
from mkoba.simulate.commands import simulate_app
from mkoba.staff.cli import audit_app

app = typer.Typer(
    name="mkoba",
    help="mkoba: an open-source mobile-money platform (M-Pesa in a box).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: Rich markup would read "[/prefix]" in a URL as a tag
    # (and crash). The root's mode is every sub-command's (typer passes it down).
    rich_markup_mode=None,
)
app.add_typer(bench_app, name="bench")
app.add_typer(tariffs_app, name="tariffs")
app.add_typer(rules_app, name="rules")
app.add_typer(reports_app, name="reports")
app.add_typer(simulate_app, name="simulate")
for name, commands in channel_commands():
    app.add_typer(commands, name=name)
app.add_typer(demo_app, name="demo")
app.add_typer(audit_app, name="audit")

console = Console()
error_console = Console(stderr=True)
DEFAULT_DB = os.environ.get("MKOBA_DB", "var/mkoba.db")

DbOption = typer.Option(
    DEFAULT_DB,
    "--db",
    help="Store: a SQLite file path (the default) or postgresql://user@host:port/db",
    envvar="MKOBA_DB",
)


@app.command()
def serve(
    db: str = DbOption,
    host: str = typer.Option(None, help="Interface to listen on [MKOBA_HOST, 127.0.0.1]"),
    port: int = typer.Option(None, help="Port [MKOBA_PORT, 8334]"),
    profile: str = typer.Option(None, help="Catalog profile name or YAML [MKOBA_PROFILE, kenya]"),
    demo: bool = typer.Option(None, "--demo/--no-demo", help="Demo data in an empty store"),
    log_format: str = typer.Option(None, help="console or json [MKOBA_LOG_FORMAT]"),
    bus: str = typer.Option(
        None, help="memory, or NATS JetStream: nats://host:port[/prefix] [MKOBA_BUS, memory]"
    ),
    role: str = typer.Option(
        None,
        help="all; or, on a NATS bus, core (TranProc, ledger writer, outbox), front"
        " (the Daraja and native APIs, on the core's bus and store) or validator (the app's"
        " validation server, with MKOBA_APP_VALIDATOR=apart) [MKOBA_ROLE, all]",
    ),
) -> None:
    """Run the whole platform in one process on one port (SQLite and in-process bus by default).

    On a NATS bus, ``--role core`` and ``--role front`` split it into processes
    sharing one store: start the core first, then any number of fronts (and, with
    MKOBA_APP_VALIDATOR=apart, a ``--role validator``; a second one stands by). On PostgreSQL
    a second core stands by and takes over when the active one stops renewing its
    lease (docs/operations.md).
    """
    import uvicorn

    from mkoba import logs
    from mkoba.app import Listeners, create_apps
    from mkoba.settings import SettingsError, load_settings

    try:
        settings = load_settings(
            db=db,
            host=host,
            port=port,
            profile=profile,
            demo=demo,
            log_format=log_format,
            bus=bus,
            role=role,
        )
    except SettingsError as problem:
        error_console.print(f"[red]settings:[/red]\n{problem}")
        raise typer.Exit(2) from None
    logs.configure(settings.log_level, settings.log_format)
    from mkoba.processor import gc_tuning

    gc_tuning.tune()  # a server's pace of garbage collection (processor/gc_tuning.py)
    public, console_app = create_apps(settings)
    config = uvicorn.Config(
        public,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # No logging config of uvicorn's own: its records (a crashed request's traceback
        # among them) go through logs.configure's one redacting handler, without locals.
        log_config=None,
        loop="uvloop",
        http="httptools",
        access_log=False,
    )
    sockets = [_bind(settings.host, settings.port, "MKOBA_PORT")]
    console_url = None
    if console_app is not None:
        console_socket = _bind(settings.console_host, settings.console_port, "MKOBA_CONSOLE_PORT")
        console_port = console_socket.getsockname()[1]
        sockets.append(console_socket)
        config.app = Listeners(public, console_app, console_port)
        console_url = f"http://{settings.console_host}:{console_port}"
    print_banner(console, settings, console_url)
    uvicorn.Server(config).run(sockets=sockets)


def _bind(host: str, port: int, setting: str) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port), or exit naming the setting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as problem:
        sock.close()
        error_console.print(
            f"[red]cannot listen on {host}:{port}[/red] ({problem.strerror}): set {setting}"
            " (0: any free port)"
        )
        raise typer.Exit(2) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def print_banner(out: Console, settings: Settings, console_url: str | None = None) -> None:
    """Where each thing is, one whole line each: a URL broken over two lines cannot be copied."""
    base = f"http://{settings.host}:{settings.port}"
    if settings.role == "validator":  # the app's validation server on the bus: health only
        lines = [f"mkoba validator (bus: {settings.bus}, store: {settings.db})"]
        lines.append(f"  health      {base}/health")
        for line in lines:
            out.print(line, soft_wrap=True, markup=False, highlight=False)
        return
    lines = [
        f"mkoba on {base}  (store: {settings.db}, bus: {settings.bus}, profile: {settings.profile}"
        + ("" if settings.role == "all" else f", role: {settings.role}")
        + ")",
        f"  native API  {base}/api/v1/...   docs {base}/docs",
        f"  health      {base}/health        metrics {base}/metrics",
    ]
    if settings.role != "front":
        lines.append(f"  phone app   {base}/app/          (QR payments; open it on two phones)")
    if console_url is not None:
        lines.append(f"  console     {console_url}/staff/        (back office in the browser)")
        lines.append(f"  staff API   {console_url}/staff/v1/...   docs {console_url}/staff/docs")
    if not settings.smtp_host and settings.role != "front":
        lines.append(f"  mail        {settings.mail_dir}/   (no SMTP host: codes, statements)")
    for line in lines:
        # soft_wrap: Rich inserts no line breaks (a narrow terminal folds the line itself);
        # no markup or highlighting, as a path or URL may hold "[" or look like a number.
        out.print(line, soft_wrap=True, markup=False, highlight=False)


@app.command()
def reconcile(
    db: str = DbOption,
    profile: str = typer.Option(
        "kenya",
        envvar="MKOBA_PROFILE",
        help="The server's catalog profile: its time zone names the checkpoint's time",
    ),
) -> None:
    """Check the books in a store; exit non-zero on any difference."""
    from mkoba.catalog import CatalogError, load_catalog
    from mkoba.ledger import open_store
    from mkoba.ledger.reconcile import reconcile as run_reconcile

    if "://" not in db and not Path(db).exists():
        error_console.print(f"[red]no ledger at {db}[/red] (give --db or set MKOBA_DB)")
        raise typer.Exit(2)
    try:
        zone = load_catalog(profile).versions[0].timezone
    except CatalogError as error:
        error_console.print(f"profile: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    store = open_store(db)
    store.migrate()
    with console.status("reconciling") as status:
        report = run_reconcile(store, progress=lambda step: status.update(f"checking {step}"))
    store.close()
    table = Table(title=f"reconcile {report.store}", show_lines=False)
    table.add_column("check")
    table.add_column("what it checks")
    table.add_column("checked", justify="right")
    table.add_column("result")
    for check in report.checks:
        verdict = "[green]ok[/green]" if check.ok else f"[red]{len(check.problems)} wrong[/red]"
        table.add_row(check.name, check.description, f"{check.checked:,}", verdict)
    console.print(table)
    checkpoint = (
        f"balances checkpointed {local_time(report.checkpoint, zone)}"
        if report.checkpoint
        else "balances not checkpointed yet (the writer checkpoints as it runs and at stop)"
    )
    console.print(f"{report.transfers:,} transfers; {checkpoint}")
    for check in report.checks:
        for problem in check.problems[:20]:
            console.print(f"[red]{check.name}:[/red] {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]the books balance[/green]")


@app.command()
def phone(
    msisdn: str = typer.Argument(..., help="The phone's number, e.g. 254712000001"),
    url: str = typer.Option("http://127.0.0.1:8334", help="The running mkoba serve"),
    keys_dir: str = typer.Option(
        "var/keys", envvar="MKOBA_KEYS_DIR", help="The server's keys (to pair with)"
    ),
    credential: bool = typer.Option(
        False, "--credential", help="Print the phone's handset credential (for curl) and exit"
    ),
    sim: bool = typer.Option(
        False, "--sim", help="With its SIM-toolkit SIM: the M-PESA menu on the SIM (docs/sim.md)"
    ),
    iccid: str | None = typer.Option(None, help="Which SIM (default: the number's newest)"),
    sims_dir: str = typer.Option(
        "var/sims", envvar="MKOBA_SIMS_DIR", help="The SIM files (mkoba sims provision)"
    ),
    short_code: str = typer.Option("334", help="The short code the SIM writes to"),
) -> None:
    """A handset in the terminal: dial *334#, read SMS, answer STK prompts; --sim: the SIM."""
    from mkoba.parties import InvalidMsisdn, normalize_msisdn
    from mkoba.phone.handset import run as run_phone
    from mkoba.phone.pairing import PairingError, pair

    try:
        number = normalize_msisdn(msisdn)
    except InvalidMsisdn as problem:
        error_console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from None
    try:
        paired = pair(number, Path(keys_dir))
    except PairingError as problem:
        error_console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from None
    if credential:
        # Asked for on purpose, to stdout only: curl -H "Authorization: Handset $(...)".
        typer.echo(paired.reveal())
        raise typer.Exit(0)
    if sim:
        raise typer.Exit(
            _sim_phone(number, url, paired, Path(keys_dir), Path(sims_dir), iccid, short_code)
        )
    raise typer.Exit(run_phone(number, url, console, paired))


def _sim_phone(
    number: str,
    url: str,
    paired: HandsetCredential,
    keys_dir: Path,
    sims_dir: Path,
    iccid: str | None,
    short_code: str,
) -> int:
    """``mkoba phone N --sim``: the handset with the number's SIM card in it."""
    from mkoba.phone.server import Server
    from mkoba.phone.sim_handset import SimHandset
    from mkoba.simcard import simfile
    from mkoba.simcard.keys import MASTER_KEY_FILE, load_master_key

    if not (keys_dir / MASTER_KEY_FILE).exists():
        error_console.print(
            f"[red]no SIM master key in {keys_dir}: give the server's --keys-dir[/red]"
        )
        return 2
    try:
        card = simfile.load(simfile.find(sims_dir, number, iccid), load_master_key(keys_dir))
    except (simfile.SimFileError, ValueError) as problem:
        error_console.print(f"[red]{problem}[/red]")
        return 2
    if card.msisdn != number:
        error_console.print(f"[red]SIM {card.card.iccid} serves {card.msisdn}, not {number}[/red]")
        return 2
    server = Server(url, number, credential=paired)
    try:
        SimHandset(server, console, card, short_code).run()
    finally:
        server.close()
    return 0


def local_time(ns: int, zone: ZoneInfo) -> str:
    """``at 2026-12-05 00:28:36 EAT (Africa/Nairobi)``: ``ns`` since the epoch, for a person."""
    when = dt.datetime.fromtimestamp(ns // 1_000_000_000, zone)
    return f"at {when:%Y-%m-%d %H:%M:%S} {when.tzname()} ({zone.key})"


def main() -> None:
    """Entry point of the ``mkoba`` command."""
    # Invariants are asserts: refuse to run with them stripped.
    if sys.flags.optimize:
        error_console.print("mkoba refuses to run under python -O: its invariants are asserts")
        raise SystemExit(2)
    app()
