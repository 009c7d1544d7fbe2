"""Disk full during an upload: a clean OCI error, the session cleaned up, earlier data intact, still serving.

Two honest ways to fill the disk, each its own parameter:

* `tmpfs`: the data dir lives on an 8 MiB tmpfs mounted for the test (needs root; skipped, not passed,
  when mounting is not permitted) -> ENOSPC;
* `rlimit_fsize`: the emulator subprocess runs with RLIMIT_FSIZE = 4 MiB (SIGXFSZ ignored), so writing
  any file past 4 MiB fails with EFBIG, which is how a quota'd or size-limited data dir behaves.

A 16 MiB upload cannot fit in either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from containerregistry.aio import ContainerRegistryContentClient
from containerregistry.exceptions import HttpResponseError, ServiceRequestError
from containerregistry.transport import RetryPolicy
from tests.reliability._emu_common import (
    OCI_MANIFEST,
    EmulatorProcess,
    assert_oci_error,
    push_image,
    sha256,
)

pytestmark = pytest.mark.reliability

_FSIZE_LIMIT = 4 << 20
_BIG = 16 << 20


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (_FSIZE_LIMIT, _FSIZE_LIMIT))


@dataclass
class FullDisk:
    emulator: EmulatorProcess
    http: httpx.Client
    data_dir: Path
    earlier: list[tuple[str, str, bytes]]  # (repo, tag, manifest bytes)
    earlier_blobs: list[tuple[str, bytes]]


@contextlib.contextmanager
def _tmpfs(path: Path) -> Iterator[Path]:
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the rlimit_fsize variant covers disk full here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted: {done.stderr.decode(errors='replace')[:200]}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@pytest.fixture(params=["tmpfs", "rlimit_fsize"])
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    with contextlib.ExitStack() as stack:
        if request.param == "tmpfs":
            root = stack.enter_context(_tmpfs(tmp_path / "mnt"))
            emulator = EmulatorProcess(root / "data", tmp_path / "emulator.log")
        else:
            emulator = EmulatorProcess(
                tmp_path / "data", tmp_path / "emulator.log", preexec_fn=_limit_file_size
            )
        emulator.start()
        stack.callback(emulator.stop)
        http = stack.enter_context(httpx.Client(base_url=emulator.endpoint, timeout=30))
        earlier = []
        blobs = []
        for i in range(2):
            layers = [os.urandom(400_000), os.urandom(100_000 + i)]
            _, body = push_image(http, "keep/me", f"v{i}", layers)
            earlier.append(("keep/me", f"v{i}", body))
            blobs += [("keep/me", layer) for layer in layers]
        yield FullDisk(emulator, http, emulator.data_dir, earlier, blobs)
        assert emulator.alive(), "the emulator died"


def _assert_still_serving(disk: FullDisk) -> None:
    http = disk.http
    assert disk.emulator.alive()
    for repo, tag, body in disk.earlier:
        got = http.get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
        assert got.status_code == 200 and got.content == body
        assert got.headers["Docker-Content-Digest"] == sha256(body)
    for repo, blob in disk.earlier_blobs:
        got = http.get(f"/v2/{repo}/blobs/{sha256(blob)}")
        assert got.status_code == 200 and sha256(got.content) == sha256(blob)
    assert http.get("/v2/_catalog").json()["repositories"] == ["keep/me"]


def _assert_clean_failure(response: httpx.Response, disk: FullDisk) -> None:
    assert 400 <= response.status_code < 600, response.status_code
    assert_oci_error(response, response.status_code)
    assert "Errno" not in response.text and "No space" not in response.text


def test_single_request_upload_on_full_disk(full_disk: FullDisk) -> None:
    http = full_disk.http
    big = os.urandom(_BIG)
    response = http.post("/v2/df/blobs/uploads/", params={"digest": sha256(big)}, content=big)
    _assert_clean_failure(response, full_disk)
    print(f"\n[reliability] disk full, single-request upload: {response.status_code} {response.text[:120]}")
    # No temp file left, nothing visible, the emulator serves old data and takes a new small blob.
    assert list((full_disk.data_dir / "uploads").iterdir()) == []
    assert http.head(f"/v2/df/blobs/{sha256(big)}").status_code == 404
    assert not (full_disk.data_dir / "blobs" / "sha256" / sha256(big).split(":")[1]).exists()
    _assert_still_serving(full_disk)
    small = os.urandom(1000)
    created = http.post("/v2/df/blobs/uploads/", params={"digest": sha256(small)}, content=small)
    assert created.status_code == 201, created.text
    assert http.get(f"/v2/df/blobs/{sha256(small)}").content == small


def test_content_client_gets_a_clear_error_on_full_disk(full_disk: FullDisk) -> None:
    async def upload() -> BaseException | None:
        async with ContainerRegistryContentClient(
            full_disk.emulator.endpoint, "df/client", retry=RetryPolicy(max_retries=1, backoff_factor=0.01)
        ) as client:
            try:
                await asyncio.wait_for(client.upload_blob(os.urandom(_BIG)), 60)
            except (HttpResponseError, ServiceRequestError) as exc:
                return exc
        return None

    error = asyncio.run(upload())
    assert error is not None, "a 16 MiB upload cannot have succeeded on a full disk"
    assert "upload" in str(error).lower() and "Traceback" not in str(error)
    print(f"\n[reliability] disk full, content client: {type(error).__name__}: {str(error)[:160]}")
    _assert_still_serving(full_disk)


def test_session_upload_on_full_disk_fails_cleanly(full_disk: FullDisk) -> None:
    http = full_disk.http
    location = http.post("/v2/df/blobs/uploads/").headers["Location"]
    response = http.patch(
        location, content=os.urandom(_BIG), headers={"Content-Type": "application/octet-stream"}
    )
    _assert_clean_failure(response, full_disk)
    _assert_still_serving(full_disk)


# Fixed by ce8a8d2 (507 UNAVAILABLE, session and file dropped); first seen failing here.
def test_session_upload_on_full_disk_cleans_up(full_disk: FullDisk) -> None:
    http = full_disk.http
    location = http.post("/v2/df/blobs/uploads/").headers["Location"]
    big = os.urandom(_BIG)
    response = http.patch(location, content=big, headers={"Content-Type": "application/octet-stream"})
    _assert_clean_failure(response, full_disk)
    assert_oci_error(http.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert list((full_disk.data_dir / "uploads").iterdir()) == []
    # The space is free again: a new blob fits.
    small = os.urandom(1_000_000)
    created = http.post("/v2/df/blobs/uploads/", params={"digest": sha256(small)}, content=small)
    assert created.status_code == 201, created.text
