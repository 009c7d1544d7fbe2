"""`creg serve`: the emulator, with exactly the options of `python -m containerregistry.emulator`.

The options are not redeclared here: the arguments pass through to the emulator's own `main(argv)`,
and the help appends its argparse help, so the two entry points cannot drift apart.
"""

from __future__ import annotations

import argparse

import click

__all__ = ["serve"]


def _emulator_help() -> str:
    from ..emulator.__main__ import build_parser

    parser = build_parser(argparse.ArgumentParser(prog="creg serve", add_help=False))
    return parser.format_help()


class _ServeCommand(click.Command):
    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help(ctx, formatter)
        formatter.write("\nEmulator options (from python -m containerregistry.emulator):\n\n")
        formatter.write(_emulator_help())


@click.command(
    "serve",
    cls=_ServeCommand,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("emulator_args", nargs=-1, type=click.UNPROCESSED)
def serve(emulator_args: tuple[str, ...]) -> None:
    """Run the local registry emulator until interrupted (Ctrl-C).

    Listens on 127.0.0.1:5000 by default, the registry creg uses when --registry is not given.
    All options are the emulator's (listed below). Give users in a file of password hashes
    (--users-file) or in $CREG_SERVE_USERS, not with --user: command lines are visible to every
    local user in the process list.

    \b
    Example:
      creg serve --port 5000 --data ./registry-data
      echo "admin:$(creg serve --hash-password < password.txt)" > users.htpasswd
      creg serve --users-file users.htpasswd --anonymous-pull --tls-self-signed
    """
    from ..emulator.__main__ import main as emulator_main

    code = emulator_main(list(emulator_args), prog="creg serve")
    if code:
        raise SystemExit(code)
