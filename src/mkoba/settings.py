"""One settings object: environment variables with an ``MKOBA_`` prefix, and CLI flags.

Defaults run the embedded platform: SQLite in ``var/``, the in-process bus, the
Kenya profile, demo data on first start, one port. Everything is validated at
start, with a message that says which setting is wrong and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

# A USSD gateway's secret shorter than this could be guessed over the network.
gateway_secret_chars_min = 16


class Settings(BaseSettings):
    """How this mkoba runs."""

    # A wrong value is named, never echoed: some settings are secrets (the SMSC's password).
    model_config = SettingsConfigDict(
        env_prefix="MKOBA_", extra="forbid", hide_input_in_errors=True
    )

    db: str = Field("var/mkoba.db", description="SQLite file path or postgresql://...")
    commit_process: bool = Field(
        True,
        description="the ledger writer commits in a child process (its own interpreter)",
    )
    bus: str = Field("memory", description="memory (in-process) or nats://host:port[/prefix]")
    role: Literal["all", "core", "front", "validator"] = Field(
        "all",
        description="all (one process), or on a NATS bus: core (TranProc, ledger writer,"
        " outbox), front (the Daraja and native APIs, nothing else) or validator (the"
        " app's validation server, with app_validator=apart)",
    )
    # Where the smartphone app's validation server runs in the split form: in the core,
    # or apart, in its own ``--role validator`` process (docs/app.md, "Across the bus").
    app_validator: Literal["core", "apart"] = Field(
        "core", description="the app's validation server: in the core, or apart (its own role)"
    )
    host: str = "127.0.0.1"
    port: int = Field(8334, ge=1, le=65535)
    # The operator console's staff API listens apart from the public API: another port,
    # and, where the operator wants it, another (internal) address. 0: a free port.
    console_host: str = "127.0.0.1"
    console_port: int = Field(8335, ge=0, le=65535)
    profile: str = Field("kenya", description="catalog profile name or YAML path")
    keys_dir: Path = Field(Path("var/keys"), description="PIN and transport keys (not in the db)")
    demo: bool = Field(True, description="load demo data into an empty store")
    risk_rules: bool = Field(
        True, description="run the profile's fraud and AML rules (docs/risk.md); off for a bench"
    )
    # The reporting entity's id at the FIU (goAML), for the console's CTR and STR XML
    # (docs/risk-reports.md); '' until the operator registers: CSV only.
    goaml_entity: str = Field(
        "", max_length=32, pattern=r"^[A-Za-z0-9-]*$", description="the goAML reporting entity id"
    )
    screening_list: str = Field(
        "sample",
        description="the sanctions/PEP list new parties are screened against: sample (a"
        " fictional list), a file (CSV or the UN consolidated XML), or empty for none",
    )
    simswap_provider: Literal["none", "sim_cards", "camara"] = Field(
        "sim_cards",
        description="where rule R6 learns of SIM swaps: none; the SIM-toolkit cards' own swaps;"
        " or an operator's CAMARA SIM Swap API (docs/risk-simswap.md)",
    )
    simswap_url: str = Field("", description="CAMARA: the API root with its version path")
    simswap_token_url: str = Field("", description="CAMARA: the OAuth2 token endpoint")
    simswap_client_id: str = Field(
        "", description="CAMARA: the OAuth2 client id (its secret: keys_dir/camara-client-secret)"
    )
    simswap_timeout_s: float = Field(3.0, gt=0, le=30, description="CAMARA: per call")
    workers: int = Field(64, ge=1, le=4096, description="requests decided concurrently")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    request_timeout_s: float = Field(30.0, gt=0, le=600)
    # How long a dynamic payment code the app shows can be paid (docs/app.md).
    app_code_life_s: int = Field(300, ge=1, le=86_400)
    # On a NATS bus: a request a TranProc took and did not answer (it died or hung) is
    # offered again after this long (docs/operations.md, "Bus timings").
    bus_redelivery_s: float = Field(
        3.0, ge=0.5, le=60, description="JetStream redelivers a dead TranProc's requests after"
    )
    # PostgreSQL: the core's ledger writer holds a lease (ledger/store/lease.py) and a
    # standby core takes it over once it has gone this long unrenewed (mkoba/standby.py).
    lease_s: float = Field(
        5.0, ge=1, le=60, description="the ledger writer's lease on PostgreSQL (standby takeover)"
    )
    # A standby core loads the ledger and the directory while it waits and follows the
    # active core's commits (mkoba/warmup.py); off: it loads them only once it holds the
    # lease (minutes on a large ledger; kept to measure the difference).
    standby_warm: bool = Field(True, description="a standby core keeps the ledger loaded")
    # USSD channel (channels/ussd): session life, idle time, the gateway's response timeout.
    ussd_session_s: float = Field(180.0, gt=0, le=3600, description="USSD session life")
    ussd_idle_s: float = Field(60.0, gt=0, le=600, description="USSD wait for the user's input")
    ussd_response_s: float = Field(
        15.0, gt=0, le=120, description="how long the USSD gateway waits for our answer"
    )
    ussd_menus_dir: Path | None = Field(
        None, description="extra USSD menu definitions (new versions roll out from here)"
    )
    # The USSD gateway's credential (docs/ussd.md). Set: every hop must carry one of them.
    # Unset: the endpoint is open with demo data and closed without (it trusts phoneNumber).
    ussd_gateway_secret: SecretStr | None = Field(
        None, description="shared secret the USSD gateway sends as X-Gateway-Secret", repr=False
    )
    ussd_gateway_basic: SecretStr | None = Field(
        None, description="user:password the USSD gateway sends as HTTP Basic", repr=False
    )
    # SMS channel (channels/sms): SMPP to an SMSC; unset keeps the in-memory SMSC.
    smpp: str | None = Field(
        None,
        description="smpp://system_id:password@host:port (bind_transceiver)",
        repr=False,  # it holds the SMSC password
    )
    smpp_window: int = Field(10, ge=1, le=1000, description="submit_sm awaiting a response")
    smpp_tps_max: int = Field(0, ge=0, le=100_000, description="submit_sm per second, 0 = free")
    sms_sender: str = Field("MPESA", min_length=1, max_length=11, description="SMS sender id")
    sms_reversal_number: str = Field("456", description="where customers forward SMS to reverse")
    # Daraja channel (channels/daraja, docs/daraja.md).
    daraja_sandbox: bool = Field(
        True, description="sandbox conventions: C2B simulate, STK auto-answer for test numbers"
    )
    daraja_sandbox_msisdns: str = Field(
        "254708374149", description="comma-separated patterns the sandbox may act for"
    )
    daraja_sandbox_pin: str = Field(
        "1357", min_length=4, max_length=6, repr=False, description="PIN the sandbox answers with"
    )
    daraja_auto_answer: Literal[
        "approve", "cancel", "unreachable", "wrong_pin", "ignore", "off"
    ] = Field("approve", description="what a simulated customer does with an STK prompt")
    daraja_auto_rules: str = Field(
        "1032=cancel,1037=unreachable,2001=wrong_pin",
        description="AMOUNT=ACTION exceptions to daraja_auto_answer (amount in whole KES)",
    )
    daraja_auto_answer_s: float = Field(1.0, ge=0, le=600, description="auto-answer delay")
    daraja_credentials: Literal["lenient", "strict"] = Field(
        "lenient", description="SecurityCredential: accept any, or decrypt with mkoba's key"
    )
    daraja_stk_timeout_s: float = Field(60.0, gt=0, le=600, description="STK prompt life (1037)")
    daraja_validation_timeout_s: float = Field(
        8.0, gt=0, le=60, description="wait for a C2B ValidationURL before its default action"
    )
    daraja_callback_timeout_s: float = Field(5.0, gt=0, le=120, description="callback POST")
    daraja_callback_attempts: int = Field(
        6, ge=1, le=6, description="tries per callback (1: Daraja's single attempt)"
    )
    daraja_queue_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="QueueTimeOutURL when a result takes longer"
    )
    daraja_token_ttl_s: int = Field(3600, ge=60, le=86400, description="OAuth token life")
    # Email (mkoba/mail): one-time codes and customers' full statements. No SMTP host (the
    # embedded default): every mail is written as an .eml file to ``mail_dir`` instead.
    smtp_host: str | None = Field(None, description="SMTP server; unset: mails go to mail_dir")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="STARTTLS, TLS from the start (465), or none (a local relay)"
    )
    smtp_user: str | None = Field(None, description="SMTP login (unset: none)")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_timeout_s: float = Field(30.0, gt=0, le=600, description="SMTP connection timeout")
    mail_from: str = Field(
        "M-PESA <statements@mkoba.invalid>", max_length=254, description="the mails' sender"
    )
    mail_dir: Path = Field(Path("var/mail"), description="mails as .eml files, with no SMTP")

    @field_validator("db")
    @classmethod
    def _db(cls, value: str) -> str:
        if "://" in value and not value.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise ValueError("use a file path, sqlite:///path or postgresql://...")
        return value

    @field_validator("smpp")
    @classmethod
    def _smpp(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme != "smpp" or not parts.hostname or not parts.port or not parts.username:
            raise ValueError("use smpp://system_id:password@host:port")
        return value

    @field_validator("ussd_gateway_secret", "ussd_gateway_basic", mode="before")
    @classmethod
    def _gateway_credential(cls, value: object, info: ValidationInfo) -> object:
        # Never echo the value: these messages are printed at start.
        if value is None or value == "":
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        secret = text
        if info.field_name == "ussd_gateway_basic":
            user, colon, secret = text.partition(":")
            if not colon or not user:
                raise ValueError("use user:password")
        if len(secret) < gateway_secret_chars_min:
            raise ValueError(f"use at least {gateway_secret_chars_min} characters of secret")
        return text

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from email.utils import parseaddr

        _, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError("use an address, or a name and an address: Name <name@example.com>")
        return value

    @field_validator("bus")
    @classmethod
    def _bus(cls, value: str) -> str:
        if value != "memory":
            from mkoba.bus import parse_nats_url

            parse_nats_url(value)
        return value

    @model_validator(mode="after")
    def _role(self) -> Settings:
        if self.role != "all" and self.bus == "memory":
            raise ValueError(f"role {self.role} needs a NATS bus: --bus nats://host:port[/prefix]")
        if self.app_validator == "apart" and self.role == "all":
            raise ValueError("MKOBA_APP_VALIDATOR=apart is for the split form (role core/front)")
        if self.role == "validator" and self.app_validator != "apart":
            raise ValueError(
                "role validator needs MKOBA_APP_VALIDATOR=apart (on the core and fronts too)"
            )
        if self.bus_redelivery_s * 2 > self.request_timeout_s:
            raise ValueError(
                "MKOBA_BUS_REDELIVERY_S must be at most half of MKOBA_REQUEST_TIMEOUT_S:"
                " a request a dead core held must come back while its channel still waits"
            )
        if self.console_port == self.port:
            raise ValueError(
                "MKOBA_CONSOLE_PORT must differ from MKOBA_PORT: the console listens apart"
            )
        return self


class SettingsError(ValueError):
    """Settings that cannot run, with one line per problem."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI flags (``overrides``) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            where = "_".join(str(part) for part in problem["loc"]).upper()
            lines.append(f"{'MKOBA_' + where if where else 'settings'}: {problem['msg']}")
        raise SettingsError("\n".join(lines)) from None
