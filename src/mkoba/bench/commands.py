"""``mkoba bench ...``: the benchmarks' commands (their figures go to bench/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

bench_app = typer.Typer(
    help="Measure throughput and latency; see bench/RESULTS.md.", no_args_is_help=True
)
console = Console()
error_console = Console(stderr=True)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


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
    rules: str = typer.Option(
        "off",
        help="The profile's fraud and AML rules: off, on, or off,on (measured side by side)",
    ),
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
        rules=tuple(_on(value) for value in _split(rules)),
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


@bench_app.command("app")
def bench_app_payments(
    users: int = typer.Option(16, min=1, max=200, help="Payer/payee pairs (a connection each)"),
    seconds: float = typer.Option(8.0, min=1.0, help="Duration of each phase"),
    rounds: int = typer.Option(2, min=1, max=10, help="Rounds of every mode, interleaved"),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per measurement"),
) -> None:
    """QR payments through the validation server and TranProc, beside native sends."""
    from mkoba.bench.app import run as run_app

    run_app(users, seconds, rounds, console, json_lines)


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


@bench_app.command("sim")
def bench_sim(
    users: int = typer.Option(16, min=1, max=300, help="Phones with a SIM (a closed loop each)"),
    seconds: float = typer.Option(8.0, min=1.0, help="Duration of each phase"),
    rounds: int = typer.Option(2, min=1, max=10, help="Saturated + half-load rounds"),
    smpp_window: int = typer.Option(
        None, min=1, max=1000, help="The server's MKOBA_SMPP_WINDOW [its default]"
    ),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object"),
) -> None:
    """Secured SIM transactions per second through the SMSC peer, then p99 at half load."""
    from mkoba.bench.errors import BenchError
    from mkoba.bench.sim import run as run_sim

    try:
        run_sim(users, seconds, rounds, smpp_window, console, json_lines)
    except BenchError as problem:
        error_console.print(f"[red]bench sim:[/red] {escape(str(problem))}")
        raise typer.Exit(1) from None


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


def _on(value: str) -> bool:
    """``on`` or ``off`` as a flag (anything else is refused by the config's check)."""
    if value not in ("on", "off"):
        raise typer.BadParameter(f"{value!r}: give off, on or off,on", param_hint="--rules")
    return value == "on"
