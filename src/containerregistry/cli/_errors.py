"""How `creg` reports failure: `CliError` (one line, status 1), `Interrupted` (status 130), `fail`, and
`describe_error`, the one line that says what a library or OS error means (with a hint where one helps).

Stdout carries data only: every message here goes to stderr.
"""

from __future__ import annotations

import re
from typing import IO, Any, NoReturn

import click

from ..exceptions import HttpResponseError

__all__ = ["CliError", "Interrupted", "describe_error", "fail", "lacks_acr_api"]


class CliError(click.ClickException):
    """An error worth one line on stderr and exit status 1 (not a usage error)."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class Interrupted(click.ClickException):
    """Ctrl-C (SIGINT): stop, say what was left behind, exit status 130 (128 + SIGINT) as shells expect."""

    exit_code = 130

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"interrupted: {self.format_message()}", err=True, file=file)


def describe_error(exc: BaseException) -> str:
    """One line that says what failed, for errors the library or the OS raise on purpose."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    elif isinstance(exc, HttpResponseError) and not str(exc):
        text = f"the registry answered {exc.status_code}"
    else:
        text = str(exc) or type(exc).__name__
    if "connection refused" in text and any(h in text for h in ("127.0.0.1", "localhost", "[::1]")):
        text += " -- start the local emulator with: creg serve"
    if lacks_acr_api(exc):
        text += (
            " -- this registry has no ACR metadata API (CNCF Distribution and most OCI registries do not):"
            " tag/manifest properties, locks, manifest ls and prune need it; tag ls, tag show, repo ls,"
            " blob/manifest get/put/rm and push/pull/copy work on any OCI registry"
        )
    return re.sub(r"\s+", " ", text).strip()


def lacks_acr_api(exc: BaseException) -> bool:
    """Whether `exc` says the registry has no ACR metadata API (`/acr/v1/...` answered a bare 404).

    ACR (and the emulator) answer a 404 of a missing tag or repository with an OCI error body; a bare
    404 means the API itself is missing.
    """
    return (
        isinstance(exc, HttpResponseError)
        and exc.status_code == 404
        and not exc.errors
        and "/acr/v1/" in exc.url
    )


def fail(message: str) -> NoReturn:
    """Stop with `error: message` and exit status 1."""
    raise CliError(message)
