"""Start the CNCF Distribution registry (Debian's ``docker-registry``) on a free loopback port.

Used by the fixtures in ``tests/conftest.py``. Each instance gets its own temp dir (storage, config,
log file), has deletes enabled, and is stopped (terminate, then kill) when the context exits.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DISTRIBUTION_BINARY",
    "Distribution",
    "free_port",
    "run_distribution",
    "run_distribution_basic",
    "run_distribution_token",
]

DISTRIBUTION_BINARY = os.environ.get("CREG_TEST_DISTRIBUTION", "/usr/bin/docker-registry")
_START_TIMEOUT = 20.0  # seconds; the registry usually answers within 0.2 s
_START_ATTEMPTS = 3  # a free port can be taken between probing and binding: retry on a new port


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Distribution:
    """A running Distribution registry.

    Attributes:
        endpoint: ``http://127.0.0.1:PORT``.
        host: ``127.0.0.1:PORT`` (what goes in a reference).
        root: the storage root directory.
        port: the TCP port.
        workdir: the instance's temp dir (config, log file, storage).
        username, password: set for the htpasswd and token variants.
        token_server: the token server for the token variant (see ``token_server.py``).
    """

    endpoint: str
    host: str
    root: Path
    port: int
    workdir: Path
    username: str | None = None
    password: str | None = None
    token_server: Any = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def log_text(self) -> str:
        """The registry's stderr/stdout so far (for failure messages)."""
        try:
            return (self.workdir / "registry.log").read_text(errors="replace")
        except OSError:
            return ""


def _yaml_scalar(value: object) -> str:
    # JSON strings are valid YAML flow scalars, which avoids writing a YAML emitter.
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def _to_yaml(data: dict[str, Any], indent: int = 0) -> str:
    lines: list[str] = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, dict):
            if value:
                lines.append(f"{pad}{key}:")
                lines.append(_to_yaml(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {{}}")
        else:
            lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    return "\n".join(lines)


def _wait_ready(endpoint: str, process: subprocess.Popen[bytes], deadline: float) -> bool:
    """Poll ``GET /v2/`` until it answers (any HTTP status) or the process dies or time runs out."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{endpoint}/v2/", timeout=1.0):
                return True
        except urllib.error.HTTPError:
            return True  # 401 from an auth-enabled registry still means it is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def run_distribution(
    *,
    auth: dict[str, Any] | None = None,
    extra_config: dict[str, Any] | None = None,
    workdir: Path | None = None,
) -> Iterator[Distribution]:
    """Start a Distribution registry on a free 127.0.0.1 port and yield a `Distribution`.

    Args:
        auth: the ``auth:`` section of the config (None = open registry).
        extra_config: more top-level config sections, merged over the defaults.
        workdir: where to put storage/config/logs; a fresh temp dir (removed at exit) by default.

    Raises:
        RuntimeError: the binary is missing or the registry did not answer in time.
    """
    if not os.access(DISTRIBUTION_BINARY, os.X_OK):
        raise RuntimeError(f"{DISTRIBUTION_BINARY} not found: apt-get install docker-registry")
    owned_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="creg-distribution-")) if workdir is None else workdir
    root = base / "storage"
    root.mkdir(parents=True, exist_ok=True)
    process: subprocess.Popen[bytes] | None = None
    try:
        last_log = ""
        for _attempt in range(_START_ATTEMPTS):
            port = free_port()
            config: dict[str, Any] = {
                "version": 0.1,
                "log": {"level": "error", "accesslog": {"disabled": True}},
                "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
            if auth:
                config["auth"] = auth
            if extra_config:
                config.update(extra_config)
            config_path = base / "config.yml"
            config_path.write_text(_to_yaml(config) + "\n")
            log_file = open(base / "registry.log", "wb")  # noqa: SIM115 - closed below
            try:
                process = subprocess.Popen(
                    [DISTRIBUTION_BINARY, "serve", str(config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=base,
                )
            finally:
                log_file.close()
            endpoint = f"http://127.0.0.1:{port}"
            if _wait_ready(endpoint, process, time.monotonic() + _START_TIMEOUT):
                break
            _stop(process)
            process = None
            last_log = (base / "registry.log").read_text(errors="replace")
        else:
            raise RuntimeError(f"docker-registry did not start: {last_log[-2000:]}")
        yield Distribution(
            endpoint=endpoint,
            host=f"127.0.0.1:{port}",
            root=root,
            port=port,
            workdir=base,
            process=process,
        )
    finally:
        if process is not None:
            _stop(process)
        if owned_dir:
            shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def run_distribution_basic(
    username: str = "creg-user", password: str | None = None
) -> Iterator[Distribution]:
    """A Distribution registry with htpasswd basic auth (one bcrypt user); `.username`/`.password` set."""
    import bcrypt  # test extra; only this variant needs it

    password = password if password is not None else "pw-" + secrets.token_hex(8)
    base = Path(tempfile.mkdtemp(prefix="creg-distribution-basic-"))
    try:
        htpasswd = base / "htpasswd"
        # Cost 4 is bcrypt's minimum: the registry checks it on every request, so keep it cheap.
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        htpasswd.write_text(f"{username}:{hashed}\n")
        auth = {"htpasswd": {"realm": "creg-basic-realm", "path": str(htpasswd)}}
        with run_distribution(auth=auth, workdir=base) as registry:
            registry.username = username
            registry.password = password
            yield registry
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def run_distribution_token(
    username: str = "creg-user", password: str | None = None
) -> Iterator[Distribution]:
    """A Distribution registry with ``auth: token`` backed by a loopback `TokenServer`.

    The yielded object has `.username`, `.password` and `.token_server` (realm, stats, expires_in, ...).
    """
    from .token_server import run_token_server

    password = password if password is not None else "pw-" + secrets.token_hex(8)
    base = Path(tempfile.mkdtemp(prefix="creg-distribution-token-"))
    try:
        with run_token_server(base, users={username: password}) as tokens:
            auth = {
                "token": {
                    "realm": tokens.realm,
                    "service": tokens.service,
                    "issuer": tokens.issuer,
                    "rootcertbundle": str(tokens.bundle_path),
                }
            }
            with run_distribution(auth=auth, workdir=base) as registry:
                registry.username = username
                registry.password = password
                registry.token_server = tokens
                yield registry
    finally:
        shutil.rmtree(base, ignore_errors=True)
