"""kill -9 the emulator during concurrent pushes, restart it on the same data dir, and check nothing is broken.

Per round (seeded; the seed is printed): open a few upload sessions, start N concurrent pushes with the
async content client (blobs of random sizes, some uploaded in chunks, then a tagged manifest), SIGKILL the
process once a random number of pushes has finished, then:

* offline: `PRAGMA integrity_check` on the database opened read-only; every file in the blob store hashes
  to its name; every blob the database links exists;
* online, after a restart: walk `/v2/_catalog` + tags + `/acr/v1/<repo>/_manifests`, every listed manifest
  is complete (blobs present, bytes hash to the digests); every pushed-and-acknowledged tag points to the
  acknowledged digest; every linked blob downloads with the right bytes; every upload session the database
  knows answers either a resumable 204 or 404 BLOB_UPLOAD_UNKNOWN, and the sessions opened before the
  kill resume to a correct blob (or are gone with BLOB_UPLOAD_UNKNOWN).

CI scale: 3 rounds of 50 pushes with small blobs; `CREG_SOAK=1`: 10 rounds with larger blobs.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from containerregistry.aio import ContainerRegistryContentClient
from containerregistry.transport import RetryPolicy
from tests.reliability._emu_common import (
    OCI_MANIFEST,
    SOAK,
    EmulatorProcess,
    assert_oci_error,
    check_blob_store,
    db_integrity,
    image_manifest,
    sha256,
    walk_registry,
)

pytestmark = pytest.mark.reliability

ROUNDS = 10 if SOAK else 3
PUSHES = 50
MAX_LAYER = (4 << 20) if SOAK else (512 << 10)
SESSIONS = 4
SEED = int(os.environ.get("CREG_CRASH_SEED", "20240606"))


@dataclass
class Push:
    repo: str
    tag: str
    config: bytes
    layers: list[bytes]
    chunked: bool
    acknowledged: str | None = None  # manifest digest the registry confirmed
    error: str | None = None


def _layer(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.1:
        size = 0
    elif kind < 0.5:
        size = rng.randint(1, 4096)
    elif kind < 0.9:
        size = rng.randint(4097, MAX_LAYER // 4)
    else:
        size = rng.randint(MAX_LAYER // 4, MAX_LAYER)
    return rng.randbytes(size)


def _plan(rng: random.Random, round_no: int) -> list[Push]:
    pushes = []
    for i in range(PUSHES):
        config = f'{{"architecture":"amd64","os":"linux","round":{round_no},"push":{i}}}'.encode()
        layers = [_layer(rng) for _ in range(rng.randint(1, 3))]
        pushes.append(
            Push(f"crash/r{i % 5}", f"round{round_no}-push{i}", config, layers, chunked=rng.random() < 0.3)
        )
    return pushes


class _Progress:
    """Counts acknowledged and finished pushes; `moment` is set once `kill_after` pushes are
    acknowledged or every push has finished, whichever comes first."""

    def __init__(self, kill_after: int, total: int) -> None:
        self.acknowledged = 0
        self.finished = 0
        self._kill_after = kill_after
        self._total = total
        self.moment = asyncio.Event()
        self._update()

    def _update(self) -> None:
        if self.acknowledged >= self._kill_after or self.finished >= self._total:
            self.moment.set()

    def acknowledge(self) -> None:
        self.acknowledged += 1
        self._update()

    def finish(self) -> None:
        self.finished += 1
        self._update()


async def _run_push(endpoint: str, push: Push, progress: _Progress) -> None:
    client = ContainerRegistryContentClient(
        endpoint,
        push.repo,
        retry=RetryPolicy(max_retries=0),
        upload_attempts=1,
        timeout=10,
        chunk_size=(64 << 10) if push.chunked else None,
    )
    try:
        for blob in (push.config, *push.layers):
            result = await client.upload_blob(blob)
            assert result.digest == sha256(blob)
        body = image_manifest(push.config, push.layers)
        stored = await client.set_manifest(body, tag=push.tag, media_type=OCI_MANIFEST)
        push.acknowledged = stored.digest
        progress.acknowledge()
    except Exception as exc:  # the kill: connection refused/reset, timeouts
        push.error = type(exc).__name__
    finally:
        try:
            await client.close()
        except Exception:
            pass
        progress.finish()


async def _pushes_with_kill(
    emulator: EmulatorProcess, pushes: list[Push], kill_after: int, extra: float
) -> float:
    progress = _Progress(kill_after, len(pushes))
    tasks = [asyncio.create_task(_run_push(emulator.endpoint, p, progress)) for p in pushes]
    started = time.monotonic()
    try:
        await asyncio.wait_for(progress.moment.wait(), timeout=60)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(extra)
    killed_at = time.monotonic() - started
    emulator.kill9()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return killed_at


def _open_sessions(http: httpx.Client, rng: random.Random) -> list[tuple[str, bytes, int]]:
    """(location, full blob, bytes sent before the kill) for a few half-done upload sessions."""
    sessions = []
    for _ in range(SESSIONS):
        data = rng.randbytes(rng.randint(3, 300_000))
        # 0 bytes, or at least 2 (a Range of "0-0" would not say whether 0 or 1 byte is held).
        sent = 0 if rng.random() < 0.25 else rng.randint(2, len(data) - 1)
        response = http.post("/v2/crash/sessions/blobs/uploads/")
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        if sent:
            response = http.patch(
                location,
                content=data[:sent],
                headers={"Content-Range": f"0-{sent - 1}", "Content-Type": "application/octet-stream"},
            )
            assert response.status_code == 202, response.text
            location = response.headers["Location"]
        sessions.append((location, data, sent))
    return sessions


def _resume_session(http: httpx.Client, location: str, data: bytes, sent: int) -> str:
    """Resume a session after the restart; returns 'resumed' or 'unknown'.

    Its PATCH was acknowledged before the kill, so the registry must still hold exactly those bytes.
    """
    status = http.get(location)
    if status.status_code == 404:
        assert_oci_error(status, 404, "BLOB_UPLOAD_UNKNOWN")
        return "unknown"
    assert status.status_code == 204, (status.status_code, status.text)
    expected_range = f"0-{max(sent - 1, 0)}"
    assert status.headers["Range"] == expected_range, (status.headers["Range"], sent)
    rest = data[sent:]
    headers = {"Content-Range": f"{sent}-{len(data) - 1}"} if rest else {}
    done = http.put(
        status.headers["Location"], params={"digest": sha256(data)}, content=rest, headers=headers
    )
    assert done.status_code == 201, done.text
    blob = http.get(f"/v2/crash/sessions/blobs/{sha256(data)}")
    assert blob.status_code == 200 and blob.content == data
    return "resumed"


def test_kill_9_during_concurrent_pushes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    emulator = EmulatorProcess(data_dir, tmp_path / "emulator.log")
    print(f"\n[reliability] emulator kill -9: seed={SEED} rounds={ROUNDS} pushes/round={PUSHES}")
    acknowledged: dict[tuple[str, str], str] = {}
    totals = {"manifests": 0, "blobs": 0, "files": 0, "acknowledged": 0}
    try:
        emulator.start()
        for round_no in range(ROUNDS):
            rng = random.Random(SEED * 1000 + round_no)
            with httpx.Client(base_url=emulator.endpoint, timeout=10) as http:
                sessions = _open_sessions(http, rng)
            pushes = _plan(rng, round_no)
            kill_after = rng.randint(0, PUSHES - 10)
            extra = rng.uniform(0, 0.005)
            killed_at = asyncio.run(_pushes_with_kill(emulator, pushes, kill_after, extra))
            ok = [p for p in pushes if p.acknowledged]
            failed = [p for p in pushes if p.error]
            assert len(ok) + len(failed) == PUSHES
            assert failed, "the kill should have interrupted some pushes"
            for p in ok:
                acknowledged[(p.repo, p.tag)] = p.acknowledged or ""

            # Offline checks, right after the kill.
            integrity, links, uploads = db_integrity(data_dir)
            assert integrity == "ok"
            files, problems = check_blob_store(data_dir)
            assert problems == []
            for row in links:
                assert (data_dir / "blobs" / "sha256" / row["digest"].split(":", 1)[1]).is_file(), dict(row)

            # Online checks, after a restart on the same data dir.
            emulator.start()
            with httpx.Client(base_url=emulator.endpoint, timeout=30) as http:
                walk = walk_registry(http)
                assert walk.problems == []
                for (repo, tag), digest in acknowledged.items():
                    got = http.get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
                    assert got.status_code == 200, (repo, tag, got.text)
                    assert got.headers["Docker-Content-Digest"] == digest == sha256(got.content)
                for row in links:
                    blob = http.get(f"/v2/{row['repo']}/blobs/{row['digest']}")
                    assert blob.status_code == 200, dict(row)
                    assert sha256(blob.content) == row["digest"] and len(blob.content) == row["size"]
                upload_states = {"open": 0, "unknown": 0}
                mine = {loc.split("?")[0].rsplit("/", 1)[1] for loc, _, _ in sessions}
                for row in uploads:
                    if row["id"] in mine:
                        continue  # resumed below
                    status = http.get(f"/v2/{row['repo']}/blobs/uploads/{row['id']}")
                    if status.status_code == 404:
                        assert_oci_error(status, 404, "BLOB_UPLOAD_UNKNOWN")
                        upload_states["unknown"] += 1
                    else:
                        assert status.status_code == 204, status.text
                        assert status.headers["Location"] and status.headers["Range"].startswith("0-")
                        upload_states["open"] += 1
                        # Cancel it: the session is usable (and is then gone).
                        assert http.delete(status.headers["Location"]).status_code == 204
                        assert_oci_error(http.get(status.headers["Location"]), 404, "BLOB_UPLOAD_UNKNOWN")
                resumed = [_resume_session(http, loc, data, sent) for loc, data, sent in sessions]
            totals["manifests"] += walk.manifests
            totals["blobs"] += walk.blobs_checked
            totals["files"] += files
            totals["acknowledged"] += len(ok)
            print(
                f"[reliability] round {round_no}: killed after {killed_at:.2f}s "
                f"(kill_after={kill_after}), pushes ok={len(ok)} interrupted={len(failed)}; "
                f"catalog: {walk.repositories} repos, {walk.manifests} manifests, {walk.tags} tags, "
                f"{walk.blobs_checked} blobs verified; blob files hashed={files}; db links={len(links)}; "
                f"integrity_check={integrity}; db upload sessions open={upload_states['open']} "
                f"unknown={upload_states['unknown']}; pre-kill sessions "
                f"resumed={resumed.count('resumed')} unknown={resumed.count('unknown')}"
            )
        assert "Traceback" not in emulator.log_text()
    finally:
        emulator.stop()
    print(
        f"[reliability] kill -9 totals: rounds={ROUNDS} acknowledged pushes={totals['acknowledged']} "
        f"manifest checks={totals['manifests']} blob checks={totals['blobs']} "
        f"blob files hashed={totals['files']} corruptions=0"
    )
