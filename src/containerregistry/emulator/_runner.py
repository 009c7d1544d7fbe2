"""Run the emulator in-process: `run_emulator` (own thread and loop) and `arun_emulator` (current loop)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import ssl
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from ._app import AUTH_KEY, create_app
from ._guard import ConnectionGuard, ConnectionLimits, GuardedSite
from ._https_site import HttpsOnlySite

__all__ = ["RunningEmulator", "arun_emulator", "run_emulator", "start_site"]

# Socket read buffer per connection: large reads keep upload throughput high.
READ_BUFSIZE = 1 << 20


@dataclass
class RunningEmulator:
    """A running emulator.

    Attributes:
        endpoint: `http://127.0.0.1:PORT` (https with TLS).
        host, port: where it listens.
        login_server: `host:port`, the registry name in image references.
        data_dir: its data directory.
        ca_cert: the CA certificate clients should trust (TLS), else None.
        auth: the auth object in use.
    """

    endpoint: str
    host: str
    port: int
    login_server: str
    data_dir: Path
    ca_cert: Path | None = None
    auth: Any = field(default=None, repr=False)
    app: web.Application | None = field(default=None, repr=False)

    def mint_entra_token(self, **claims: Any) -> str:
        """An Entra ID-like token this emulator trusts (token mode with an Entra secret only).

        Keyword arguments go to `containerregistry.emulator.auth.mint_entra_token` (`audience`,
        `subject`, `ttl`, `tenant`, `claims`).

        Raises:
            RuntimeError: the emulator has no Entra ID secret (open mode, or an `AuthConfig` without one).
        """
        from .auth import mint_entra_token

        secret = getattr(getattr(self.auth, "config", None), "entra_secret", None)
        if not secret:
            raise RuntimeError(
                "this emulator trusts no Entra ID secret: start it with auth=True or users=..."
            )
        return mint_entra_token(secret, **claims)


def _resolve_options(
    directory: Path,
    host: str,
    auth: Any,
    users: Any,
    anonymous_pull: bool,
    tls: bool,
    ssl_context: ssl.SSLContext | None,
    ca_cert: str | Path | None,
    cloud: str | None = None,
) -> tuple[Any, ssl.SSLContext | None, str | Path | None]:
    """Turn the convenience options (auth=True, users, tls=True) into an auth object and SSL context."""
    from .auth import AuthConfig, entra_audiences_for

    if cloud is not None:
        entra_audiences_for(cloud)  # ValueError for an unknown cloud
        if isinstance(auth, AuthConfig) and auth.cloud != cloud:
            raise ValueError(f"cloud={cloud!r} contradicts the AuthConfig's cloud {auth.cloud!r}")
    if auth is True or (auth is None and users):
        from .auth import User
        from .users import parse_user_spec

        table: dict[str, User] = {}
        for item in (users.values() if isinstance(users, dict) else users) or ():
            user = parse_user_spec(item) if isinstance(item, str) else item
            table[user.username] = user
        # A per-run secret, so tests can mint Entra ID tokens with `mint_entra_token()`.
        auth = AuthConfig(
            users=table,
            anonymous_pull=anonymous_pull,
            entra_secret=secrets.token_urlsafe(32),
            cloud=cloud or "public",
        )
    if tls and ssl_context is None:
        from .tls import generate_self_signed, server_ssl_context

        cert, key, ca = generate_self_signed([host], directory / "tls")
        ssl_context, ca_cert = server_ssl_context(cert, key), ca
    return auth, ssl_context, ca_cert


async def start_site(
    app: web.Application,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    limits: ConnectionLimits | None = None,
) -> tuple[web.AppRunner, int]:
    """Start serving `app`; returns the runner (call `cleanup()`) and the bound port.

    Connections get header, idle and body read timeouts and a connection cap (`ConnectionLimits`;
    the defaults when None), and the process's open-file soft limit is raised to its hard limit, so
    slow or stalled clients cannot starve the others (see `_guard`).
    """
    runner = web.AppRunner(app, access_log=None, read_bufsize=READ_BUFSIZE, shutdown_timeout=2.0)
    await runner.setup()
    guard = ConnectionGuard(limits)
    site: web.BaseSite
    if ssl_context is not None and sys.platform != "win32":
        # Answers plain http on the TLS port with a 400 "use https", as Go servers do; the TLS
        # connections it hands to aiohttp are watched by the same guard.
        site = HttpsOnlySite(
            runner, host, port, ssl_context=ssl_context, backlog=1024, reuse_address=True, guard=guard
        )
    else:
        site = GuardedSite(runner, host, port, guard=guard, ssl_context=ssl_context, backlog=1024)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    return runner, bound


def _describe(
    app: web.Application,
    host: str,
    port: int,
    data_dir: Path,
    ssl_context: ssl.SSLContext | None,
    ca_cert: Any,
) -> RunningEmulator:
    scheme = "https" if ssl_context is not None else "http"
    shown = f"[{host}]" if ":" in host else host
    return RunningEmulator(
        endpoint=f"{scheme}://{shown}:{port}",
        host=host,
        port=port,
        login_server=f"{shown}:{port}",
        data_dir=data_dir,
        ca_cert=Path(ca_cert) if ca_cert else None,
        auth=app[AUTH_KEY],
        app=app,
    )


@contextlib.contextmanager
def _data_directory(data_dir: str | Path | None) -> Iterator[Path]:
    if data_dir is None or str(data_dir) == ":memory:":
        temp = tempfile.mkdtemp(prefix="creg-emulator-")
        try:
            yield Path(temp)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    else:
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        yield path


@contextlib.contextmanager
def run_emulator(
    *,
    data_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    auth: Any = None,
    users: Any = None,
    anonymous_pull: bool = False,
    tls: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    ca_cert: str | Path | None = None,
    strict_oci: bool = False,
    cloud: str | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[RunningEmulator]:
    """Run the emulator on its own event loop in a background thread.

    Args:
        data_dir: data directory; None (or ":memory:") = a temporary directory removed on exit.
        host: address to bind (loopback by default).
        port: port to bind; 0 picks a free one.
        auth: None/False (open mode), True (token auth with `users`, `anonymous_pull` and a per-run
            Entra ID secret, see `RunningEmulator.mint_entra_token`), an `AuthConfig`, or an auth object
            (see `create_app`).
        users: users for `auth=True` (implies it when `auth` is None): `User` objects, a dict of them,
            or `NAME:PASSWORD:ROLES` strings.
        anonymous_pull: with `auth=True`, let anonymous clients pull, read metadata and list the catalog.
        tls: serve HTTPS with a generated self-signed certificate (its CA is `.ca_cert`).
        ssl_context: serve HTTPS with this server context.
        ca_cert: path of the CA certificate clients should trust (reported as `.ca_cert`).
        strict_oci: refuse what ACR accepts beyond the OCI spec (descriptors with `sizeInBytes` and no
            `size`); by default the emulator accepts what ACR accepts.
        cloud: the Azure cloud (`public`, `china`, `usgov`) whose Entra ID audiences `/oauth2/exchange`
            accepts in token mode: ACR's own and that cloud's Resource Manager audience. None = `public`,
            or the cloud of a given `AuthConfig`.
        startup_timeout: seconds to wait for the server to listen.

    Yields:
        A `RunningEmulator`. On exit the server stops and open connections are closed.

    Raises:
        OSError: the address cannot be bound.
    """
    with _data_directory(data_dir) as directory:
        auth, ssl_context, ca_cert = _resolve_options(
            directory, host, auth, users, anonymous_pull, tls, ssl_context, ca_cert, cloud
        )
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        state: dict[str, Any] = {}

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                app = create_app(directory, auth=auth, strict_oci=strict_oci)
                runner, bound = loop.run_until_complete(start_site(app, host, port, ssl_context))
            except BaseException as exc:
                state["error"] = exc
                ready.set()
                loop.close()
                return
            state.update(app=app, runner=runner, port=bound)
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                # Keep-alive connections may still have handler tasks; end them before closing the loop.
                leftover = asyncio.all_tasks(loop)
                for task in leftover:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        thread = threading.Thread(target=serve, name="creg-emulator", daemon=True)
        thread.start()
        if not ready.wait(startup_timeout):
            raise TimeoutError("the emulator did not start in time")
        if "error" in state:
            thread.join(5)
            raise state["error"]
        try:
            yield _describe(state["app"], host, state["port"], directory, ssl_context, ca_cert)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)


@contextlib.asynccontextmanager
async def arun_emulator(
    *,
    data_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    auth: Any = None,
    users: Any = None,
    anonymous_pull: bool = False,
    tls: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    ca_cert: str | Path | None = None,
    strict_oci: bool = False,
    cloud: str | None = None,
) -> AsyncIterator[RunningEmulator]:
    """Run the emulator on the current event loop (same arguments as `run_emulator`).

    Note: clients in the same loop must be async; a blocking client would stall the server.
    """
    with _data_directory(data_dir) as directory:
        auth, ssl_context, ca_cert = _resolve_options(
            directory, host, auth, users, anonymous_pull, tls, ssl_context, ca_cert, cloud
        )
        app = create_app(directory, auth=auth, strict_oci=strict_oci)
        runner, bound = await start_site(app, host, port, ssl_context)
        try:
            yield _describe(app, host, bound, directory, ssl_context, ca_cert)
        finally:
            await runner.cleanup()
