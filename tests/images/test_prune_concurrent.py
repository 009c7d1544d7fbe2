"""prune with many deletes in flight, against the emulator behind a real loopback HTTP proxy (sync and async).

The proxy (a `ThreadingHTTPServer` in this file) forwards every request to the emulator and records the
manifest deletes: when each started and ended, how many were in flight at once. It can hold each delete
for a while (so that overlap shows), answer chosen deletes itself (405 refused, 500 failed), or drop the
connection without an answer.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from containerregistry import images
from containerregistry._sync import ContainerRegistryContentClient
from containerregistry.aio import images as aimages
from containerregistry.cli import cli
from containerregistry.transport import RetryPolicy
from tests.images.support import Ops, build_layout
from tests.images.test_prune import push_small_image, tags_of

NO_BACKOFF = RetryPolicy(max_retries=1, backoff_factor=0)


@dataclass
class DeleteLog:
    upstream: str
    hold: float = 0.0
    answers: dict[str, int] = field(default_factory=dict)  # manifest digest -> status the proxy answers
    drop_deletes: bool = False
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def deleted_after(self, later: str, earlier: str) -> bool:
        """Every delete of `later` started after the (last) delete of `earlier` ended."""
        return min(s for s, _ in self.spans[later]) >= max(e for _, e in self.spans[earlier])


class _Proxy(http.server.BaseHTTPRequestHandler):
    log_: DeleteLog
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        log = self.log_
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        digest = self.path.split("?")[0].rsplit("/manifests/", 1)[-1] if "/manifests/" in self.path else ""
        deleting = self.command == "DELETE" and digest.startswith("sha256:")
        started = time.monotonic()
        answered: float | None = None  # the end of a span: before the answer is sent, so a delete the
        # client starts on receiving it can never seem to start before this one ended
        if deleting:
            with log.lock:
                log.in_flight += 1
                log.most_in_flight = max(log.most_in_flight, log.in_flight)
            time.sleep(log.hold)
        try:
            if deleting and log.drop_deletes:
                self.close_connection = True
                return
            if deleting and digest in log.answers:
                status = log.answers[digest]
                code = "REGISTRY_DISALLOWED_OPERATION" if status == 405 else "UNKNOWN"
                message = "The operation is disallowed" if status == 405 else "internal error"
                reply = httpx.Response(
                    status,
                    json={"errors": [{"code": code, "message": message}]},
                    headers={"Content-Type": "application/json", "Retry-After": "0"},
                )
            else:
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                reply = log.client.request(
                    self.command, log.upstream + self.path, headers=headers, content=body
                )
            answered = time.monotonic()
            self.send_response(reply.status_code)
            for name, value in reply.headers.items():
                if name.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                ):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(b"" if self.command == "HEAD" else reply.content)
        finally:
            if deleting:
                with log.lock:
                    log.in_flight -= 1
                    ended = answered if answered is not None else time.monotonic()
                    log.spans.setdefault(digest, []).append((started, ended))

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(registry_emulator: Any) -> Iterator[tuple[str, DeleteLog]]:
    """`(endpoint, log)` of a proxy in front of the session's emulator."""
    log = DeleteLog(registry_emulator.endpoint)
    handler = type("Handler", (_Proxy,), {"log_": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        log.client.close()


def push_index(endpoint: str, repository: str, tag: str, children: list[str]) -> str:
    """An OCI index over manifests already in `repository`; returns its digest."""
    with ContainerRegistryContentClient(endpoint, repository) as client:
        entries = []
        for digest in children:
            got = client.get_manifest(digest)
            entries.append({"mediaType": got.media_type, "digest": digest, "size": len(got.content)})
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }
        return client.set_manifest(json.dumps(index).encode(), tag=tag).digest


def exists(endpoint: str, repository: str, digest: str) -> bool:
    with httpx.Client() as client:
        response = client.head(
            f"{endpoint}/v2/{repository}/manifests/{digest}",
            headers={
                "Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"
            },
        )
        return response.status_code == 200


def test_prune_deletes_the_right_set_with_many_deletes_in_flight(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    direct = registry_emulator.endpoint
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:multi")  # the oldest
    digests = [push_small_image(direct, repo, f"v{i}") for i in range(20)]  # v19 newest
    log.hold = 0.05

    done = ops.prune(endpoint, repo, keep=3, concurrency=8)

    newest_first = [*reversed(digests[:17]), image.index_digest]
    assert [m.digest for m in done.deleted[:18]] == newest_first  # the listing's order, not the finishing one
    assert sorted(m.digest for m in done.deleted[18:]) == sorted(image.manifests.values())
    assert done.skipped == [] and [m.tags for m in done.kept] == [["v19"], ["v18"], ["v17"]]
    assert tags_of(direct, repo) == ["v17", "v18", "v19"]
    assert not any(exists(direct, repo, d) for d in [*newest_first, *image.manifests.values()])
    assert 2 <= log.most_in_flight <= 8
    assert sorted(log.spans) == sorted([*newest_first, *image.manifests.values()])  # each once
    assert all(len(s) == 1 for s in log.spans.values())
    for platform_manifest in image.manifests.values():  # after their index's delete succeeded
        assert log.deleted_after(platform_manifest, image.index_digest)


def test_an_index_the_registry_refuses_keeps_the_platform_manifest_it_shares_with_one_that_went(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    direct = registry_emulator.endpoint
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:multi")  # the oldest
    amd64 = image.manifests["linux/amd64"]
    newer = push_index(direct, repo, "amd64-only", [amd64])  # refers to one of multi's platform manifests
    log.answers[image.index_digest] = 405  # e.g. locked after the listing

    done = ops.prune(endpoint, repo, keep=0)

    assert [m.digest for m in done.deleted] == [newer]
    assert [(m.digest, m.reason.split(":")[0]) for m in done.skipped] == [
        (image.index_digest, "the registry refused")
    ]
    kept = {m.digest: m.reason for m in done.kept}
    assert kept == {d: f"referenced by {image.index_digest}, which stays" for d in image.manifests.values()}
    # The index that stays is whole: the platform manifest it shared with the one that went is still there.
    assert all(exists(direct, repo, d) for d in image.manifests.values())
    assert exists(direct, repo, image.index_digest) and not exists(direct, repo, newer)
    assert amd64 not in log.spans  # never tried


def test_a_delete_that_fails_mid_way_is_reported_and_the_rest_go(
    registry_emulator: Any, ops: Ops, repo: str, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    direct = registry_emulator.endpoint
    digests = [push_small_image(direct, repo, f"v{i}") for i in range(12)]
    failing = digests[5]
    log.answers[failing] = 500

    done = ops.prune(endpoint, repo, keep=2, retry=NO_BACKOFF)

    assert [m.digest for m in done.deleted] == [d for d in reversed(digests[:10]) if d != failing]
    assert [m.digest for m in done.skipped] == [failing]
    assert done.skipped[0].reason.startswith("the delete failed: ") and "500" in done.skipped[0].reason
    assert tags_of(direct, repo) == ["v10", "v11", "v5"]
    assert len(log.spans[failing]) == 2  # the client's retry, then reported


def test_deletes_not_started_are_not_tried_when_the_registry_stops_answering(
    registry_emulator: Any, ops: Ops, repo: str, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    direct = registry_emulator.endpoint
    for i in range(10):
        push_small_image(direct, repo, f"v{i}")
    log.drop_deletes = True

    done = ops.prune(endpoint, repo, keep=0, concurrency=2, retry=RetryPolicy(max_retries=0))

    assert done.deleted == [] and len(done.skipped) == 10
    failed = [m for m in done.skipped if m.reason.startswith("the delete failed: ")]
    not_tried = [m for m in done.skipped if m.reason.startswith("not tried: an earlier delete failed (")]
    assert 1 <= len(failed) <= 2 and len(failed) + len(not_tried) == 10
    assert len(log.spans) == len(failed)  # nothing was sent after the first failure but what was in flight
    assert len(tags_of(direct, repo)) == 10


def test_creg_prune_reports_a_failed_delete_and_exits_1(
    registry_emulator: Any, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    repo = f"img/cli-{secrets.token_hex(4)}"
    direct = registry_emulator.endpoint
    digests = [push_small_image(direct, repo, f"v{i}") for i in range(5)]
    log.answers[digests[2]] = 500

    run = CliRunner().invoke(cli, ["-r", endpoint, "-o", "plain", "prune", repo, "--keep", "1"])

    assert run.exit_code == 1, run.stderr
    assert "error: 1 deletes failed or were not tried: run prune again to retry them" in run.stderr
    assert "deleted 3, kept 1, skipped 1" in run.stderr
    rows = [line.split("\t") for line in run.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows if r[0] in ("deleted", "failed")] == [
        ("deleted", digests[3]),
        ("deleted", digests[1]),
        ("deleted", digests[0]),
        ("failed", digests[2]),
    ]
    assert tags_of(direct, repo) == ["v2", "v4"]


def _wait_for_a_delete(log: DeleteLog) -> None:
    deadline = time.monotonic() + 20
    while log.in_flight == 0 and not log.spans:
        assert time.monotonic() < deadline, "no delete reached the proxy"
        time.sleep(0.005)


def test_cancelling_an_async_prune_starts_no_more_deletes(
    registry_emulator: Any, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    direct = registry_emulator.endpoint
    repo = f"img/cancel-{secrets.token_hex(4)}"
    for i in range(12):
        push_small_image(direct, repo, f"v{i}")
    log.hold = 0.4

    async def main() -> None:
        task = asyncio.ensure_future(aimages.prune(endpoint, repo, keep=0, concurrency=4))
        await asyncio.to_thread(_wait_for_a_delete, log)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    time.sleep(0.8)  # what the proxy still holds finishes
    assert 1 <= len(log.spans) <= 4  # only those in flight at the cancel
    assert len(tags_of(direct, repo)) >= 8


def test_ctrl_c_during_a_sync_prune_stops_it_at_once(
    registry_emulator: Any, proxy: tuple[str, DeleteLog]
) -> None:
    endpoint, log = proxy
    direct = registry_emulator.endpoint
    repo = f"img/interrupt-{secrets.token_hex(4)}"
    for i in range(12):
        push_small_image(direct, repo, f"v{i}")
    log.hold = 2.0

    interrupted: list[float] = []

    def interrupt() -> None:
        _wait_for_a_delete(log)
        interrupted.append(time.monotonic())
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)  # Ctrl-C

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        images.prune(endpoint, repo, keep=0, concurrency=4)
    assert time.monotonic() - interrupted[0] < 1.5  # felt before the held deletes answer (2 s)
    time.sleep(2.5)  # what the proxy still holds finishes
    assert 1 <= len(log.spans) <= 4  # nothing started after the interrupt
    assert len(tags_of(direct, repo)) >= 8
