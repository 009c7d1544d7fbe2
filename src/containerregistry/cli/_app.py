"""The `creg` root group: its global options, `CregGroup` (errors become one line, global options may
follow the command), logging, and the lock options the update commands share.

The pieces it is built from have modules of their own: `_context.py` (`AppContext`, the global options
as one value that builds clients), `_output.py` (tables, JSON, tab-separated lines), `_errors.py` (how
failures are shown) and `_hoist.py` (global options after the command). Their public names are
re-exported here, where the commands import them from.

Stdout carries data only (tables or JSON); logs, progress and messages go to stderr. Errors the
library raises on purpose become a one-line `error: ...` and exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from ..exceptions import RegistryError
from ._context import DEFAULT_REGISTRY, OUTPUT_FORMATS, AppContext, pass_app
from ._errors import CliError, Interrupted, describe_error, fail, lacks_acr_api
from ._hoist import hoist_global_options
from ._lazy import LazyGroup
from ._output import emit, emit_record, emit_records, report, stderr_console

if TYPE_CHECKING:
    import logging

# Heavy modules are imported where used, not here: `creg --help` loads this module and needs none of
# them (tests/tooling/test_lazy_imports.py). urllib3 loads when --insecure needs it.

__all__ = [
    "DEFAULT_REGISTRY",
    "OUTPUT_FORMATS",
    "AppContext",
    "CliError",
    "CregGroup",
    "Interrupted",
    "cli",
    "describe_error",
    "emit",
    "fail",
    "lacks_acr_api",
    "emit_record",
    "emit_records",
    "lock_options",
    "lock_values",
    "pass_app",
    "report",
    "stderr_console",
]


def _logger() -> logging.Logger:
    import logging  # only when there is something to log: `creg --help` has not

    return logging.getLogger("containerregistry.cli")


def _silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (click's CliRunner): nothing will flush it to a closed pipe


class CregGroup(LazyGroup):
    """A group that turns library and OS errors raised by any subcommand into `CliError`.

    Done in `invoke` rather than in `main` so that click's `CliRunner` (which calls the group
    directly) sees the same exit codes and messages as the console script.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_global_options(self, ctx, args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # `creg ... | head -1`: the reader has all it wanted. Quiet, and status 0 as for cat.
            _silence_stdout()
            raise click.exceptions.Exit(0) from None
        except KeyboardInterrupt as exc:
            # click would print "Aborted!" and exit 1; a shell expects 130 after Ctrl-C.
            raise Interrupted("stopped before the command completed") from exc
        except (RegistryError, OSError, ValueError) as exc:
            # The traceback is detail for -vv only; users get one line that names the failure.
            _logger().debug("command failed", exc_info=True)
            raise CliError(describe_error(exc)) from exc
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            # A bug or an error nobody anticipated: still one line (the traceback is for -vv).
            _logger().debug("command failed unexpectedly", exc_info=True)
            raise CliError(
                f"{describe_error(exc)} ({type(exc).__name__}; run with -vv for the traceback)"
            ) from exc


# -- lock options (update commands) ---------------------------------------------------------------

_LOCKS = (
    ("delete", "can_delete", "allow deleting"),
    ("write", "can_write", "allow writing (overwriting, and deleting)"),
    ("read", "can_read", "allow reading (pulls)"),
    ("list", "can_list", "allow listing"),
)


def lock_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--delete/--no-delete`, `--write/--no-write`, `--read/--no-read`, `--list/--no-list`."""
    for flag, name, helptext in reversed(_LOCKS):
        function = click.option(
            f"--{flag}/--no-{flag}", name, default=None, help=f"{helptext}; unchanged when not given"
        )(function)
    return function


def lock_values(values: Mapping[str, Any]) -> dict[str, bool]:
    """The lock options that were given (only those are sent); a usage error when none was."""
    given = {name: values[name] for _, name, _ in _LOCKS if values.get(name) is not None}
    if not given:
        raise click.UsageError(
            "nothing to update: give --delete/--no-delete, --write/--no-write, --read/--no-read or --list/--no-list"
        )
    return given


# -- root group ----------------------------------------------------------------------------------


def _configure_logging(verbose: int) -> None:
    import logging

    root = logging.getLogger()
    # Drop the handler a previous in-process invocation (CliRunner, the demo) installed: its stream
    # may be gone, and lines must not be doubled.
    for old in list(root.handlers):
        if getattr(old, "_creg", False):
            root.removeHandler(old)
            root.setLevel(logging.WARNING)
    # azure-identity logs every credential it tried as a WARNING of many lines: the error says it in one.
    logging.getLogger("azure").setLevel(logging.ERROR if verbose <= 0 else logging.NOTSET)
    if verbose <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._creg = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    # Connection-pool chatter is noise even at -vv: the library logs what it asks for.
    for noisy in ("urllib3", "asyncio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 3 else logging.DEBUG)


@click.group(
    cls=CregGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--registry",
    "-r",
    envvar="CREG_REGISTRY",
    default=DEFAULT_REGISTRY,
    show_default=True,
    metavar="URL",
    help="registry for references without a host (env CREG_REGISTRY); default: the local emulator",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="output format: a table, JSON, or for scripts plain (one record a line, fields separated by a"
    " tab, no header) or tsv (the same with a header line)",
)
@click.option("--insecure", is_flag=True, help="allow credentials over plain http and skip TLS verification")
@click.option("--username", "-u", metavar="NAME", help="user name (the password comes from --password-stdin)")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin (one line)")
@click.option("--anonymous", is_flag=True, help="send no credentials (ignore the docker config)")
@click.option(
    "--ca-cert",
    type=click.Path(exists=True, dir_okay=False),
    metavar="PATH",
    help="CA bundle to verify the registry's TLS certificate with",
)
@click.option(
    "--trust-token-host",
    "trust_token_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="a token server outside the registry's host and domain that may receive its password or "
    "refresh token (repeatable; never an Entra ID token)",
)
@click.option(
    "--verbose", "-v", count=True, help="log to stderr: -v INFO, -vv DEBUG (secrets are never logged)"
)
@click.version_option(package_name="containerregistry", prog_name="creg")
@click.pass_context
def cli(
    ctx: click.Context,
    registry: str,
    output: str,
    insecure: bool,
    username: str | None,
    password_stdin: bool,
    anonymous: bool,
    ca_cert: str | None,
    trust_token_hosts: tuple[str, ...],
    verbose: int,
) -> None:
    """creg: container registries (ACR and any OCI registry) from the terminal.

    Data goes to stdout (a table, or JSON with -o json); logs, progress and messages to stderr.
    References are repo[:tag|@digest] relative to --registry, or host[:port]/repo[:tag|@digest].
    Credentials come from the docker config (creg login / docker login) unless --username is given.
    Global options may also come after the command: creg tag ls app -o json.

    \b
    Example:
      creg serve --port 5000 &                     # a local registry
      creg push oci:./layout:v1 app:v1             # push an image from an OCI layout
      creg -o json tag ls app                      # list its tags as JSON
      echo "$PW" | creg -r myreg.azurecr.io -u me --password-stdin repo ls
    """
    from .._common import is_loopback_host, login_server_of, normalize_endpoint

    password: str | None = None
    if password_stdin:
        if username is None:
            raise click.UsageError("--password-stdin needs --username")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: stdin gave an empty password")
    elif username is not None and ctx.invoked_subcommand not in ("login",):
        raise click.UsageError(
            "--username needs --password-stdin (a --password flag would leak into the process list)"
        )
    if anonymous and username is not None:
        raise click.UsageError("--anonymous and --username exclude each other")
    try:
        normalize_endpoint(registry)
    except ValueError as exc:
        raise click.BadParameter(describe_error(exc), param_hint="--registry") from exc
    _configure_logging(verbose)
    ctx.obj = AppContext(
        registry=registry,
        output=output,
        insecure=insecure,
        username=username,
        password=password,
        anonymous=anonymous,
        ca_cert=ca_cert,
        verbose=verbose,
        trusted_token_hosts=tuple(trust_token_hosts),
    )
    if insecure:
        # The user asked for it: one INFO line with -v instead of a multi-line warning per request.
        import urllib3

        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    if insecure and not is_loopback_host(login_server_of(normalize_endpoint(registry)).rsplit(":", 1)[0]):
        _logger().info("--insecure: TLS certificates are not verified and credentials may go over plain http")
