"""The channels' own ``mkoba`` commands: part of the composition root, as ``app.py`` is.

Only the composition root imports channels; the command line reaches their
commands (``daraja``, ``staff``, ``app``, ``sims``) through here.
"""

from __future__ import annotations

import typer


def channel_commands() -> list[tuple[str, typer.Typer]]:
    """The channels' own commands for ``mkoba``: ``daraja``, ``staff``, ``app``, ``sims``."""
    from mkoba.channels.api.staff_cli import staff_app
    from mkoba.channels.app.cli import app_app
    from mkoba.channels.daraja.cli import daraja_app
    from mkoba.channels.sim.cli import sims_app
    from mkoba.staff.cli import add_commands

    if not any(command.name == "create" for command in staff_app.registered_commands):
        add_commands(staff_app)  # staff accounts: create, list, totp
    return [("daraja", daraja_app), ("staff", staff_app), ("app", app_app), ("sims", sims_app)]
