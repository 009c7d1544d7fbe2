"""Every command has --help with an example; bad usage exits 2."""

from __future__ import annotations

import click
import pytest

from containerregistry.cli import cli

from .conftest import run_cli, run_creg


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Through click's lookup, not `group.commands`: commands are registered lazily (cli/_lazy.py).
    ctx = click.Context(group)
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, (*prefix, name)))
    return paths


COMMANDS = _command_paths(cli)


def test_every_documented_command_exists() -> None:
    expected = {
        ("serve",), ("login",), ("logout",), ("push",), ("pull",), ("copy",), ("referrers",), ("prune",), ("demo",),
        ("repo", "ls"), ("repo", "show"), ("repo", "update"), ("repo", "rm"),
        ("tag", "ls"), ("tag", "show"), ("tag", "update"), ("tag", "rm"),
        ("manifest", "ls"), ("manifest", "get"), ("manifest", "put"), ("manifest", "update"), ("manifest", "rm"),
        ("blob", "push"), ("blob", "pull"), ("blob", "rm"), ("blob", "exists"),
    }  # fmt: skip
    assert expected <= set(COMMANDS)


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "creg")
def test_help_shows_an_example(path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    # `\b` blocks keep the example's lines apart instead of rewrapping them into one paragraph.
    example = result.stdout.split("Example:", 1)[1].splitlines()
    assert (
        len([line for line in example if line.startswith("    creg") or line.startswith("      creg")]) >= 1
    )


def test_serve_help_lists_the_emulator_options() -> None:
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    for option in ("--port", "--data", "--user", "--anonymous-pull", "--tls-self-signed"):
        assert option in result.stdout


def test_help_as_a_subprocess() -> None:
    done = run_creg("tag", "update", "--help")
    assert done.returncode == 0
    assert b"Example:" in done.stdout and b"--no-write" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("nosuchcommand",),
        ("tag", "show"),  # missing argument
        ("-o", "yaml", "repo", "ls"),  # bad choice
        ("tag", "update", "app:v1"),  # nothing to update
        ("tag", "show", "app"),  # no tag given
        ("blob", "exists", "app:v1"),  # a blob needs a digest
        ("prune", "app", "--keep", "3", "--older-than", "soon"),
        ("--username", "me", "repo", "ls"),  # a password may only come from stdin
        ("manifest", "get", "Not A Reference"),
    ],
)
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_bad_usage_exits_2_as_a_subprocess() -> None:
    done = run_creg("tag", "ls")
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr and done.stdout == b""


def test_serve_rejects_unknown_options_with_2() -> None:
    done = run_creg("serve", "--no-such-option", timeout=30)
    assert done.returncode == 2
    assert b"--no-such-option" in done.stderr
