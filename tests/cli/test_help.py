"""Every command's ``--help`` works: a new user's first step must not crash."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from mkoba.cli import app


def _paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command and group under ``command`` (itself included)."""
    found = [path]
    # Typer builds on its own copy of click: a group is whatever has sub-commands.
    subcommands: dict[str, object] = getattr(command, "commands", {})
    for name, sub in subcommands.items():
        found.extend(_paths(sub, (*path, name)))
    return found


PATHS = _paths(typer.main.get_command(app))


def test_the_tree_is_walked() -> None:
    """The walk reaches the nested groups, not only the top level."""
    assert ("serve",) in PATHS
    assert ("bench", "processor") in PATHS
    assert any(len(path) == 3 and path[:2] == ("daraja", "apps") for path in PATHS)
    assert len(PATHS) > 20


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "mkoba")
def test_help_of_every_command(path: tuple[str, ...]) -> None:
    """``mkoba ... --help`` exits 0 and shows the usage line of that command."""
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "Usage: mkoba" in result.output
    assert " ".join(("mkoba", *path)) in result.output


@pytest.mark.parametrize("path", [("serve",), ("bench", "processor")])
def test_help_shows_brackets_as_written(path: tuple[str, ...]) -> None:
    """A URL's optional part in square brackets reaches the reader as written."""
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "nats://host:port[/prefix]" in result.output
