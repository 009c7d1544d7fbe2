"""`python -m containerregistry.emulator`: serve the emulator until interrupted.

`build_parser()` and `main(argv)` are reused by `creg serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import platformdirs

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, named after the command the user typed (`creg serve`), not argparse's
    full usage block under another program's name."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: 0-65535 (0 = any free port)")
    return port


def build_parser(
    parser: argparse.ArgumentParser | None = None, *, prog: str = "python -m containerregistry.emulator"
) -> argparse.ArgumentParser:
    """Add the emulator's options to `parser` (a new one named `prog` when None) and return it."""
    parser = parser or _Parser(
        prog=prog,
        description="Local ACR-compatible, OCI Distribution v1.1 registry.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=5000, help="port (default: 5000; 0 = any free port)")
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="data directory (default: the per-user data dir); ':memory:' = a temp dir removed at exit",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    acr = parser.add_argument_group("ACR fidelity")
    acr.add_argument(
        "--strict-oci",
        action="store_true",
        help="refuse what ACR accepts beyond the OCI spec (descriptors with sizeInBytes and no size)",
    )
    acr.add_argument(
        "--cloud",
        default="public",
        choices=["public", "china", "usgov"],
        help="Azure cloud: /oauth2/exchange accepts Entra ID tokens for ACR's audience and this cloud's "
        "Resource Manager audience only (default: public)",
    )
    try:
        from .users import add_auth_arguments
    except ImportError:  # the auth options arrive with the auth layer
        pass
    else:
        add_auth_arguments(parser)
    try:
        from .tls import add_tls_arguments
    except ImportError:
        pass
    else:
        add_tls_arguments(parser)
    return parser


async def _serve(args: argparse.Namespace, data_dir: Path) -> None:
    from ._app import create_app
    from ._runner import start_site

    auth: Any = None
    ssl_context = None
    try:
        from .users import auth_config_from_args
    except ImportError:
        pass
    else:
        auth = auth_config_from_args(args)
        if auth is not None:
            auth.cloud = args.cloud
    ca_path = None
    try:
        from .tls import server_ssl_context, tls_files_from_args
    except ImportError:
        pass
    else:
        files = tls_files_from_args(args, data_dir)
        if files is not None:
            ssl_context = server_ssl_context(files[0], files[1])
            ca_path = files[2]
    app = create_app(data_dir, auth=auth, strict_oci=args.strict_oci)
    runner, port = await start_site(app, args.host, args.port, ssl_context)
    scheme = "https" if ssl_context else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    mode = "token auth" if auth is not None else "open (no auth)"
    endpoint = f"{scheme}://{host}:{port}"
    print(
        f"containerregistry emulator listening on {endpoint} ({mode}), data in {data_dir}\n"
        f"  try:  creg -r {endpoint} repo ls"
        + (
            "   (the default registry of creg: -r can be left out)"
            if endpoint == "http://127.0.0.1:5000"
            else ""
        )
        + "\n  stop: Ctrl-C",
        file=sys.stderr,
    )
    if ca_path:
        print(f"clients should trust the CA certificate {ca_path}", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _cannot_listen(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (in use, no such address), or None (it can, just now)."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return exc.strerror or str(exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return (exc.strerror or str(exc)).lower()
    return None


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the emulator with command-line arguments; returns the exit code.

    Args:
        prog: the command name in messages (`creg serve`).
    """
    parser = build_parser(prog=prog) if prog else build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ._runner import _data_directory

    problem = _cannot_listen(args.host, args.port)
    if problem:  # before the data directory is created
        print(f"error: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return 1
    data = args.data if args.data is not None else platformdirs.user_data_dir("containerregistry")
    try:
        with _data_directory(data) as data_dir:
            asyncio.run(_serve(args, data_dir))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
