"""Docs you can check: every command of ``context-course`` has help with an example."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from context_course.cli import app, main
from context_course.cli.app import COMMANDS as LAZY_TABLE
from context_course.cli.app import load_all_commands


def _commands() -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in sorted(subcommands.items()):
                walk(sub, [*path, name])
        else:
            found.append((path, command))

    load_all_commands()
    walk(typer.main.get_command(app), [])
    return found


COMMANDS = _commands()


def test_the_cli_has_the_commands_of_both_journeys() -> None:
    names = {path[0] for path, _ in COMMANDS}
    assert {
        "lab", "check", "progress", "submit", "demo", "grade", "report", "certify",
        "verify", "revoke", "release", "roster", "keys", "run", "serve", "cluster", "tour",
        "init",
    } <= names  # fmt: skip


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Example" in text, f"`context-course {' '.join(path)} --help` shows no example"


def test_the_lazy_command_table_lists_every_command_with_its_own_help() -> None:
    """``--help`` lists commands from COMMANDS without importing them: it must not drift."""
    load_all_commands()
    group = typer.main.get_command(app)
    real = {
        name: (
            command.callback.__module__ if command.callback else "",
            command.get_short_help_str(200),
        )
        for name, command in group.commands.items()  # type: ignore[attr-defined]
    }
    assert set(real) == set(LAZY_TABLE)
    for name, (module, short_help) in LAZY_TABLE.items():
        assert real[name][1] == short_help, name
        if real[name][0]:  # a group (keys, roster, cluster) has no callback module
            assert real[name][0] == module, name
