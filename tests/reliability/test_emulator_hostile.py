"""The emulator under hostile clients: slowloris, passwords in the process list, deeply nested JSON.

* Slowloris: 1,100 connections (more than the usual open-file limit of 1,024) trickle request headers
  into a subprocess emulator; legitimate requests (GET /v2/, a manifest HEAD) must still be answered
  within a few seconds, and the trickling connections are closed by the header timeout. Run once with
  the common soft limit of 1,024 (the emulator raises it to the hard limit) and once with a hard limit
  of 1,024 (it cannot: the connection cap evicts the connections that waited longest for their headers).
* `--users-file` (htpasswd-style, password hashes) and `$CREG_SERVE_USERS`: the password is nowhere in
  /proc/<pid>/cmdline and logging in works.
* Deeply nested manifests, image configs and ACR PATCH bodies get 400 with an OCI error body.

Every loop is bounded in count and time; loopback only; every socket is closed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability._emu_common import OCI_MANIFEST, EmulatorProcess, push_image

pytestmark = pytest.mark.reliability

SLOW_CONNECTIONS = 1_100
#: What a user would call "still answering": each legitimate request within this many seconds.
ANSWER_WITHIN = 5.0


def _limit_open_files(soft: int, hard: int | None) -> Callable[[], None]:
    def apply() -> None:
        _, current_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard if hard is not None else current_hard))

    return apply


def _ensure_own_fds(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this test needs {needed} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@contextlib.contextmanager
def _emulator(
    tmp_path: Path,
    *,
    preexec: Callable[[], None] | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[EmulatorProcess]:
    emulator = EmulatorProcess(tmp_path / "data", tmp_path / "emulator.log", list(args or []), preexec)
    old_env = dict(os.environ)
    os.environ.update(env or {})
    try:
        emulator.start()
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    try:
        yield emulator
    finally:
        emulator.stop()


class SlowClients:
    """`count` connections that send a request line and then one header line a second, never the end."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        deadline = time.monotonic() + 60
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(5)
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            self.sockets.append(sock)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        for _ in range(120):  # bounded: at most two minutes
            if self._stop.wait(1.0):
                return
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"X-Slow: 1\r\n")

    def still_open(self) -> int:
        alive = 0
        for sock in self.sockets:
            try:
                if sock.recv(4096):
                    alive += 1
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        return alive

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def _timed_requests(endpoint: str, repo: str, digest: str, rounds: int = 5) -> list[tuple[str, float, int]]:
    results: list[tuple[str, float, int]] = []
    for _ in range(rounds):
        for method, path in (("GET", "/v2/"), ("HEAD", f"/v2/{repo}/manifests/{digest}")):
            started = time.monotonic()
            try:
                # A new connection each time, like a new client.
                status = httpx.request(
                    method, endpoint + path, headers={"Accept": OCI_MANIFEST}, timeout=15
                ).status_code
            except httpx.HTTPError:
                status = 0
            results.append((f"{method} {path[:20]}", time.monotonic() - started, status))
        time.sleep(0.5)
    return results


@pytest.mark.parametrize("hard_limit", [None, 1024], ids=["soft-limit-1024", "hard-limit-1024"])
def test_slowloris_does_not_starve_legitimate_requests(tmp_path: Path, hard_limit: int | None) -> None:
    _ensure_own_fds(SLOW_CONNECTIONS + 200)
    with _emulator(tmp_path, preexec=_limit_open_files(1024, hard_limit)) as emulator:
        with httpx.Client(base_url=emulator.endpoint, timeout=30) as http:
            digest, _ = push_image(http, "slow/app", "v1", [os.urandom(1000)])
        baseline = _timed_requests(emulator.endpoint, "slow/app", digest, rounds=1)
        slow = SlowClients(emulator.port, SLOW_CONNECTIONS)
        try:
            assert len(slow.sockets) >= SLOW_CONNECTIONS * 0.9, "could not open the slow connections"
            results = _timed_requests(emulator.endpoint, "slow/app", digest)
            open_meanwhile = slow.still_open()
            # The header timeout (10 s) closes connections that trickle headers forever.
            deadline = time.monotonic() + 25
            while slow.still_open() > 0 and time.monotonic() < deadline:
                time.sleep(1)
            left = slow.still_open()
        finally:
            slow.close()
        assert emulator.alive()
    worst = max(seconds for _, seconds, _ in results)
    print(
        f"\n[slowloris] {len(slow.sockets)} slow connections ({open_meanwhile} still open after the "
        f"requests), hard limit {hard_limit or 'unchanged'}: legitimate requests "
        f"median {sorted(s for _, s, _ in results)[len(results) // 2]:.3f}s, worst {worst:.3f}s "
        f"(baseline {max(s for _, s, _ in baseline):.3f}s); slow connections left after 25s: {left}"
    )
    assert all(status in (200,) for _, _, status in results), results
    assert worst < ANSWER_WITHIN, results
    assert left == 0


# -- passwords out of the process list -------------------------------------------------------------


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _token_status(endpoint: str, username: str, password: str) -> int:
    response = httpx.get(
        f"{endpoint}/oauth2/token",
        params={"service": "x", "scope": "repository:app:pull,push"},
        auth=(username, password),
        timeout=30,
    )
    return response.status_code


def _login_pushes(endpoint: str, username: str, password: str) -> None:
    """A real client logs in (token exchange) and pushes a blob."""
    from containerregistry import ContainerRegistryContentClient
    from containerregistry.auth import BasicCredential

    with ContainerRegistryContentClient(
        endpoint, "app", credential=BasicCredential(username, password)
    ) as client:
        result = client.upload_blob(b"hello from a hashed user")
        assert client.download_blob_content(result.digest).content == b"hello from a hashed user"


def test_users_file_with_password_hashes_keeps_passwords_out_of_the_process_list(tmp_path: Path) -> None:
    import bcrypt

    bcrypt_password = "bcrypt-" + os.urandom(8).hex()
    pbkdf2_password = "pbkdf2-" + os.urandom(8).hex()
    bcrypt_hash = bcrypt.hashpw(bcrypt_password.encode(), bcrypt.gensalt(rounds=4)).decode()
    made = subprocess.run(
        [sys.executable, "-m", "containerregistry.emulator", "--hash-password"],
        input=pbkdf2_password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pbkdf2_hash = made.stdout.strip()
    assert pbkdf2_hash.startswith("$pbkdf2-sha256$") and pbkdf2_password not in pbkdf2_hash
    users = tmp_path / "users.htpasswd"
    # htpasswd -B writes $2y$; no roles = admin (as any htpasswd user of Distribution).
    users.write_text(f"# emulator users\nadmin:$2y${bcrypt_hash[4:]}\nci:{pbkdf2_hash}:pull,push@app\n")
    with _emulator(tmp_path, args=["--users-file", str(users)]) as emulator:
        assert emulator.process is not None
        cmdline = _cmdline(emulator.process.pid)
        assert b"--users-file" in cmdline
        for secret in (bcrypt_password, pbkdf2_password, bcrypt_hash, pbkdf2_hash):
            assert secret.encode() not in cmdline
        assert _token_status(emulator.endpoint, "admin", bcrypt_password) == 200
        assert _token_status(emulator.endpoint, "ci", pbkdf2_password) == 200
        assert _token_status(emulator.endpoint, "ci", pbkdf2_password + "x") == 401
        assert _token_status(emulator.endpoint, "admin", pbkdf2_password) == 401
        _login_pushes(emulator.endpoint, "ci", pbkdf2_password)
        _login_pushes(emulator.endpoint, "admin", bcrypt_password)
        log = emulator.log_text()
    for secret in (bcrypt_password, pbkdf2_password, bcrypt_hash, pbkdf2_hash):
        assert secret not in log


def test_users_from_the_environment_keep_passwords_out_of_the_process_list(tmp_path: Path) -> None:
    password = "env-" + os.urandom(8).hex()
    with _emulator(
        tmp_path, env={"CREG_SERVE_USERS": f"ci:{password}:pull,push\nro:{password}2:pull\n"}
    ) as emulator:
        assert emulator.process is not None
        assert password.encode() not in _cmdline(emulator.process.pid)
        assert "token auth" in emulator.log_text()
        assert _token_status(emulator.endpoint, "ci", password) == 200
        assert _token_status(emulator.endpoint, "ci", "wrong") == 401
        _login_pushes(emulator.endpoint, "ci", password)
    assert password not in emulator.log_text()


def test_serve_help_names_the_users_file_as_the_way() -> None:
    from tests.cli.conftest import run_cli

    for text in (
        run_cli("serve", "--help").stdout,
        subprocess.run(
            [sys.executable, "-m", "containerregistry.emulator", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout,
    ):
        flat = " ".join(text.split())
        assert "--users-file" in flat and "CREG_SERVE_USERS" in flat
        assert "visible in the process list" in flat


# -- deeply nested JSON ---------------------------------------------------------------------------


def _nested(depth: int, kind: str) -> bytes:
    if kind == "arrays":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _assert_oci_400(response: httpx.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    errors = response.json()["errors"]
    assert errors and isinstance(errors[0]["code"], str) and errors[0]["message"]
    assert "Traceback" not in response.text and "Recursion" not in response.text


@pytest.fixture
def pushed(registry_emulator: object) -> Iterator[tuple[httpx.Client, str, str]]:
    http = httpx.Client(base_url=registry_emulator.endpoint, timeout=30)  # type: ignore[attr-defined]
    repo = f"nested/{os.urandom(4).hex()}"
    digest, _ = push_image(http, repo, "v1", [os.urandom(100)])
    yield http, repo, digest
    http.close()


@pytest.mark.parametrize("kind", ["arrays", "objects"])
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_manifest_is_a_400(
    pushed: tuple[httpx.Client, str, str], kind: str, depth: int
) -> None:
    http, repo, _ = pushed
    body = _nested(depth, kind)
    if kind == "objects":
        body = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","x":' + body + b"}"
    response = http.put(f"/v2/{repo}/manifests/deep", content=body, headers={"Content-Type": OCI_MANIFEST})
    _assert_oci_400(response)
    assert http.get(f"/v2/{repo}/manifests/deep", headers={"Accept": OCI_MANIFEST}).status_code == 404


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_manifest_with_a_deeply_nested_image_config_is_a_400(
    pushed: tuple[httpx.Client, str, str], depth: int
) -> None:
    from tests.reliability._emu_common import OCI_CONFIG, push_blob, sha256

    http, repo, _ = pushed
    config = b'{"architecture":"amd64","os":"linux","history":' + _nested(depth, "arrays") + b"}"
    push_blob(http, repo, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [],
        }
    ).encode()
    response = http.put(
        f"/v2/{repo}/manifests/deepcfg", content=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    _assert_oci_400(response)


@pytest.mark.parametrize("kind", ["arrays", "objects"])
def test_deeply_nested_acr_patch_body_is_a_400(pushed: tuple[httpx.Client, str, str], kind: str) -> None:
    http, repo, digest = pushed
    body = _nested(5_000, kind)  # 10-25 KB: under the PATCH body limit
    for path in (f"/acr/v1/{repo}", f"/acr/v1/{repo}/_tags/v1", f"/acr/v1/{repo}/_manifests/{digest}"):
        response = http.patch(path, content=body, headers={"Content-Type": "application/json"})
        _assert_oci_400(response)
    # Still answering, and nothing changed.
    assert http.get(f"/acr/v1/{repo}/_tags/v1").status_code == 200
