"""One scenario's world: a fresh copy of the demo ledger, a cluster on it, and its clients.

The demo data is made once per run (a core's first start takes seconds): a core
starts on an empty database, loads it and stops cleanly; that database is the
template every scenario's database is copied from (``CREATE DATABASE ...
TEMPLATE``), with a copy of its keys (the PIN verifiers are keyed). Each
scenario then has a database and a bus prefix of its own, so nothing one
scenario breaks reaches the next.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.compat.listener import Listener
from tests.faults.answers import Answers
from tests.faults.cluster import Cluster
from tests.faults.load import Load, NativeSender
from tests.faults.proxy import Proxy
from tests.faults.services import PrivateNats, PrivatePostgres
from tests.faults.stk import Front, StkPayer, token
from tests.faults.supervisor import Supervisor

TEMPLATE = "mkoba_template"
SCHEMA = "mkoba"
# Settings of every node. Requests wait 6 s for the core (the default is 30), so a
# scenario's stuck requests finish within the suite's time, and STK prompts live 8 s,
# longer than that, so a prompt's payment can finish before it expires. A core takes 8
# requests in hand (``workers``, the default 64): the load's 24 clients then stand to
# the bus's pending limit as an operator's 192 would to the default.
SETTINGS = {
    "request_timeout_s": "6",
    "daraja_stk_timeout_s": "8",
    "workers": "8",
    # The STK payers (demo customers 254712000900-999) are the sandbox's to answer for.
    "daraja_sandbox_msisdns": "254708374149,2547120009??",
}
# Each native client has a pool of its own customers who send to each other.
pool_size = 2
stk_payers = 2
# Party accounts: a wallet is purpose 1 (parties/model.py Purpose.WALLET).
_WALLET = 1


@dataclass(frozen=True)
class Services:
    """The run's private servers and the template's keys."""

    pg: PrivatePostgres
    nats: PrivateNats
    keys: Path

    def ensure_running(self) -> None:
        """Start whichever server a scenario left down (its fault's heal failed)."""
        for server in (self.pg, self.nats):
            if not server.running:
                server.restart()


def make_template(pg: PrivatePostgres, nats: PrivateNats, folder: Path) -> Services:
    """The demo ledger in ``TEMPLATE``, made by a core that then stopped cleanly."""
    pg.execute(f"CREATE DATABASE {TEMPLATE}")
    folder.mkdir(parents=True, exist_ok=True)
    cluster = Cluster.make(folder, pg.url(TEMPLATE, SCHEMA), f"{nats.url}/template", fronts=0)
    cluster.start()
    unclean = cluster.stop()
    assert not unclean, f"the template's core did not stop cleanly: {cluster.core.tail()}"
    return Services(pg, nats, folder / "keys")


@dataclass
class Rig:
    """A scenario's cluster (not yet loaded), its clients and what they saw."""

    name: str
    folder: Path
    services: Services
    db: str
    cluster: Cluster
    proxy: Proxy | None
    supervisor: Supervisor
    listener: Listener = field(default_factory=Listener)
    answers: Answers = field(default_factory=Answers)
    payers: list[StkPayer] = field(default_factory=list)
    load: Load | None = None
    # When the fault began (time.monotonic), and what its inject and heal measured.
    fault_at: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def start_load(self, native_clients: int) -> None:
        """Start native clients and STK payers through every front."""
        fronts = [(node.name, node.url) for node in self.cluster.fronts]
        pools = _pools(self.db, native_clients)
        natives = [NativeSender(self.answers, fronts, pool) for pool in pools]
        with httpx.Client(timeout=10.0) as client:
            daraja = [Front(n.name, n.url, token(client, n.url)) for n in self.cluster.fronts]
        self.payers = [
            StkPayer(self.answers, daraja, payer, self.listener, index)
            for index, payer in enumerate(_payers(self.db))
        ]
        self.load = Load([*natives, *self.payers])
        self.load.start()

    def stop_cluster(self) -> list[str]:
        """Stop the supervisor, then the nodes; the names of those that did not stop cleanly."""
        self.supervisor.close()
        return self.cluster.stop()

    def close(self) -> None:
        """Stop everything this rig started (the private servers stay)."""
        if self.load is not None:
            self.load.stop(0.0)
        self.stop_cluster()
        if self.proxy is not None:
            self.proxy.close()
        self.listener.close()


def make_rig(
    services: Services, folder: Path, name: str, via_proxy: bool = False, standby: bool = False
) -> Rig:
    """A started cluster on a fresh copy of the template; the core through a proxy if asked.

    ``standby``: a second core that stands by for the ledger's lease (``Cluster.make``).
    """
    pg = services.pg
    database = f"faults_{name}_{uuid.uuid4().hex[:6]}"
    pg.execute(f"CREATE DATABASE {database} TEMPLATE {TEMPLATE}")
    shutil.copytree(services.keys, folder / "keys")
    proxy = Proxy(pg.port) if via_proxy else None
    db = pg.url(database, SCHEMA)
    core_db = pg.url(database, SCHEMA, port=proxy.port) if proxy is not None else db
    bus = f"{services.nats.url}/{database.replace('_', '-')}"
    cluster = Cluster.make(folder, db, bus, fronts=2, core_db=core_db, standby=standby, **SETTINGS)
    rig = Rig(name, folder, services, db, cluster, proxy, Supervisor(cluster.nodes))
    try:
        cluster.start()
        rig.supervisor.start()
    except BaseException:
        rig.close()
        raise
    return rig


def _funded(db: str, stk: bool, minimum_minor: int, count: int) -> list[str]:
    """STK payers (or not) whose wallet holds ``minimum_minor``, their PIN usable."""
    base, _, schema = db.partition("?schema=")
    with psycopg.connect(base) as connection:
        connection.execute(f"SET search_path TO {schema}")
        rows = connection.execute(
            "SELECT p.msisdn FROM parties AS p"
            f" JOIN party_accounts AS pa ON pa.party_id = p.id AND pa.purpose = {_WALLET}"
            " JOIN ledger_accounts AS a ON a.id = pa.account_id"
            " JOIN pin_credentials AS c ON c.party_id = p.id"
            " WHERE p.kind = 'customer' AND p.state = 'active'"
            f" AND p.msisdn {'' if stk else 'NOT '}LIKE '2547120009%%'"
            " AND c.locked = 0 AND c.must_change = 0 AND c.failed_attempts = 0"
            " AND a.credits_posted - a.debits_posted >= %s ORDER BY p.msisdn LIMIT %s",
            (minimum_minor, count),
        ).fetchall()
    found = [str(row[0]) for row in rows]
    assert len(found) == count, f"{len(found)} funded customers (stk: {stk}), not {count}"
    return found


def _pools(db: str, clients: int) -> list[list[str]]:
    """Disjoint pools of native senders (KES 1,000 or more), outside the STK payers."""
    found = _funded(db, False, 100_000, clients * pool_size)
    return [found[i * pool_size : (i + 1) * pool_size] for i in range(clients)]


def _payers(db: str) -> list[str]:
    """STK payers: customers the sandbox answers for, with KES 500 or more."""
    return _funded(db, True, 50_000, stk_payers)
