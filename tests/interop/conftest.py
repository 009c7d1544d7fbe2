"""Fixtures of the interoperability stage (`./dev stage clients`): emulators in each mode, and a sandbox
in which the real third-party tools (skopeo, podman, buildah, curl) run.

Emulators are module-scoped (one per mode per test module). Modes:

- `open`: plain http, no auth;
- `auth`: plain http, token auth (users `admin` with every role, `reader` with pull only);
- `tls`: https with a generated CA, token auth, the same users;
- `anon`: https with token auth and `anonymous_pull=True`.

The sandbox keeps the tools off the machine's global state: their image storage (`--root`, `--runroot`,
vfs driver), registries.conf, auth file, signature policy, certificates and temp files all live in a temp
dir, and each tool runs in a private mount namespace where `/var/lib` is an overlay whose writes land in
the sandbox (containers/image writes its blob-info cache to `/var/lib/containers/cache` when run as root,
whatever `--root` says).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from containerregistry.emulator import run_emulator

# Every subprocess of this stage is bounded by this many seconds (a tool that hangs fails its cell).
TOOL_TIMEOUT = 120.0

ADMIN = ("admin", "admin-Pw-7f3a")
READER = ("reader", "reader-Pw-91c2")
USERS = [f"{ADMIN[0]}:{ADMIN[1]}:admin", f"{READER[0]}:{READER[1]}:pull"]

MODES = ("open", "auth", "tls")

# Runs "$@" in a private mount namespace whose /var/lib is an overlay writing into the sandbox.
_ISOLATE = (
    'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$1,workdir=$2" /var/lib '
    '|| { echo "sandbox: cannot mount an overlay on /var/lib" >&2; exit 125; }; '
    'shift 2; exec "$@"'
)


@dataclass
class Result:
    """What a tool run showed its user."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def ok(self) -> Result:
        """Assert exit status 0 (the failure message shows the command and its output)."""
        assert self.returncode == 0, self.describe()
        return self

    def failed(self) -> Result:
        """Assert a non-zero exit status."""
        assert self.returncode != 0, self.describe()
        return self

    def describe(self) -> str:
        return (
            f"{' '.join(self.argv)}\nexit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}"
            f"\n--- stderr\n{self.stderr[-3000:]}"
        )


def require_tool(name: str) -> str:
    """The path of `name`; fails (never skips) when it is missing: `./dev setup` installs it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (./dev setup installs it with apt)", pytrace=False)
    return path


class Sandbox:
    """A private home for the container tools: storage, configuration, auth file, certificates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("storage", "runroot", "tmp", "overlay-upper", "overlay-work", "certs", "run"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.storage = root / "storage"
        self.runroot = root / "runroot"
        self.tmp = root / "tmp"
        self.certs = root / "certs"
        self.auth_file = root / "auth.json"
        self.auth_file.write_text("{}")
        self.policy = root / "policy.json"
        self.policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
        registries = root / "registries.conf"
        registries.write_text('unqualified-search-registries = []\nshort-name-mode = "disabled"\n')
        storage_conf = root / "storage.conf"
        storage_conf.write_text(
            f'[storage]\ndriver = "vfs"\ngraphroot = "{self.storage}"\nrunroot = "{self.runroot}"\n'
        )
        containers_conf = root / "containers.conf"
        containers_conf.write_text(
            f'[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\ntmp_dir = "{self.tmp}"\n'
        )
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DOCKER_", "REGISTRY_", "CONTAINERS_", "SSL_", "REQUESTS_"))
        }
        self.env.update(
            CONTAINERS_REGISTRIES_CONF=str(registries),
            CONTAINERS_STORAGE_CONF=str(storage_conf),
            CONTAINERS_CONF=str(containers_conf),
            REGISTRY_AUTH_FILE=str(self.auth_file),
            TMPDIR=str(self.tmp),
            XDG_RUNTIME_DIR=str(root / "run"),
            HOME=str(root),
        )
        self._isolate = [
            require_tool("unshare"),
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            _ISOLATE,
            "sandbox",
            str(root / "overlay-upper"),
            str(root / "overlay-work"),
        ]

    def run(self, *argv: str, timeout: float = TOOL_TIMEOUT, input: str | None = None) -> Result:
        """Run a command in the sandbox; at most `timeout` seconds."""
        args = [str(a) for a in argv]
        try:
            proc = subprocess.run(
                [*self._isolate, *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env,
                input=input,
                cwd=self.root,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{' '.join(args)} did not finish within {timeout:.0f} s: {exc.stderr!r}")
        if proc.returncode == 125 and "sandbox: cannot mount an overlay" in proc.stderr:
            pytest.fail(f"cannot isolate /var/lib for the tools (needs root): {proc.stderr}", pytrace=False)
        return Result(args, proc.returncode, proc.stdout, proc.stderr)

    def skopeo(self, *args: str, timeout: float = TOOL_TIMEOUT) -> Result:
        return self.run(require_tool("skopeo"), "--policy", str(self.policy), *args, timeout=timeout)

    def podman(self, *args: str, timeout: float = TOOL_TIMEOUT) -> Result:
        return self.run(
            require_tool("podman"),
            "--storage-driver",
            "vfs",
            "--root",
            str(self.storage),
            "--runroot",
            str(self.runroot),
            "--tmpdir",
            str(self.tmp),
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "none",
            *args,
            timeout=timeout,
        )

    def buildah(self, *args: str, timeout: float = TOOL_TIMEOUT) -> Result:
        return self.run(
            require_tool("buildah"),
            "--storage-driver",
            "vfs",
            "--root",
            str(self.storage),
            "--runroot",
            str(self.runroot),
            *args,
            timeout=timeout,
        )

    def cert_dir(self, registry: Any) -> str:
        """A directory holding `ca.crt` (the emulator's CA), for `--cert-dir`."""
        directory = self.certs / registry.login_server.replace(":", "_")
        directory.mkdir(exist_ok=True)
        shutil.copyfile(registry.ca_cert, directory / "ca.crt")
        return str(directory)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every cell of this stage is bounded: 120 s each (python clients without their own timeout too)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(tmp_path_factory.mktemp("sandbox"))
    box.run("true").ok()
    return box


@pytest.fixture(scope="module")
def open_registry() -> Iterator[Any]:
    with run_emulator() as registry:
        yield registry


@pytest.fixture(scope="module")
def auth_registry() -> Iterator[Any]:
    with run_emulator(users=USERS) as registry:
        yield registry


@pytest.fixture(scope="module")
def tls_registry() -> Iterator[Any]:
    with run_emulator(users=USERS, tls=True) as registry:
        yield registry


@pytest.fixture(scope="module")
def anon_registry() -> Iterator[Any]:
    with run_emulator(users=USERS, anonymous_pull=True, tls=True) as registry:
        yield registry


@pytest.fixture(scope="module")
def registries(open_registry: Any, auth_registry: Any, tls_registry: Any) -> dict[str, Any]:
    return {"open": open_registry, "auth": auth_registry, "tls": tls_registry}
