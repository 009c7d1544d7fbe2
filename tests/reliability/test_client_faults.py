"""Client-side faults: blob uploads, downloads and whole-image copies through a fault proxy.

The proxy (tests/support/faults.py) cuts connections, stalls them past the client's 2 s read
timeout and answers 429/500/502/503 itself (with and without Retry-After). Against the emulator and
CNCF Distribution, sync and async, every operation must end with the right digest or a clean
`RegistryError` after the retry budget; no wrong byte may be accepted (every download is compared with
the original bytes) and no tag may point to a manifest whose blobs are missing (checked afterwards,
directly on the registry, for every tag of every target repository).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from containerregistry import ContainerRegistryContentClient, aio
from containerregistry.aio import images as aio_images
from containerregistry.exceptions import DigestValidationError, RegistryError
from containerregistry.images import pull_image, push_image
from containerregistry.protocol import media_types
from containerregistry.protocol.models import OciImageIndex
from containerregistry.transport import (
    AiohttpTransport,
    AsyncRetryTransport,
    RetryPolicy,
    RetryTransport,
    Urllib3Transport,
)
from tests.reliability.conftest import Scale
from tests.reliability.report import Report
from tests.support.adapter import ClientKind
from tests.support.faults import FaultConfig, PlannedFault, run_fault_proxy

pytestmark = pytest.mark.reliability

#: Short timeouts keep stalls cheap; the proxy stalls longer than this.
TIMEOUT = 2.0
STALL = TIMEOUT + 1.0
#: Fast backoff, small cap on Retry-After: the test measures correctness, not patience.
POLICY = RetryPolicy(max_retries=4, backoff_factor=0.05, backoff_max=0.5, retry_after_max=2.0)
#: An operation slower than this is a hang (generous: stalls and Retry-After add up).
OP_DEADLINE = 120.0


# ---------------------------------------------------------------------------------------------------
# Helpers


@dataclass
class Target:
    kind: str
    endpoint: str

    @property
    def port(self) -> int:
        return int(urlsplit(self.endpoint).port or 80)


@pytest.fixture(params=["emulator", "distribution"])
def target(request: pytest.FixtureRequest) -> Target:
    fixture = "registry_emulator" if request.param == "emulator" else "distribution"
    return Target(str(request.param), str(request.getfixturevalue(fixture).endpoint))


def blob_data(seed: int, index: int, size: int) -> bytes:
    """Reproducible random bytes (regenerated rather than kept, so soak scale stays in memory)."""
    return random.Random(seed * 1_000_003 + index).randbytes(size)


def pick_size(rng: random.Random, max_size: int) -> int:
    roll = rng.random()
    if roll < 0.1:
        return 0
    if roll < 0.25:
        return rng.randint(1, 4096)
    return rng.randint(4097, max_size)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class LogCounter(logging.Handler):
    """Counts the library's retry ("retrying ...") and resume ("... interrupted ...") log records."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0
        self.resumes = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        if message.startswith("retrying"):
            self.retries += 1
        elif "interrupted" in message and "resuming" in message:
            self.resumes += 1


@pytest.fixture
def log_counter() -> Iterator[LogCounter]:
    logger = logging.getLogger("containerregistry")
    handler = LogCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def classify(report: Report, exc: BaseException, what: str) -> None:
    """A failure is clean when it is a RegistryError with a message; anything else is a bug."""
    if isinstance(exc, DigestValidationError):
        report.count("digest_errors (detected, refused)")
        report.error(f"{what}: {type(exc).__name__}: {exc}")
    elif isinstance(exc, RegistryError) and str(exc):
        report.count("clean_failures")
        report.count(f"clean_failures.{type(exc).__name__}")
        report.error(f"{what} (clean): {type(exc).__name__}: {exc}")
    else:
        report.count("unexpected_errors")
        report.error(f"{what}: {type(exc).__name__}: {exc!r}")


def sync_client(endpoint: str, repository: str) -> tuple[ContainerRegistryContentClient, RetryTransport]:
    transport = RetryTransport(Urllib3Transport(trust_env=False), POLICY)
    http = httpx.Client(transport=transport, timeout=TIMEOUT, follow_redirects=True, trust_env=False)
    client = ContainerRegistryContentClient(endpoint, repository, http_client=http, retry=POLICY)
    return client, transport


def async_client(
    endpoint: str, repository: str
) -> tuple[aio.ContainerRegistryContentClient, AsyncRetryTransport]:
    transport = AsyncRetryTransport(AiohttpTransport(trust_env=False), POLICY)
    http = httpx.AsyncClient(transport=transport, timeout=TIMEOUT, follow_redirects=True, trust_env=False)
    client = aio.ContainerRegistryContentClient(endpoint, repository, http_client=http, retry=POLICY)
    return client, transport


@contextlib.contextmanager
def kind_client(kind: ClientKind, endpoint: str, repository: str) -> Iterator[Any]:
    """`sync_client` or `async_client` for `kind`, called the same way for both; closed (with its HTTP client) at exit."""
    client: Any = (async_client if kind.is_async else sync_client)(endpoint, repository)[0]
    adapted = kind.adapt(client)
    try:
        yield adapted
    finally:
        adapted.close()
        http = client._pipeline.client
        kind.run(http.aclose() if kind.is_async else http.close())


def push_source_image(
    client: ContainerRegistryContentClient, rng: random.Random, tag: str, max_size: int
) -> str:
    """Push (directly, no faults) an image with 1-3 layers, or an index of two such images."""

    def one(arch: str) -> tuple[str, bytes]:
        layers = []
        for _ in range(rng.randint(1, 3)):
            data = rng.randbytes(rng.randint(0, max(1, max_size // 2)))
            layers.append(
                {
                    "mediaType": media_types.OCI_LAYER,
                    "digest": client.upload_blob(data).digest,
                    "size": len(data),
                }
            )
        config = json.dumps(
            {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_MANIFEST,
            "config": {
                "mediaType": media_types.OCI_CONFIG,
                "digest": client.upload_blob(config).digest,
                "size": len(config),
            },
            "layers": layers,
        }
        content = json.dumps(manifest).encode()
        return client.set_manifest(content, media_type=media_types.OCI_MANIFEST).digest, content

    if rng.random() < 0.5:
        _, content = one("amd64")
        return client.set_manifest(content, tag=tag, media_type=media_types.OCI_MANIFEST).digest
    children = []
    for arch in ("amd64", "arm64"):
        digest, content = one(arch)
        children.append(
            {
                "mediaType": media_types.OCI_MANIFEST,
                "digest": digest,
                "size": len(content),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": children}
    ).encode()
    return client.set_manifest(index, tag=tag, media_type=media_types.OCI_INDEX).digest


def walk_tags(endpoint: str, repository: str) -> tuple[dict[str, str], list[str]]:
    """Every tag of `repository` (read directly) -> digest, and every blob its manifests miss."""
    client = ContainerRegistryContentClient(endpoint, repository, timeout=30)
    tags: dict[str, str] = {}
    missing: list[str] = []
    try:
        try:
            names = list(client.list_tags())
        except RegistryError as exc:
            if getattr(exc, "status_code", None) == 404:
                return tags, missing
            raise
        for tag in names:
            top = client.get_manifest(tag)
            tags[tag] = top.digest
            stack = [top]
            while stack:
                current = stack.pop()
                manifest = current.manifest
                if isinstance(manifest, OciImageIndex):
                    for child in manifest.manifests:
                        stack.append(client.get_manifest(child.digest))
                elif manifest is not None:
                    for blob in (manifest.config, *manifest.layers):
                        if not client.blob_exists(blob.digest):
                            missing.append(f"{repository}:{tag} -> {current.digest} -> {blob.digest}")
                else:
                    missing.append(f"{repository}:{tag}: unparseable manifest {current.digest}")
    finally:
        client.close()
    return tags, missing


# ---------------------------------------------------------------------------------------------------
# The storm


@dataclass
class Plan:
    seed: int
    sizes_up: list[int]
    sizes_down: list[int]
    copies: int
    max_size: int


def _plan(scale: Scale, seed: int) -> Plan:
    rng = random.Random(seed)
    half = max(1, scale.blobs // 2)
    return Plan(
        seed=seed,
        sizes_up=[pick_size(rng, scale.max_size) for _ in range(half)],
        sizes_down=[pick_size(rng, scale.max_size) for _ in range(half)],
        copies=max(1, scale.copies // 2),
        max_size=scale.max_size,
    )


def _check_upload(
    report: Report, direct: ContainerRegistryContentClient, data: bytes, digest: str, size: int
) -> None:
    if digest != sha256(data) or size != len(data):
        report.count("corruptions")
        report.error(f"upload returned {digest}/{size}, expected {sha256(data)}/{len(data)}")
        return
    stored = direct.download_blob_content(digest).content
    if stored != data:
        report.count("corruptions")
        report.error(f"registry holds other bytes for {digest}")
        return
    report.count("uploads_ok")


def _check_download(report: Report, data: bytes, received: bytes) -> None:
    if received != data:
        report.count("corruptions")
        report.error(f"download accepted {len(received)} bytes that differ from the {len(data)} uploaded")
    else:
        report.count("downloads_ok")


def run_sync_storm(
    report: Report, plan: Plan, endpoint: str, proxy_endpoint: str, source_proxy: str, repo: str, tmp: Path
) -> dict[str, str]:
    direct = ContainerRegistryContentClient(endpoint, f"{repo}/blobs", timeout=30)
    client, transport = sync_client(proxy_endpoint, f"{repo}/blobs")
    expected_tags: dict[str, str] = {}
    try:
        for i, size in enumerate(plan.sizes_up):
            data = blob_data(plan.seed, i, size)
            report.count("upload_attempts")
            try:
                result = client.upload_blob(data)
            except Exception as exc:
                classify(report, exc, f"upload {i} ({size} B)")
                continue
            _check_upload(report, direct, data, result.digest, result.size)
        for i, size in enumerate(plan.sizes_down, start=len(plan.sizes_up)):
            data = blob_data(plan.seed, i, size)
            digest = direct.upload_blob(data).digest
            report.count("download_attempts")
            try:
                if i % 2:
                    received = client.download_blob_content(digest).content
                else:
                    path = tmp / f"blob-{i}"
                    client.download_blob_to(digest, path)
                    received = path.read_bytes()
                    path.unlink()
            except Exception as exc:
                classify(report, exc, f"download {i} ({size} B)")
                assert not (tmp / f"blob-{i}").exists(), "a failed download left its file behind"
                continue
            _check_download(report, data, received)
        report.count("transport_retries (stats)", transport.stats.retries)
        # Whole images: pull (directly) into an OCI layout, push the layout through the proxy.
        rng = random.Random(plan.seed + 1)
        source = ContainerRegistryContentClient(endpoint, f"{repo}/src", timeout=30)
        try:
            for j in range(plan.copies):
                tag = f"v{j}"
                digest = push_source_image(source, rng, tag, plan.max_size)
                layout = tmp / f"layout-{j}"
                host = urlsplit(endpoint).netloc
                pull_image(f"{host}/{repo}/src:{tag}", f"oci:{layout}:{tag}", timeout=30)
                report.count("image_attempts")
                started = time.monotonic()
                try:
                    pushed = push_image(
                        f"oci:{layout}:{tag}",
                        f"{urlsplit(proxy_endpoint).netloc}/{repo}/dst:{tag}",
                        retry=POLICY,
                        timeout=TIMEOUT,
                        concurrency=3,
                    )
                except Exception as exc:
                    classify(report, exc, f"push image {j}")
                    continue
                finally:
                    report.time("image_push", time.monotonic() - started)
                if pushed.digest != digest:
                    report.count("corruptions")
                    report.error(f"image {j}: pushed {pushed.digest}, source is {digest}")
                else:
                    expected_tags[tag] = digest
                    report.count("images_ok")
        finally:
            source.close()
    finally:
        client.close()
        client._pipeline.client.close()
        direct.close()
    return expected_tags


async def run_async_storm(
    report: Report, plan: Plan, endpoint: str, proxy_endpoint: str, source_proxy: str, repo: str, tmp: Path
) -> dict[str, str]:
    direct = aio.ContainerRegistryContentClient(endpoint, f"{repo}/blobs", timeout=30)
    client, transport = async_client(proxy_endpoint, f"{repo}/blobs")
    gate = asyncio.Semaphore(4)
    expected_tags: dict[str, str] = {}

    async def upload(i: int, size: int) -> None:
        async with gate:
            data = blob_data(plan.seed, i, size)
            report.count("upload_attempts")
            try:
                result = await asyncio.wait_for(client.upload_blob(data), OP_DEADLINE)
            except Exception as exc:
                classify(report, exc, f"upload {i} ({size} B)")
                return
            if result.digest != sha256(data) or result.size != len(data):
                report.count("corruptions")
                report.error(f"upload {i} returned {result.digest}/{result.size}")
                return
            stored = (await direct.download_blob_content(result.digest)).content
            if stored != data:
                report.count("corruptions")
                report.error(f"registry holds other bytes for {result.digest}")
            else:
                report.count("uploads_ok")

    async def download(i: int, size: int) -> None:
        async with gate:
            data = blob_data(plan.seed, i, size)
            digest = (await direct.upload_blob(data)).digest
            report.count("download_attempts")
            try:
                if i % 2:
                    received = (
                        await asyncio.wait_for(client.download_blob_content(digest), OP_DEADLINE)
                    ).content
                else:
                    buffer = bytearray()

                    async def stream() -> None:
                        async with client.download_blob_streaming(digest) as blob:
                            async for chunk in blob.iter_bytes():
                                buffer.extend(chunk)

                    await asyncio.wait_for(stream(), OP_DEADLINE)
                    received = bytes(buffer)
            except Exception as exc:
                classify(report, exc, f"download {i} ({size} B)")
                return
            _check_download(report, data, received)

    try:
        await asyncio.gather(*(upload(i, s) for i, s in enumerate(plan.sizes_up)))
        offset = len(plan.sizes_up)
        await asyncio.gather(*(download(offset + i, s) for i, s in enumerate(plan.sizes_down)))
        report.count("transport_retries (stats)", transport.stats.retries)
        # Whole images: registry to registry, both sides through (separate) fault proxies.
        rng = random.Random(plan.seed + 1)
        source = ContainerRegistryContentClient(endpoint, f"{repo}/src", timeout=30)
        try:
            sources = [push_source_image(source, rng, f"v{j}", plan.max_size) for j in range(plan.copies)]
        finally:
            source.close()

        async def copy(j: int, digest: str) -> None:
            report.count("image_attempts")
            started = time.monotonic()
            try:
                result = await asyncio.wait_for(
                    aio_images.copy_image(
                        f"{urlsplit(source_proxy).netloc}/{repo}/src:v{j}",
                        f"{urlsplit(proxy_endpoint).netloc}/{repo}/dst:v{j}",
                        retry=POLICY,
                        timeout=TIMEOUT,
                        concurrency=3,
                    ),
                    OP_DEADLINE,
                )
            except Exception as exc:
                classify(report, exc, f"copy image {j}")
                return
            finally:
                report.time("image_copy", time.monotonic() - started)
            if result.digest != digest or result.blobs_mounted:
                report.count("corruptions")
                report.error(
                    f"image {j}: copied {result.digest} (mounted {result.blobs_mounted}), source {digest}"
                )
            else:
                expected_tags[f"v{j}"] = digest
                report.count("images_ok")

        await asyncio.gather(*(copy(j, d) for j, d in enumerate(sources)))
    finally:
        await client.close()
        await client._pipeline.client.aclose()
        await direct.close()
    return expected_tags


_runs = iter(range(1_000_000))


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_fault_storm(
    target: Target,
    flavour: str,
    scale: Scale,
    seed: int,
    log_counter: LogCounter,
    report_dir: Path,
    tmp_path: Path,
) -> None:
    """Blob uploads, downloads and image copies under random faults: right digests or clean errors."""
    report = Report(f"faults-{target.kind}-{flavour}-{scale.name}")
    plan = _plan(scale, seed)
    repo = f"reliability/{target.kind}-{flavour}-{seed % 100000}-{next(_runs)}"
    config = FaultConfig(
        probability=scale.fault_probability, max_offset=scale.max_size, stall_seconds=STALL, seed=seed
    )
    source_config = FaultConfig(
        probability=scale.fault_probability, max_offset=scale.max_size, stall_seconds=STALL, seed=seed + 7
    )
    report.set("seed", seed)
    report.set("registry", target.kind)
    report.set("flavour", flavour)
    report.set(
        "blob sizes", f"0 B .. {scale.max_size} B, {len(plan.sizes_up)} up + {len(plan.sizes_down)} down"
    )
    started = time.monotonic()
    with (
        run_fault_proxy(target.port, config) as proxy,
        run_fault_proxy(target.port, source_config) as source_proxy,
    ):
        runner: Callable[..., Any] = run_sync_storm if flavour == "sync" else run_async_storm
        args = (report, plan, target.endpoint, proxy.endpoint, source_proxy.endpoint, repo, tmp_path)
        expected = runner(*args) if flavour == "sync" else asyncio.run(runner(*args))
        faults = proxy.faults + source_proxy.faults
        requests = proxy.requests + source_proxy.requests
    report.set("seconds", round(time.monotonic() - started, 1))
    report.set("requests through the proxies", requests)
    for kind, n in sorted(faults.items()):
        report.count(f"fault.{kind}", n)
    report.count("faults_injected", sum(faults.values()))
    report.count("retries_logged (all clients)", log_counter.retries)
    report.count("resumes_logged", log_counter.resumes)
    # Afterwards, directly: every tag at the target points to a complete manifest, and the right one.
    tags, missing = walk_tags(target.endpoint, f"{repo}/dst")
    report.count("target_tags", len(tags))
    report.count("dangling_tags", len(missing))
    for tag, digest in tags.items():
        if tag in expected and expected[tag] != digest:
            report.count("corruptions")
            report.error(f"tag {tag} points to {digest}, expected {expected[tag]}")
    missing_tags = sorted(set(expected) - set(tags))
    if missing_tags:
        report.error(f"images reported copied but untagged: {missing_tags}")
    report.count("corruptions", 0)
    report.publish(report_dir)

    counters = report.counters
    assert counters["corruptions"] == 0, report.errors
    assert counters["unexpected_errors"] == 0, report.errors
    # Digest errors are refused bytes, not accepted ones; they should not happen at all, but the sync
    # transport takes a response head cut short for a complete response (see
    # test_sync_download_survives_a_cut_inside_the_response_head), so they are counted, not failed on.
    assert counters["dangling_tags"] == 0, missing
    assert not missing_tags
    assert counters["faults_injected"] >= 3, "the proxy injected almost nothing: the run proves little"
    attempts = counters["upload_attempts"] + counters["download_attempts"] + counters["image_attempts"]
    successes = counters["uploads_ok"] + counters["downloads_ok"] + counters["images_ok"]
    failures = counters["clean_failures"] + counters["digest_errors (detected, refused)"]
    assert attempts == successes + failures, report.summary()
    # The retry budget absorbs almost every fault at this probability.
    assert successes >= 0.8 * attempts, report.summary()


# ---------------------------------------------------------------------------------------------------
# Resume: uploads from the registry's offset, downloads with Range


RESUME_SIZE = 16 * 1024 * 1024


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_upload_resumes_from_the_registry_offset(
    registry_emulator: Any,
    flavour: str,
    client_kind: ClientKind,
    seed: int,
    report_dir: Path,
    log_counter: LogCounter,
) -> None:
    """Three cuts mid-PATCH: the client asks the emulator how much it holds and re-sends little."""
    rng = random.Random(seed)
    data = rng.randbytes(RESUME_SIZE)
    offsets = [rng.randint(RESUME_SIZE // 8, RESUME_SIZE // 3) for _ in range(3)]
    plan = [PlannedFault("cut_up", offset=offset, method="PATCH") for offset in offsets]
    endpoint = registry_emulator.endpoint
    repo = f"reliability/resume-up-{flavour}-{next(_runs)}"
    with run_fault_proxy(int(urlsplit(endpoint).port or 80), FaultConfig(seed=seed), plan) as proxy:
        with kind_client(client_kind, proxy.endpoint, repo) as client:
            result = client.upload_blob(data)
        cuts = proxy.faults["cut_up"]
        sent = proxy.bytes_up
    assert result.digest == sha256(data)
    direct = ContainerRegistryContentClient(endpoint, repo)
    try:
        assert direct.download_blob_content(result.digest).content == data
    finally:
        direct.close()
    resent = sent - RESUME_SIZE
    restart_cost = sum(offsets)  # what starting over after each cut would have re-sent, at least
    report = Report(f"resume-upload-{flavour}")
    report.set("blob bytes", RESUME_SIZE)
    report.set("cuts at request offsets", offsets)
    report.count("cuts", cuts)
    report.count("resumes_logged", log_counter.resumes)
    report.count("bytes sent through the proxy", sent)
    report.count("bytes re-sent (incl. HTTP heads)", resent)
    report.set("a restart would re-send at least", restart_cost)
    report.publish(report_dir)
    assert cuts == 3
    assert log_counter.resumes == 3
    # Resumed from the registry's offset: only what was in flight is sent twice.
    assert resent < restart_cost // 2, f"re-sent {resent} bytes; starting over costs {restart_cost}"
    assert resent < RESUME_SIZE // 2


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_download_resumes_with_range(
    target: Target,
    flavour: str,
    client_kind: ClientKind,
    seed: int,
    report_dir: Path,
    log_counter: LogCounter,
) -> None:
    """Two cuts mid-body: the download continues with `Range` and re-reads nothing."""
    rng = random.Random(seed)
    data = rng.randbytes(RESUME_SIZE)
    repo = f"reliability/resume-down-{flavour}-{next(_runs)}"
    direct = ContainerRegistryContentClient(target.endpoint, repo)
    try:
        digest = direct.upload_blob(data).digest
    finally:
        direct.close()
    offsets = [rng.randint(RESUME_SIZE // 8, RESUME_SIZE // 3) for _ in range(2)]
    plan = [PlannedFault("cut_down", offset=offset, method="GET") for offset in offsets]
    with run_fault_proxy(target.port, FaultConfig(seed=seed), plan) as proxy:
        with kind_client(client_kind, proxy.endpoint, repo) as client:
            received = client.download_blob_content(digest).content
        cuts, ranged, down = proxy.faults["cut_down"], proxy.ranged_gets, proxy.bytes_down
    report = Report(f"resume-download-{target.kind}-{flavour}")
    report.set("blob bytes", RESUME_SIZE)
    report.count("cuts", cuts)
    report.count("ranged GETs", ranged)
    report.count("bytes received through the proxy", down)
    report.publish(report_dir)
    assert received == data
    assert cuts == 2 and ranged == 2
    assert log_counter.resumes == 2
    # Sync re-reads nothing. aiohttp raises a payload error before handing over the bytes it still
    # buffered, so the async client resumes up to its flow-control high-water mark (2 x the transport's
    # 1 MiB read_bufsize) earlier; bounded either way.
    allowance = 64 * 1024 if flavour == "sync" else cuts * 2 * 1024 * 1024 + 64 * 1024
    assert down < RESUME_SIZE + allowance, f"{down} bytes read for a {RESUME_SIZE}-byte blob"


# ---------------------------------------------------------------------------------------------------
# Found by the storm: a response head cut short


@pytest.mark.parametrize(
    "flavour",
    ["sync", "async"],
)
@pytest.mark.parametrize("offset", [20, 40])
def test_download_survives_a_cut_inside_the_response_head(
    target: Target, flavour: str, client_kind: ClientKind, offset: int, seed: int
) -> None:
    """A connection cut a few bytes into the response head is a connection error: retried, not data."""
    data = random.Random(seed).randbytes(300_000)
    repo = f"reliability/head-cut-{flavour}-{next(_runs)}"
    direct = ContainerRegistryContentClient(target.endpoint, repo)
    try:
        digest = direct.upload_blob(data).digest
    finally:
        direct.close()
    plan = [PlannedFault("cut_down", offset=offset, method="GET")]
    with run_fault_proxy(target.port, FaultConfig(seed=seed), plan) as proxy:
        with kind_client(client_kind, proxy.endpoint, repo) as client:
            received = client.download_blob_content(digest).content
        assert proxy.faults["cut_down"] == 1
    assert received == data


def _location_offset(port: int, repository: str) -> int:
    """Where the value of `Location` starts in the emulator's answer to an upload POST."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST /v2/{repository}/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = sock.recv(65536)
            if not data:
                break
            head += data
    return head.index(b"\r\nLocation: ") + len(b"\r\nLocation: ")


@pytest.mark.parametrize(
    "flavour",
    ["sync", "async"],
)
def test_upload_survives_a_cut_inside_the_location_header(
    registry_emulator: Any, flavour: str, client_kind: ClientKind, seed: int
) -> None:
    data = random.Random(seed).randbytes(100_000)
    repo = f"reliability/location-cut-{flavour}-{next(_runs)}"
    port = int(urlsplit(registry_emulator.endpoint).port or 80)
    offset = _location_offset(port, repo) + 12  # a dozen characters into the upload URL
    plan = [PlannedFault("cut_down", offset=offset, method="POST")]
    with run_fault_proxy(port, FaultConfig(seed=seed), plan) as proxy:
        with kind_client(client_kind, proxy.endpoint, repo) as client:
            result = client.upload_blob(data)
        assert proxy.faults["cut_down"] == 1
    assert result.digest == sha256(data)
