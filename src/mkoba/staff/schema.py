"""The staff package's tables, made (and changed) once each, in order."""

from __future__ import annotations

from collections.abc import Callable

from mkoba.staff import accounts, audit, batches, closes, commands, enrolment

SCRIPTS = (
    (accounts.MIGRATION, accounts.SCHEMA),
    (accounts.PHONE_MIGRATION, accounts.PHONE_SCHEMA),
    (audit.MIGRATION, audit.SCHEMA),
    (audit.INDEXES_MIGRATION, audit.INDEXES),
    (commands.MIGRATION, commands.SCHEMA),
    (batches.MIGRATION, batches.SCHEMA),
    (closes.MIGRATION, closes.SCHEMA),
    (enrolment.MIGRATION, enrolment.SCHEMA),
)


def migrate(run: Callable[[str, str], None]) -> None:
    """Run each script not yet run (``run`` is a store's or a channel's ``migrate_script``)."""
    for name, sql in SCRIPTS:
        run(name, sql)
