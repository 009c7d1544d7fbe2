"""Commands registered by name (cli/_lazy.py): `--help` lists each one exactly as click would with it loaded."""

from __future__ import annotations

import os
import subprocess

import click
import pytest

from containerregistry.cli import cli
from containerregistry.cli._lazy import LazyGroup
from containerregistry.cli._tag import tag

from .conftest import CREG

LAZY_GROUPS = {(): cli, ("tag",): tag}


def _entries() -> list[tuple[str, str, str]]:
    return [
        (" ".join(path), name, entry.summary)
        for path, group in LAZY_GROUPS.items()
        for name, entry in group.lazy_commands.items()
    ]


def test_the_groups_are_lazy() -> None:
    assert all(isinstance(group, LazyGroup) for group in LAZY_GROUPS.values())
    assert len(cli.lazy_commands) == 18 and set(tag.lazy_commands) == {"add"}


@pytest.mark.parametrize(("group", "name", "summary"), _entries(), ids=lambda v: v if len(v) < 20 else "")
def test_each_summary_is_the_commands_own_help(group: str, name: str, summary: str) -> None:
    owner = LAZY_GROUPS[tuple(group.split())]
    command = owner.get_command(click.Context(owner), name)
    assert command is not None and command.name == name
    assert not command.hidden and not command.deprecated and not command.short_help
    stand_in = click.Command(name, help=summary)
    for limit in range(10, 160):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), limit


def _commands_section(text: str) -> str:
    return text.split("\nCommands:\n", 1)[1]


@pytest.mark.parametrize("columns", ["60", "80", "200"])
@pytest.mark.parametrize("path", list(LAZY_GROUPS), ids=lambda p: " ".join(p) or "creg")
def test_help_lists_every_command_as_click_does(
    path: tuple[str, ...], columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh `creg --help`: nothing loaded, every line from the registered summaries.
    done = subprocess.run(
        [*CREG, *path, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": columns},
    )
    assert done.returncode == 0, done.stderr
    # The same section as click's own Group.format_commands writes it with every command loaded.
    monkeypatch.setenv("COLUMNS", columns)
    group = LAZY_GROUPS[path]
    parent = click.Context(cli, info_name="creg", max_content_width=100)
    ctx = click.Context(group, info_name=path[-1] if path else "creg", parent=parent, max_content_width=100)
    names = group.list_commands(ctx)
    for name in names:
        group.get_command(ctx, name)
    formatter = ctx.make_formatter()
    click.Group.format_commands(group, ctx, formatter)
    expected = _commands_section("\n" + formatter.getvalue())
    assert _commands_section(done.stdout) == expected
    listed = [line.split()[0] for line in expected.splitlines() if line.startswith("  ") and line.strip()]
    assert listed == names


def test_a_lazy_command_loads_when_used() -> None:
    done = subprocess.run(
        [*CREG, "tag", "add", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Add TAGS to the manifest SOURCE names" in done.stdout
    unknown = subprocess.run([*CREG, "nosuch"], capture_output=True, text=True, timeout=60, check=False)
    assert unknown.returncode == 2 and "No such command 'nosuch'" in unknown.stderr
