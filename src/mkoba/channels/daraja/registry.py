"""Apps, their shortcodes, initiators and URLs, and the tokens they hold, in memory.

Loaded from the store at start and refreshed every ``refresh_interval_s`` (the
``mkoba daraja`` commands write the tables directly, as admin paths do). Changes
made by the running server (a URL registration, a token) are committed through
the ledger writer first and then applied here; a refresh that started before
such a change is discarded, so it cannot bring back an older view.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from mkoba import ports
from mkoba.channels.daraja.schema import (
    APP_COLUMNS,
    INITIATOR_COLUMNS,
    PULL_COLUMNS,
    SHORTCODE_COLUMNS,
    URL_COLUMNS,
)
from mkoba.ledger import Write, WriteMode

refresh_interval_s = 2.0
# A consumer key nobody knows triggers at most one early refresh per this interval.
miss_refresh_interval_s = 1.0
# The API products an app may hold ("*": all of them).
PRODUCTS = (
    "stk",
    "c2b_v1",
    "c2b_v2",
    "b2c",
    "b2pochi",
    "b2b",
    "tax",
    "status",
    "balance",
    "reversal",
    "qr",
    "pull",
)
# What an initiator may do ("*": everything).
ROLES = ("b2c", "b2b", "tax", "status", "balance", "reversal")
SHORTCODE_KINDS = ("paybill", "till", "b2c")


class App(NamedTuple):
    """A developer's app: its consumer key, secret verifier and API products."""

    id: int
    name: str
    consumer_key: str
    secret_verifier: str
    products: frozenset[str]
    state: str = "active"

    def allows(self, product: str) -> bool:
        """Whether the app holds ``product``."""
        return "*" in self.products or product in self.products


class Shortcode(NamedTuple):
    """A paybill, till or B2C shortcode of an app, and the party behind it."""

    shortcode: str
    app_id: int
    kind: str
    party_id: int
    # The STK passkey, sealed under the channel key ("" when the shortcode has none).
    passkey: str
    external_validation: bool


class Initiator(NamedTuple):
    """An API operator of an app, with its password verifier and roles."""

    app_id: int
    name: str
    verifier: str
    roles: frozenset[str]

    def may(self, role: str) -> bool:
        """Whether the initiator holds ``role``."""
        return "*" in self.roles or role in self.roles


class Urls(NamedTuple):
    """A shortcode's registered C2B URLs."""

    shortcode: str
    app_id: int
    version: str
    response_type: str
    confirmation_url: str
    validation_url: str


class Pull(NamedTuple):
    """A shortcode registered for pull transactions."""

    shortcode: str
    app_id: int
    nominated: str
    callback_url: str


class Tables(NamedTuple):
    """Everything the registry holds but tokens, as read from the store."""

    apps: list[App]
    shortcodes: list[Shortcode]
    initiators: list[Initiator]
    urls: list[Urls]
    pulls: list[Pull]


def _split(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def read_tables(store: ports.Tables) -> Tables:
    """The channel's tables (blocking: run it in a thread)."""
    with store.snapshot() as snapshot:
        apps = snapshot.query(f"SELECT {', '.join(APP_COLUMNS)} FROM daraja_apps")
        codes = snapshot.query(f"SELECT {', '.join(SHORTCODE_COLUMNS)} FROM daraja_shortcodes")
        initiators = snapshot.query(f"SELECT {', '.join(INITIATOR_COLUMNS)} FROM daraja_initiators")
        urls = snapshot.query(f"SELECT {', '.join(URL_COLUMNS)} FROM daraja_urls")
        pulls = snapshot.query(f"SELECT {', '.join(PULL_COLUMNS)} FROM daraja_pull")
    return Tables(
        apps=[
            App(int(i), str(n), str(k), str(v), _split(str(p)), str(s))
            for i, n, k, v, p, s, _c, _u in apps
        ],
        shortcodes=[
            Shortcode(str(c), int(a), str(k), int(p), str(s), bool(int(e)))
            for c, a, k, p, s, e, _u in codes
        ],
        initiators=[
            Initiator(int(a), str(n), str(v), _split(str(r))) for a, n, v, r, _u in initiators
        ],
        urls=[
            Urls(str(c), int(a), str(v), str(r), str(f), str(d)) for c, a, v, r, f, d, _u in urls
        ],
        pulls=[Pull(str(c), int(a), str(n), str(u)) for c, a, n, u, _u in pulls],
    )


class Registry:
    """The channel's view of apps, shortcodes, initiators, URLs and tokens."""

    def __init__(self) -> None:
        self.apps: dict[int, App] = {}
        self.by_key: dict[str, int] = {}
        self.shortcodes: dict[str, Shortcode] = {}
        self.initiators: dict[tuple[int, str], Initiator] = {}
        self.urls: dict[str, Urls] = {}
        self.pulls: dict[str, Pull] = {}
        # Token verifier -> (app id, expiry in ns).
        self.tokens: dict[str, tuple[int, int]] = {}
        # Bumped by every change the server itself applies.
        self.generation = 0
        self.last_miss = 0.0

    def replace(self, tables: Tables, generation: int) -> bool:
        """Take a fresh read of the tables, unless the server changed them since it began."""
        if generation != self.generation:
            return False
        self.apps = {app.id: app for app in tables.apps}
        self.by_key = {app.consumer_key: app.id for app in tables.apps}
        self.shortcodes = {code.shortcode: code for code in tables.shortcodes}
        self.initiators = {(i.app_id, i.name): i for i in tables.initiators}
        self.urls = {url.shortcode: url for url in tables.urls}
        self.pulls = {pull.shortcode: pull for pull in tables.pulls}
        return True

    def load_tokens(self, rows: list[tuple[Any, ...]]) -> None:
        """Tokens still valid at start."""
        for digest, app_id, expires in rows:
            self.tokens[str(digest)] = (int(app_id), int(expires))

    # -- lookups ----------------------------------------------------------------------

    def app_by_key(self, consumer_key: str) -> App | None:
        """The active app with this consumer key."""
        app_id = self.by_key.get(consumer_key)
        app = None if app_id is None else self.apps.get(app_id)
        return app if app is not None and app.state == "active" else None

    def app_by_token(self, digest: str, now_ns: int) -> App | None:
        """The active app holding the token with this verifier, if it has not expired."""
        entry = self.tokens.get(digest)
        if entry is None:
            return None
        app_id, expires = entry
        if expires <= now_ns:
            del self.tokens[digest]
            return None
        app = self.apps.get(app_id)
        return app if app is not None and app.state == "active" else None

    def shortcode_of(self, app: App, shortcode: str) -> Shortcode | None:
        """``shortcode`` if ``app`` owns it."""
        code = self.shortcodes.get(shortcode)
        return code if code is not None and code.app_id == app.id else None

    def initiator(self, app: App, name: str) -> Initiator | None:
        """The app's initiator called ``name``."""
        return self.initiators.get((app.id, name))

    def should_refresh_on_miss(self) -> bool:
        """Whether an unknown key may trigger a refresh now (at most once a second)."""
        now = time.monotonic()
        if now - self.last_miss < miss_refresh_interval_s:
            return False
        self.last_miss = now
        return True

    # -- changes made by the server (commit the writes first, then apply) --------------

    def token_write(self, digest: str, app_id: int, expires: int) -> Write:
        """The row of a new token."""
        return Write(
            "daraja_tokens",
            ("digest", "app_id", "expires"),
            (digest, app_id, expires),
            ("digest",),
            WriteMode.UPSERT,
        )

    def add_token(self, digest: str, app_id: int, expires: int) -> None:
        """A committed token."""
        self.tokens[digest] = (app_id, expires)

    def urls_write(self, urls: Urls, now: int) -> Write:
        """The row of a URL registration."""
        return urls_write(urls, now)

    def set_urls(self, urls: Urls) -> None:
        """A committed URL registration."""
        self.generation += 1
        self.urls[urls.shortcode] = urls

    def pull_write(self, pull: Pull, now: int) -> Write:
        """The row of a pull registration."""
        return Write(
            "daraja_pull",
            PULL_COLUMNS,
            (pull.shortcode, pull.app_id, pull.nominated, pull.callback_url, now),
            ("shortcode",),
            WriteMode.UPSERT,
        )

    def set_pull(self, pull: Pull) -> None:
        """A committed pull registration."""
        self.generation += 1
        self.pulls[pull.shortcode] = pull


def app_write(app: App, now: int) -> Write:
    """The row of an app (created or changed)."""
    return Write(
        "daraja_apps",
        APP_COLUMNS,
        (
            app.id,
            app.name,
            app.consumer_key,
            app.secret_verifier,
            ",".join(sorted(app.products)),
            app.state,
            now,
            now,
        ),
        ("id",),
        WriteMode.UPSERT,
    )


def shortcode_write(code: Shortcode, now: int) -> Write:
    """The row of a shortcode."""
    return Write(
        "daraja_shortcodes",
        SHORTCODE_COLUMNS,
        (
            code.shortcode,
            code.app_id,
            code.kind,
            code.party_id,
            code.passkey,
            int(code.external_validation),
            now,
        ),
        ("shortcode",),
        WriteMode.UPSERT,
    )


def urls_write(urls: Urls, now: int) -> Write:
    """The row of a shortcode's C2B URLs."""
    return Write(
        "daraja_urls",
        URL_COLUMNS,
        (
            urls.shortcode,
            urls.app_id,
            urls.version,
            urls.response_type,
            urls.confirmation_url,
            urls.validation_url,
            now,
        ),
        ("shortcode",),
        WriteMode.UPSERT,
    )


def initiator_write(initiator: Initiator, now: int) -> Write:
    """The row of an initiator."""
    return Write(
        "daraja_initiators",
        INITIATOR_COLUMNS,
        (
            initiator.app_id,
            initiator.name,
            initiator.verifier,
            ",".join(sorted(initiator.roles)),
            now,
        ),
        ("app_id", "name"),
        WriteMode.UPSERT,
    )
