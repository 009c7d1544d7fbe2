"""Restart persistence, upload resume across a restart, and kill -9 crash consistency."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry.emulator import run_emulator
from tests.emulator.emulator_helpers import Reg, sha256


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    with run_emulator(data_dir=tmp_path) as registry:
        reg = Reg(registry.endpoint)
        digest, body = reg.push_image("keep/me", "v1", [b"layer-1", b"layer-2"])
        reg.put_manifest("keep/me", "v2", body)
        reg.http.patch("/acr/v1/keep/me/_tags/v2", json={"writeEnabled": False})
        before = reg.http.get("/acr/v1/keep/me/_manifests").json()
        reg.close()
    with run_emulator(data_dir=tmp_path) as registry:
        reg = Reg(registry.endpoint)
        assert reg.http.get("/v2/keep/me/manifests/v1").content == body
        assert reg.http.get("/v2/keep/me/tags/list").json()["tags"] == ["v1", "v2"]
        assert reg.http.get("/v2/_catalog").json()["repositories"] == ["keep/me"]
        assert reg.http.get("/acr/v1/keep/me/_manifests").json()["manifests"] == before["manifests"]
        tag = reg.http.get("/acr/v1/keep/me/_tags/v2").json()["tag"]
        assert tag["changeableAttributes"]["writeEnabled"] is False
        assert reg.http.get(f"/v2/keep/me/blobs/{sha256(b'layer-2')}").content == b"layer-2"
        assert reg.http.get(f"/v2/keep/me/manifests/{digest}").status_code == 200
        reg.close()


def test_upload_resumes_across_restart(tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    with run_emulator(data_dir=tmp_path) as registry:
        reg = Reg(registry.endpoint)
        location = reg.http.post("/v2/resume/blobs/uploads/").headers["Location"]
        patched = reg.http.patch(location, content=data[:1_000_000], headers={"Content-Range": "0-999999"})
        assert patched.status_code == 202
        reg.close()
    with run_emulator(data_dir=tmp_path) as registry:
        reg = Reg(registry.endpoint)
        status = reg.http.get(location)
        assert status.status_code == 204
        assert status.headers["Range"] == "0-999999"
        # The hash state was lost with the process; the server re-hashes the stored bytes.
        patched = reg.http.patch(
            status.headers["Location"],
            content=data[1_000_000:],
            headers={"Content-Range": f"1000000-{len(data) - 1}"},
        )
        assert patched.status_code == 202
        done = reg.http.put(patched.headers["Location"], params={"digest": sha256(data)})
        assert done.status_code == 201, done.text
        assert reg.http.get(f"/v2/resume/blobs/{sha256(data)}").content == data
        reg.close()


def _start_process(data_dir: Path, preexec_fn: Any = None) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "containerregistry.emulator", "--port", "0", "--data", str(data_dir)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    line = b""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        match = re.search(rb"listening on (http://[0-9.]+:[0-9]+)", line)
        if match:
            return process, match[1].decode()
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"emulator did not start: {line!r}")


def _partial_request(endpoint: str, head: str, body_part: bytes) -> socket.socket:
    host, port = endpoint.rsplit("/", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head.encode() + body_part)
    return sock


def test_kill_9_mid_upload_leaves_consistent_state(tmp_path: Path) -> None:
    process, endpoint = _start_process(tmp_path)
    sockets: list[socket.socket] = []
    try:
        with httpx.Client(base_url=endpoint, timeout=10) as http:
            committed = os.urandom(200_000)
            assert (
                http.post(
                    "/v2/crash/blobs/uploads/", params={"digest": sha256(committed)}, content=committed
                ).status_code
                == 201
            )
            session = http.post("/v2/crash/blobs/uploads/").headers["Location"]
            assert http.patch(session, content=committed[:50_000]).status_code == 202
        big = os.urandom(8_000_000)
        # A single-request upload and a session PATCH, each cut off half way by the kill.
        sockets.append(
            _partial_request(
                endpoint,
                f"POST /v2/crash/blobs/uploads/?digest={sha256(big)} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(big)}\r\n\r\n",
                big[:4_000_000],
            )
        )
        sockets.append(
            _partial_request(
                endpoint,
                f"PATCH {session} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(big)}\r\n\r\n",
                big[:5_000_000],
            )
        )
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        for sock in sockets:
            sock.close()
        if process.poll() is None:
            process.kill()
            process.wait(10)
    # The database is intact and every visible blob is complete.
    with sqlite3.connect(tmp_path / "metadata.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for path in (tmp_path / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    process, endpoint = _start_process(tmp_path)
    try:
        with httpx.Client(base_url=endpoint, timeout=10) as http:
            assert http.head(f"/v2/crash/blobs/{sha256(big)}").status_code == 404
            assert http.get(f"/v2/crash/blobs/{sha256(committed)}").content == committed
            status = http.get(session)
            assert status.status_code == 204
            held = int(status.headers["Range"].split("-")[1]) + 1
            # Whatever part of the cut-off PATCH reached the disk is a valid prefix of it.
            assert 50_000 <= held <= 50_000 + 5_000_000
            stored = committed[:50_000] + big[: held - 50_000]
            rest = b"tail"
            done = http.put(
                status.headers["Location"], params={"digest": sha256(stored + rest)}, content=rest
            )
            assert done.status_code == 201, done.text
            assert http.get(f"/v2/crash/blobs/{sha256(stored + rest)}").content == stored + rest
            # Leftover files of the interrupted single-request upload were removed at startup.
            leftovers: list[Any] = [p.name for p in (tmp_path / "uploads").iterdir()]
            assert leftovers == []
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert process.returncode == 0


def test_abandoned_upload_sessions_expire_at_startup(tmp_path: Path) -> None:
    with run_emulator(data_dir=tmp_path) as registry, httpx.Client(base_url=registry.endpoint) as http:
        old = http.post("/v2/stale/blobs/uploads/").headers["Location"]
        http.patch(old, content=b"x" * 1000)
        fresh = http.post("/v2/stale/blobs/uploads/").headers["Location"]
    with sqlite3.connect(tmp_path / "metadata.db") as db:
        db.execute(
            "UPDATE uploads SET created = '2000-01-01T00:00:00.000000Z' WHERE id = ?",
            (old.split("/")[-1].split("?")[0],),
        )
    with run_emulator(data_dir=tmp_path) as registry, httpx.Client(base_url=registry.endpoint) as http:
        assert http.get(old).status_code == 404
        assert http.get(fresh).status_code == 204
    assert len(list((tmp_path / "uploads").iterdir())) == 1


def _limit_file_size() -> None:
    # Every file the emulator writes is capped at 4 MiB: EFBIG, like a full or quota'd disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))


@pytest.fixture(params=["rlimit", "tmpfs"])
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Any]]:
    """(data dir, preexec_fn) where a 16 MiB upload cannot fit: a 4 MiB file size limit (EFBIG) or an
    8 MiB tmpfs (ENOSPC, where SQLite itself cannot write either)."""
    if request.param == "rlimit":
        yield tmp_path / "data", _limit_file_size
        return
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here; the rlimit variant covers a full disk")
    try:
        yield mount / "data", None
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def test_disk_full_gives_507_and_frees_the_space(full_disk: tuple[Path, Any]) -> None:
    data_dir, preexec_fn = full_disk
    process, endpoint = _start_process(data_dir, preexec_fn)
    try:
        with httpx.Client(base_url=endpoint, timeout=30) as http:
            kept = os.urandom(500_000)
            assert (
                http.post(
                    "/v2/keep/blobs/uploads/", params={"digest": sha256(kept)}, content=kept
                ).status_code
                == 201
            )
            big = os.urandom(16 << 20)
            single = http.post("/v2/full/blobs/uploads/", params={"digest": sha256(big)}, content=big)
            assert single.status_code == 507
            assert single.json()["errors"][0]["code"] == "UNAVAILABLE"
            assert "Errno" not in single.text
            location = http.post("/v2/full/blobs/uploads/").headers["Location"]
            patched = http.patch(location, content=big)
            assert patched.status_code == 507
            # The session and its partial file are gone, so the space is free again.
            assert http.get(location).status_code == 404
            assert list((data_dir / "uploads").iterdir()) == []
            small = os.urandom(100_000)
            assert (
                http.post(
                    "/v2/full/blobs/uploads/", params={"digest": sha256(small)}, content=small
                ).status_code
                == 201
            )
            assert http.get(f"/v2/full/blobs/{sha256(small)}").content == small
            assert http.get(f"/v2/keep/blobs/{sha256(kept)}").content == kept
    finally:
        process.kill()
        process.wait(10)
