"""The `creg` root group: global options, the context that builds clients, error handling, output.

Global options become client options in exactly one place, `AppContext`: every command asks it for
clients (`registry_client`, `content_client`) and references (`reference`, `location`), so a new
option (a CA bundle, `--insecure`) reaches every command at once.

Stdout carries data only (tables or JSON); logs, progress and messages go to stderr. Errors the
library raises on purpose become a one-line `error: ...` and exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import io
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from ..exceptions import HttpResponseError, RegistryError
from ._lazy import LazyGroup

if TYPE_CHECKING:
    import logging

    from rich.console import Console

    from ..auth import Credential
    from ..protocol.reference import Reference

# Imported where used, not here: `creg --help` loads this module and needs none of them (tests/tooling/
# test_lazy_imports.py). `.._common` and `..auth` import httpx, `..protocol.reference` compiles its
# grammar; rich and urllib3 load when output or --insecure needs them.

__all__ = [
    "DEFAULT_REGISTRY",
    "OUTPUT_FORMATS",
    "AppContext",
    "CliError",
    "CregGroup",
    "Interrupted",
    "ResolvedRef",
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

#: `-o` values: `plain` and `tsv` are for scripts (tab-separated fields, one record a line, no padding).
OUTPUT_FORMATS = ("table", "json", "plain", "tsv")

#: Where commands go without `--registry`: the local emulator (`creg serve`).
DEFAULT_REGISTRY = "http://127.0.0.1:5000"


def _logger() -> logging.Logger:
    import logging  # only when there is something to log: `creg --help` has not

    return logging.getLogger("containerregistry.cli")


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


def _silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (click's CliRunner): nothing will flush it to a closed pipe


def _options_by_name(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _takes_value(option: click.Option) -> bool:
    return not option.is_flag and not option.count


def _split(token: str, options: Mapping[str, click.Option]) -> tuple[str, str | None] | None:
    """`(name, inline value)` when `token` is one of `options` (`--output=json`, `-ojson`, `-o`)."""
    if token.startswith("--"):
        name, sep, value = token.partition("=")
        return (name, value if sep else None) if name in options else None
    if token.startswith("-") and len(token) >= 2:
        name = token[:2]
        if name not in options:
            return None
        return (name, token[2:] or None) if _takes_value(options[name]) else (name, None)
    return None


def _is_flag_cluster(token: str, options: Mapping[str, click.Option]) -> bool:
    """`-vv`: a cluster of one-letter flags, each one of `options`."""
    if not token.startswith("-") or token.startswith("--") or len(token) < 3:
        return False
    return all(f"-{c}" in options and not _takes_value(options[f"-{c}"]) for c in token[1:])


def hoist_global_options(root: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """Move the root group's options found after the subcommand to before it, as crane, oras and az
    allow (`creg tag ls app -o json`). An option the subcommand itself defines stays its own (`login -u`);
    everything after `--` is left alone, and so are commands that pass their arguments through (`serve`)."""
    globals_ = _options_by_name(root)
    i, n = 0, len(args)
    while i < n and args[i].startswith("-") and args[i] not in ("-", "--"):
        split = _split(args[i], globals_)
        i += 2 if split and split[1] is None and _takes_value(globals_[split[0]]) else 1
    command: click.Command = root
    j = i
    while isinstance(command, click.Group) and j < n and not args[j].startswith("-"):
        sub = command.get_command(ctx, args[j])
        if sub is None:
            return args
        command, j = sub, j + 1
    if command is root or command.context_settings.get("ignore_unknown_options"):
        return args
    own = _options_by_name(command)
    moved: list[str] = []
    rest: list[str] = []
    k = j
    while k < n:
        token = args[k]
        if token == "--":
            rest += args[k:]
            break
        mine = _split(token, own)
        if mine is not None:
            step = 2 if mine[1] is None and _takes_value(own[mine[0]]) else 1
            rest += args[k : k + step]
            k += step
            continue
        theirs = _split(token, globals_)
        if theirs is not None or (_is_flag_cluster(token, globals_) and not _is_flag_cluster(token, own)):
            step = 2 if theirs and theirs[1] is None and _takes_value(globals_[theirs[0]]) else 1
            moved += args[k : k + step]
            k += step
            continue
        rest.append(token)
        k += 1
    return [*args[:i], *moved, *args[i:j], *rest]


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


@dataclass(frozen=True)
class ResolvedRef:
    """A reference given on the command line, resolved against `--registry`.

    Attributes:
        endpoint: `scheme://host[:port]` of the registry to talk to, or `host[:port]` when no scheme
            was given (the client then tries https, and http for loopback and `--insecure` registries).
        repository, tag, digest: the parts of the reference.
    """

    endpoint: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def identifier(self) -> str | None:
        """The digest if given (it wins), else the tag."""
        return self.digest or self.tag

    def __str__(self) -> str:
        from .._common import login_server_of

        text = f"{login_server_of(self.endpoint)}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass
class AppContext:
    """The global options, and the one place that turns them into clients.

    Attributes:
        registry: `--registry`, the registry references without a host are relative to.
        output: `table`, `json`, `plain` or `tsv` (see `OUTPUT_FORMATS`).
        insecure: allow credentials over plain http and skip TLS verification.
        username, password: explicit credentials (`--username` + `--password-stdin`).
        anonymous: send no credentials at all.
        ca_cert: a CA bundle to verify TLS with.
        verbose: 0, 1 (INFO) or 2+ (DEBUG).
        trusted_token_hosts: `--trust-token-host`: token servers outside a registry's host and domain
            that may receive its credentials.
    """

    registry: str = DEFAULT_REGISTRY
    output: str = "table"
    insecure: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    anonymous: bool = False
    ca_cert: str | None = None
    verbose: int = 0
    trusted_token_hosts: tuple[str, ...] = ()

    @property
    def endpoint(self) -> str:
        """`--registry` as `scheme://host[:port]`, or `host[:port]` when it names no scheme (probed)."""
        from .._common import registry_endpoint

        return registry_endpoint(self.registry)

    @property
    def login_server(self) -> str:
        from .._common import login_server_of

        return login_server_of(self.endpoint)

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def plain(self) -> bool:
        """`-o plain` or `-o tsv`: tab-separated lines for scripts (`tsv` with a header line)."""
        return self.output in ("plain", "tsv")

    @property
    def credential(self) -> Credential | None:
        """Explicit credentials if given, none with `--anonymous`, else the docker config's."""
        from ..auth import BasicCredential, DockerConfigCredential

        if self.anonymous:
            return None
        if self.username is not None:
            return BasicCredential(self.username, self.password or "")
        return DockerConfigCredential()

    @property
    def verify(self) -> bool | str:
        if self.ca_cert:
            return self.ca_cert
        return not self.insecure

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every client of this command is built with."""
        return {
            "verify": self.verify,
            "insecure": self.insecure,
            "trusted_token_hosts": self.trusted_token_hosts,
        }

    def endpoint_for(self, registry: str | None) -> str:
        """The endpoint of `registry` (`host[:port]`): `--registry`'s own when it names that host."""
        if not registry or registry == self.login_server:
            return self.endpoint
        from .._common import registry_endpoint

        return registry_endpoint(registry)

    def reference(
        self,
        text: str,
        *,
        allow_tag: bool = True,
        allow_digest: bool = True,
        require: str | None = None,
    ) -> ResolvedRef:
        """Parse `repo[:tag|@digest]` (relative to `--registry`) or `host/repo...` (its host is the registry).

        Args:
            require: `tag`, `digest` or `identifier` (either) when the command needs one.

        Raises:
            click.BadParameter: the reference is malformed or lacks/has parts the command does not take.
        """
        from ..protocol.reference import parse_reference

        try:
            # Relative to --registry: on Docker Hub `alpine` is `library/alpine`.
            parsed: Reference = parse_reference(text, default_registry=self.login_server)
        except ValueError as exc:
            raise click.BadParameter(describe_error(exc)) from exc
        if parsed.tag and not allow_tag:
            raise click.BadParameter(f"{text!r}: this command takes no tag")
        if parsed.digest and not allow_digest:
            raise click.BadParameter(f"{text!r}: this command takes no digest")
        if require == "tag" and not parsed.tag:
            raise click.BadParameter(f"{text!r}: give a tag (repo:tag)")
        if require == "digest" and not parsed.digest:
            raise click.BadParameter(f"{text!r}: give a digest (repo@sha256:...)")
        if require == "identifier" and not (parsed.tag or parsed.digest):
            raise click.BadParameter(f"{text!r}: give a tag or a digest (repo:tag or repo@sha256:...)")
        return ResolvedRef(self.endpoint_for(parsed.registry), parsed.repository, parsed.tag, parsed.digest)

    def registry_client(self, endpoint: str | None = None) -> Any:
        """A `ContainerRegistryClient` for `endpoint` (default `--registry`) with the global options."""
        from .._sync import ContainerRegistryClient

        return ContainerRegistryClient(endpoint or self.endpoint, self.credential, **self.client_options())

    def content_client(self, ref: ResolvedRef) -> Any:
        """A `ContainerRegistryContentClient` for the repository of `ref`."""
        from .._sync import ContainerRegistryContentClient

        return ContainerRegistryContentClient(
            ref.endpoint, ref.repository, self.credential, **self.client_options()
        )


pass_app = click.make_pass_decorator(AppContext)


# -- output --------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


def _plain_cell(value: Any) -> str:
    """A field of `-o plain`/`tsv`: no tab or line break inside (they separate fields and records);
    times in ISO 8601."""
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
    elif isinstance(value, (list, tuple)):
        text = ",".join(_plain_cell(v) for v in value)
    else:
        text = _cell(value)
    return re.sub(r"[\t\r\n]+", " ", text)


def _stdout_console() -> Console:
    # Resolved per call so click's CliRunner (which swaps sys.stdout) captures the output. Not a
    # terminal: a wide console, so digests are never cut or wrapped mid-way in pipes. Cells are data
    # (labels, annotations, file names): printed as they are, never read as rich markup (`[beta]` would
    # vanish) or emoji codes (`:smile:`); that also spares loading rich's emoji table.
    from rich.console import Console

    out = sys.stdout
    wide = None if out.isatty() else 4096
    return Console(file=out, width=wide, highlight=False, soft_wrap=False, markup=False, emoji=False)


def stderr_console() -> Console:
    """A console on stderr (messages, steps, progress)."""
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False)


def emit(app: AppContext, data: Any, *, text: str | None = None) -> None:
    """Print a value: JSON with `-o json`, else `text` (or the value itself) as a line."""
    if app.json:
        click.echo(json.dumps(_jsonable(data), indent=2))
    else:
        click.echo(text if text is not None else _cell(data))


def report(app: AppContext, data: Any, message: str) -> None:
    """The outcome of an action: JSON on stdout with `-o json`, else a message on stderr."""
    if app.json:
        click.echo(json.dumps(_jsonable(data), indent=2))
    else:
        click.echo(message, err=True)


def emit_record(app: AppContext, record: Any, *, title: str | None = None) -> None:
    """Print one object: JSON, or a two-column table of its fields."""
    data = _jsonable(record)
    if app.json:
        click.echo(json.dumps(data, indent=2))
        return
    if app.plain:
        fields_ = (
            {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
            if dataclasses.is_dataclass(record) and not isinstance(record, type)
            else dict(record)
        )
        for name, value in fields_.items():
            if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
                value = [json.dumps(_jsonable(v), separators=(",", ":")) for v in value]
            click.echo(f"{name}\t{_plain_cell(value)}")
        return
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = (
        {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        if dataclasses.is_dataclass(record) and not isinstance(record, type)
        else dict(record)
    )
    for name, value in fields.items():
        if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            value = [json.dumps(_jsonable(v), separators=(",", ":")) for v in value]
        table.add_row(name, _cell(value))
    _stdout_console().print(table)


def emit_records(
    app: AppContext,
    records: Iterable[Any],
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    *,
    title: str | None = None,
) -> list[Any]:
    """Print a list: JSON (every field of every item), or a rich table of `columns`.

    Returns:
        The items, so callers can act on them (the listing is consumed once).
    """
    items = list(records)
    if app.json:
        click.echo(json.dumps([_jsonable(item) for item in items], indent=2))
        return items
    if app.plain:
        if app.output == "tsv":
            click.echo("\t".join(_plain_cell(header) for header, _ in columns))
        for item in items:
            click.echo("\t".join(_plain_cell(getter(item)) for _, getter in columns))
        return items
    from rich.table import Table

    rows = [[_cell(getter(item)) for _, getter in columns] for item in items]
    table = Table(title=title)
    for index, (header, _) in enumerate(columns):
        # A digest is copied and pasted: never folded over two lines, even on a narrow terminal.
        digests = [len(row[index]) for row in rows if _DIGEST_RE.match(row[index])]
        if digests:
            table.add_column(header, no_wrap=True, min_width=max(digests))
        else:
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    _stdout_console().print(table)
    return items


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


def fail(message: str) -> NoReturn:
    """Stop with `error: message` and exit status 1."""
    raise CliError(message)


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
