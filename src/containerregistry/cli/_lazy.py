"""Command registration without imports: a click group whose subcommands load when they are used.

`creg --help` lists every command with its one-line summary; importing each command's module for that
would load the HTTP stack, rich and the image engines. A `LazyGroup` holds, per subcommand, where it
lives (`module:attribute`) and its summary (the first paragraph of its help, as click shortens it), and
imports the module only when the subcommand is looked up to run, to show its own help or to complete it.
tests/cli/test_lazy_commands.py keeps each summary equal to the command's own help.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["LazyCommand", "LazyGroup"]


class LazyCommand:
    """Where a subcommand lives, and what `--help` of its group says of it without loading it.

    Attributes:
        target: `package.module:attribute` of the click command.
        summary: the first paragraph of the command's help (click shortens it to the terminal's width).
    """

    __slots__ = ("summary", "target")

    def __init__(self, target: str, summary: str) -> None:
        # A plain class, not a dataclass: building a dataclass costs more at import than this whole module.
        self.target = target
        self.summary = summary

    def __repr__(self) -> str:
        return f"LazyCommand({self.target!r})"

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose subcommands given as `lazy_commands` load on first lookup.

    Args:
        lazy_commands: subcommand name -> `LazyCommand`; other subcommands are added as usual.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def add_lazy_command(self, name: str, target: str, summary: str) -> None:
        """Register `name` as the command at `target` (`module:attribute`), loaded when used."""
        self.lazy_commands[name] = LazyCommand(target, summary)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self.lazy_commands[cmd_name].load()
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The `Commands:` section, as click writes it, from the summaries of commands not loaded yet."""
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:
                # Stands in for the real command: the same summary, shortened the same way.
                command = click.Command(name, help=self.lazy_commands[name].summary)
            if not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with formatter.section("Commands"):
                formatter.write_dl(rows)
