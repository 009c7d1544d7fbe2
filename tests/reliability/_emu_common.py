"""Helpers for the emulator-side reliability tests: an emulator subprocess, raw sockets, integrity walks.

Owned by the emulator-fault / hostile-input / access-control tests (files `test_emulator_crash.py`,
`test_disk_full.py`, `test_hostile_input.py`, `test_access_matrix.py`, `test_secrets.py`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

SOAK = os.environ.get("CREG_SOAK", "") not in ("", "0")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


# -- an emulator in its own process ---------------------------------------------------------------


@dataclass
class EmulatorProcess:
    """`python -m containerregistry.emulator` on a data dir; stderr goes to a file (never a full pipe)."""

    data_dir: Path
    log_path: Path
    extra_args: list[str] = field(default_factory=list)
    preexec_fn: Callable[[], None] | None = None
    process: subprocess.Popen[bytes] | None = None
    endpoint: str = ""
    port: int = 0

    def start(self, timeout: float = 30.0) -> str:
        log = self.log_path.open("ab")
        offset = log.tell()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "containerregistry.emulator",
                    "--port",
                    "0",
                    "--data",
                    str(self.data_dir),
                    "--log-level",
                    "WARNING",
                    *self.extra_args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                preexec_fn=self.preexec_fn,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_bytes()[offset:]
            match = re.search(rb"listening on (http://127\.0\.0\.1:([0-9]+))", text)
            if match:
                self.endpoint = match[1].decode()
                self.port = int(match[2])
                return self.endpoint
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.kill9()
        raise AssertionError(f"emulator did not start: {self.log_path.read_bytes()[offset:][-2000:]!r}")

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 15 s; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.process.returncode

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


# -- raw sockets ----------------------------------------------------------------------------------


def raw_exchange(
    port: int,
    head: bytes,
    body_parts: Iterator[bytes] | None = None,
    *,
    timeout: float = 5.0,
    max_body_seconds: float = 3.0,
) -> tuple[int, bytes, float]:
    """Send `head` (and stream `body_parts` until the server answers or `max_body_seconds` pass).

    Returns (status, up to 64 KiB of the response, seconds until the status line arrived).
    Status 0 means the server closed the connection without a status line.
    """
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        received = b""
        if body_parts is not None:
            sock.setblocking(False)
            stop_at = time.monotonic() + max_body_seconds
            pending = b""
            while time.monotonic() < stop_at:
                try:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                except BlockingIOError:
                    pass
                except OSError:
                    break
                if b"\r\n" in received:
                    break
                if not pending:
                    pending = next(body_parts, b"")
                    if not pending:
                        break
                try:
                    pending = pending[sock.send(pending) :]
                except BlockingIOError:
                    time.sleep(0.002)
                except OSError:
                    break
            sock.setblocking(True)
            sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in received and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            received += chunk
        elapsed = time.monotonic() - started
        # Read a little of the body too (for the error document), bounded.
        if b"\r\n\r\n" in received:
            sock.settimeout(0.5)
            try:
                while len(received) < 65536:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                    if b"}]}" in received:
                        break
            except (TimeoutError, OSError):
                pass
    match = re.match(rb"HTTP/1\.[01] ([0-9]{3})", received)
    return (int(match[1]) if match else 0), received[:65536], elapsed


def assert_oci_error(
    response: httpx.Response, status: int | tuple[int, ...], code: str | None = None
) -> None:
    """An OCI error body with the given status (and code), no traceback."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
    if response.request.method == "HEAD":
        return
    body = response.json()
    assert isinstance(body.get("errors"), list) and body["errors"], body
    for error in body["errors"]:
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), body
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body


# -- pushing and checking over plain httpx --------------------------------------------------------


def push_blob(http: httpx.Client, repo: str, data: bytes) -> str:
    digest = sha256(data)
    response = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert response.status_code == 201, response.text
    return digest


def image_manifest(config: bytes, layers: list[bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(x), "size": len(x)} for x in layers],
    }
    return json.dumps(doc).encode()


def push_image(http: httpx.Client, repo: str, tag: str, layers: list[bytes]) -> tuple[str, bytes]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    for blob in (config, *layers):
        push_blob(http, repo, blob)
    body = image_manifest(config, layers)
    response = http.put(f"/v2/{repo}/manifests/{tag}", content=body, headers={"Content-Type": OCI_MANIFEST})
    assert response.status_code == 201, response.text
    return sha256(body), body


def _paged(http: httpx.Client, url: str, key: str, max_pages: int = 10000) -> list[Any]:
    items: list[Any] = []
    next_url: str | None = url
    for _ in range(max_pages):
        if next_url is None:
            return items
        response = http.get(next_url)
        assert response.status_code == 200, (next_url, response.status_code, response.text[:300])
        items.extend(response.json()[key])
        link = response.headers.get("Link")
        match = re.match(r"<([^>]+)>", link) if link else None
        next_url = urljoin(str(response.url), match[1]) if match else None
    raise AssertionError(f"paging {url} did not end within {max_pages} pages")


@dataclass
class WalkResult:
    repositories: int = 0
    manifests: int = 0
    tags: int = 0
    blobs_checked: int = 0
    problems: list[str] = field(default_factory=list)


def walk_registry(http: httpx.Client) -> WalkResult:
    """Walk catalog + tags + ACR manifests; every listed manifest must be complete and correct."""
    result = WalkResult()
    checked_blobs: set[tuple[str, str]] = set()
    for repo in _paged(http, "/v2/_catalog?n=100", "repositories"):
        result.repositories += 1
        tags = _paged(http, f"/v2/{repo}/tags/list?n=100", "tags")
        listed = _paged(http, f"/acr/v1/{repo}/_manifests?n=100", "manifests")
        digests = {m["digest"] for m in listed}
        for tag in tags:
            result.tags += 1
            response = http.get(
                f"/v2/{repo}/manifests/{tag}", headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
            )
            if response.status_code != 200:
                result.problems.append(f"{repo}:{tag} listed but GET gives {response.status_code}")
                continue
            digest = response.headers.get("Docker-Content-Digest", "")
            if sha256(response.content) != digest:
                result.problems.append(f"{repo}:{tag} bytes do not hash to {digest}")
            if digest not in digests:
                result.problems.append(f"{repo}:{tag} -> {digest} missing from /acr/v1 _manifests")
        for digest in sorted(digests):
            result.manifests += 1
            response = http.get(f"/v2/{repo}/manifests/{digest}")
            if response.status_code != 200 or sha256(response.content) != digest:
                result.problems.append(f"{repo}@{digest}: GET {response.status_code}, wrong or missing bytes")
                continue
            doc = json.loads(response.content)
            children = [c["digest"] for c in doc.get("manifests", [])]
            for child in children:
                if http.head(f"/v2/{repo}/manifests/{child}").status_code != 200:
                    result.problems.append(f"{repo}@{digest}: child manifest {child} missing")
            blobs = ([doc["config"]] if "config" in doc else []) + doc.get("layers", [])
            for blob in blobs:
                key = (repo, blob["digest"])
                if key in checked_blobs:
                    continue
                checked_blobs.add(key)
                got = http.get(f"/v2/{repo}/blobs/{blob['digest']}")
                result.blobs_checked += 1
                if got.status_code != 200:
                    result.problems.append(f"{repo}@{digest}: blob {blob['digest']} -> {got.status_code}")
                elif sha256(got.content) != blob["digest"] or len(got.content) != blob["size"]:
                    result.problems.append(f"{repo}@{digest}: blob {blob['digest']} has wrong bytes")
    return result


def check_blob_store(data_dir: Path) -> tuple[int, list[str]]:
    """Every file in the blob store hashes to its name; returns (files checked, problems)."""
    problems: list[str] = []
    count = 0
    root = data_dir / "blobs"
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if path.is_dir():
            continue
        count += 1
        algorithm = path.parent.name
        if algorithm != "sha256":
            problems.append(f"unexpected file {path}")
            continue
        if file_sha256(path) != f"sha256:{path.name}":
            problems.append(f"blob file {path.name} does not hash to its name")
    return count, problems


def db_integrity(data_dir: Path) -> tuple[str, list[sqlite3.Row], list[sqlite3.Row]]:
    """(PRAGMA integrity_check, repo_blobs rows, uploads rows), opened read-only."""
    uri = f"file:{data_dir / 'metadata.db'}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        links = list(db.execute("SELECT repo, digest, size FROM repo_blobs"))
        uploads = list(db.execute("SELECT id, repo, offset FROM uploads"))
    finally:
        db.close()
    return str(check), links, uploads
