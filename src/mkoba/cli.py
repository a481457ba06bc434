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
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from mkoba.settings import Settings

from mkoba.app import channel_commands
from mkoba.catalog.cli import tariffs_app
from mkoba.demo.cli import demo_app
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
bench_app = typer.Typer(
    help="Measure throughput and latency; see bench/RESULTS.md.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
app.add_typer(tariffs_app, name="tariffs")
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
        help="all; or, on a NATS bus, core (TranProc, ledger writer, outbox) or front"
        " (the Daraja and native APIs, on the core's bus and store) [MKOBA_ROLE, all]",
    ),
) -> None:
    """Run the whole platform in one process on one port (SQLite and in-process bus by default).

    On a NATS bus, ``--role core`` and ``--role front`` split it into processes
    sharing one store: start the core first, then any number of fronts. On PostgreSQL
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
    lines = [
        f"mkoba on {base}  (store: {settings.db}, bus: {settings.bus}, profile: {settings.profile}"
        + ("" if settings.role == "all" else f", role: {settings.role}")
        + ")",
        f"  native API  {base}/api/v1/...   docs {base}/docs",
        f"  health      {base}/health        metrics {base}/metrics",
    ]
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


@bench_app.command("ledger")
def bench_ledger(
    stores: str = typer.Option("sqlite,postgresql", help="Comma-separated: sqlite, postgresql"),
    batches: str = typer.Option("1,64,1024,8190", help="Comma-separated client batch sizes"),
    workloads: str = typer.Option("uniform,hot,naive", help="Comma-separated workloads"),
    accounts: int = typer.Option(100_000, help="Accounts to spread transfers over"),
    seconds: float = typer.Option(3.0, help="Target duration of each measurement"),
    postgres_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/test",
        envvar="MKOBA_BENCH_POSTGRES",
        help="PostgreSQL server for the postgresql store",
    ),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per line"),
) -> None:
    """Durable transfers per second, per store, batch size and workload, side by side."""
    from mkoba.bench.ledger import Config, run

    config = Config(
        stores=_split(stores),
        batches=[int(size) for size in _split(batches)],
        workloads=_split(workloads),
        accounts=accounts,
        seconds=seconds,
        postgres_url=postgres_url,
    )
    run(config, console=console, json_lines=json_lines)


@bench_app.command("processor")
def bench_processor(
    customers: int = typer.Option(10_000, help="Funded customers to send money between"),
    clients: int = typer.Option(256, help="Concurrent clients in the closed loop"),
    seconds: float = typer.Option(10.0, help="Duration of each loop"),
    channels: str = typer.Option("api,system", help="Comma-separated: api (two-phase), system"),
    store: str = typer.Option(
        "sqlite",
        help="sqlite (the embedded default), postgresql, or both comma-separated: each in turn",
    ),
    postgres_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/test",
        envvar="MKOBA_BENCH_POSTGRES",
        help="PostgreSQL server for --store postgresql (a scratch schema, dropped after)",
    ),
    loop: str = typer.Option("uvloop", help="Event loop: uvloop (as mkoba serve) or asyncio"),
    reconcile: bool = typer.Option(True, "--reconcile/--no-reconcile", help="Check the books"),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per line"),
    bus: str = typer.Option(
        "memory",
        help="One process's bus: memory, or nats://host:port[/prefix] (prefix mkoba-bench)",
    ),
    split: str = typer.Option(
        None,
        help="A NATS server (nats://host:port): each store is measured split too, a core"
        " process and a front on it",
    ),
    rounds: int = typer.Option(1, help="Measure every form this many times, interleaved"),
) -> None:
    """Send-money requests through TranProc: tx/s closed-loop, then p50/p99 at half that rate."""
    from mkoba.bench.processor import Config as ProcessorConfig
    from mkoba.bench.processor import run as run_processor

    config = ProcessorConfig(
        customers=customers,
        clients=clients,
        seconds=seconds,
        channels=_split(channels),
        stores=_split(store),
        postgres_url=postgres_url,
        loop=loop,
        reconcile=reconcile,
        bus=bus,
        split=split,
        rounds=rounds,
    )
    run_processor(config, console=console, json_lines=json_lines)


@bench_app.command("daraja")
def bench_daraja(
    seconds: float = typer.Option(10.0, help="Duration of each phase"),
    clients: int = typer.Option(32, help="Concurrent customers pushing (closed loop)"),
    peer: bool = typer.Option(True, "--peer/--no-peer", help="Also measure daraja-mock 1.0.5"),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per form and round"),
    store: str = typer.Option(
        "sqlite", help="sqlite, postgresql, or both comma-separated: each in turn"
    ),
    postgres_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/test",
        envvar="MKOBA_BENCH_POSTGRES",
        help="PostgreSQL server for --store postgresql (a scratch schema, dropped after)",
    ),
    split: str = typer.Option(
        None,
        help="A NATS server (nats://host:port): each store is measured split too, mkoba as"
        " a core and a front process on it",
    ),
    rounds: int = typer.Option(1, help="Measure every form this many times, interleaved"),
) -> None:
    """STK push to callback round trips through mkoba serve, beside the stateless daraja-mock."""
    from mkoba.bench.daraja import run as run_daraja
    from mkoba.bench.processor_config import STORES

    stores = _split(store)
    problems = [f"unknown store {name!r}" for name in stores if name not in STORES]
    if not stores or len(set(stores)) != len(stores):
        problems.append(f"give each store once, of {', '.join(STORES)}")
    if not 1 <= rounds <= 20:
        problems.append("rounds must be 1..20")
    if split is not None:
        from mkoba.bus import parse_nats_url

        try:
            parse_nats_url(split)
        except ValueError as problem:
            problems.append(f"--split: {problem}")
    if problems:
        error_console.print(f"[red]mkoba bench daraja:[/red] {escape('; '.join(problems))}")
        raise typer.Exit(2)
    if "postgresql" in stores:
        from mkoba.bench.stores import check_postgres

        check_postgres(postgres_url, error_console)
    run_daraja(seconds, clients, peer, console, json_lines, split, stores, rounds, postgres_url)


@bench_app.command("ussd")
def bench_ussd(
    url: str = typer.Option(None, help="A running server; default: start one on a free port"),
    users: int = typer.Option(32, help="Virtual users (one keep-alive connection each)"),
    seconds: float = typer.Option(10.0, help="Duration of each phase"),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object"),
) -> None:
    """Send-money USSD sessions through the HTTP endpoint: hops/s, then p99 at half load."""
    from mkoba.bench.ussd import run as run_ussd

    run_ussd(url, users, seconds, console, json_lines)


@bench_app.command("sms")
def bench_sms(
    messages: int = typer.Option(20_000, help="submit_sm to send"),
    window: int = typer.Option(64, help="submit_sm awaiting a response (the ESME window)"),
    smsc: str = typer.Option(
        None, help="smpp://system_id:password@host:port; default: start the npm SMSC peer"
    ),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object"),
) -> None:
    """submit_sm per second to an SMSC, with every delivery receipt matched."""
    from mkoba.bench.sms import run as run_sms

    run_sms(messages, window, smsc, console, json_lines)


@bench_app.command("standby")
def bench_standby(
    customers: int = typer.Option(100_000, min=2, max=10_000_000, help="Customers in the ledger"),
    transactions: int = typer.Option(None, help="Transactions over the past year [1 per customer]"),
    db: str = typer.Option("postgresql://127.0.0.1:5432/test", help="PostgreSQL server"),
    nats: str = typer.Option("nats://127.0.0.1:4222", help="NATS server (a prefix of the bench's)"),
    rounds: int = typer.Option(2, min=1, max=20, help="Takeovers of each form, interleaved"),
    sends: int = typer.Option(
        20, min=1, max=10_000, help="Send-money requests the active commits before it dies"
    ),
    store: str = typer.Option(
        None, help="Keep keys and the schema's name here (a run of the same size reuses it)"
    ),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object"),
) -> None:
    """A standby core taking over a large ledger: cold (loads after the lease) and warm."""
    from mkoba.bench.errors import BenchError
    from mkoba.bench.standby import Config as StandbyConfig
    from mkoba.bench.standby import run as run_standby

    config = StandbyConfig(
        customers=customers,
        transactions=transactions if transactions is not None else customers,
        db=db,
        nats=nats,
        rounds=rounds,
        sends=sends,
        store=Path(store) if store is not None else None,
    )
    try:
        run_standby(config, console=error_console if json_lines else console, json_lines=json_lines)
    except BenchError as problem:
        error_console.print(f"[red]bench standby:[/red] {problem}")
        raise typer.Exit(1) from None


@bench_app.command("console")
def bench_console(
    customers: int = typer.Option(1_000_000, max=10_000_000, help="Customers in the store"),
    transactions: int = typer.Option(
        None, help="Transactions over the past year [10 per customer]"
    ),
    lookups: int = typer.Option(
        2_000, min=1, max=100_000, help="Searches and customer 360 views of each kind"
    ),
    store: str = typer.Option(
        None, help="Keep the built store in this folder (reused by a run of the same size)"
    ),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object"),
) -> None:
    """Console searches, customer 360, a year's statement and the finance pack on a big store."""
    from mkoba.bench.console import Config as ConsoleConfig
    from mkoba.bench.console import run as run_console
    from mkoba.bench.errors import BenchError

    config = ConsoleConfig(
        customers=customers,
        transactions=transactions if transactions is not None else customers * 10,
        lookups=lookups,
        store=Path(store) if store is not None else None,
    )
    try:
        run_console(config, console=error_console if json_lines else console, json_lines=json_lines)
    except BenchError as problem:
        error_console.print(f"[red]bench console:[/red] {problem}")
        raise typer.Exit(1) from None


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
) -> None:
    """A handset in the terminal: dial *334#, read SMS, answer STK prompts."""
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
    raise typer.Exit(run_phone(number, url, console, paired))


def local_time(ns: int, zone: ZoneInfo) -> str:
    """``at 2026-12-05 00:28:36 EAT (Africa/Nairobi)``: ``ns`` since the epoch, for a person."""
    when = dt.datetime.fromtimestamp(ns // 1_000_000_000, zone)
    return f"at {when:%Y-%m-%d %H:%M:%S} {when.tzname()} ({zone.key})"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main() -> None:
    """Entry point of the ``mkoba`` command."""
    # Invariants are asserts: refuse to run with them stripped.
    if sys.flags.optimize:
        error_console.print("mkoba refuses to run under python -O: its invariants are asserts")
        raise SystemExit(2)
    app()
