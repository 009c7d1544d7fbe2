"""Load: 200 concurrent async clients against the emulator (in its own process) for a bounded time.

Each client mixes pushes (a small blob, a config, a manifest, a tag), pulls (manifest by tag and the
blob, compared with the bytes pushed), listings (OCI tags, ACR tags, the catalog) and ACR property
reads and updates. Zero errors and zero corruption are required; p50/p99 latency of the metadata calls
and the operation rate are reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from containerregistry import aio
from tests.reliability.conftest import Scale
from tests.reliability.report import Report, percentile

pytestmark = pytest.mark.reliability

REPOSITORIES = 20
OP_TIMEOUT = 60.0
METADATA = ("list_tags", "list_acr_tags", "list_catalog", "get_tag_properties", "update_tag_properties")


@contextlib.contextmanager
def emulator_process(data_dir: Path) -> Iterator[str]:
    """The emulator in a subprocess (open mode), so clients and server do not share a GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "containerregistry.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data",
        str(data_dir),
        "--log-level",
        "ERROR",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


@dataclass
class Image:
    tag: str
    digest: str
    layer: str
    data: bytes


@dataclass
class Shared:
    images: dict[str, list[Image]] = field(default_factory=dict)
    #: Kinds of operation that completed at least once (over all workers).
    kinds: set[str] = field(default_factory=set)


async def worker(
    index: int, endpoint: str, deadline: float, shared: Shared, report: Report, seed: int
) -> None:
    rng = random.Random(seed * 1009 + index)
    repo = f"load/r{index % REPOSITORIES}"
    own: list[Image] = []
    async with (
        aio.ContainerRegistryContentClient(endpoint, repo, timeout=OP_TIMEOUT) as content,
        aio.ContainerRegistryClient(endpoint, timeout=OP_TIMEOUT) as acr,
    ):

        async def push() -> None:
            data = rng.randbytes(rng.randint(1, 32 * 1024))
            layer = await content.upload_blob(data)
            config = json.dumps({"architecture": "amd64", "os": "linux", "worker": index}).encode()
            config_digest = (await content.upload_blob(config)).digest
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer.digest,
                        "size": len(data),
                    }
                ],
            }
            tag = f"w{index}-{len(own)}"
            digest = (await content.set_manifest(manifest, tag=tag)).digest
            image = Image(tag, digest, layer.digest, data)
            own.append(image)
            shared.images.setdefault(repo, []).append(image)

        async def pull() -> None:
            image = rng.choice(shared.images[repo])
            got = await content.get_manifest(image.tag)
            if got.digest != image.digest:
                report.count("corruptions")
                report.error(f"{repo}:{image.tag} -> {got.digest}, pushed {image.digest}")
                return
            blob = (await content.download_blob_content(image.layer)).content
            if blob != image.data:
                report.count("corruptions")
                report.error(f"{repo}@{image.layer}: other bytes than pushed")

        async def list_tags() -> None:
            async for page in content.list_tags(results_per_page=50).by_page():
                _ = [tag async for tag in page]
                break

        async def list_acr_tags() -> None:
            async for page in acr.get_repository(repo).list_tag_properties(results_per_page=50).by_page():
                _ = [tag async for tag in page]
                break

        async def list_catalog() -> None:
            names = [name async for name in acr.list_repository_names(results_per_page=100)]
            if repo not in names:
                report.count("corruptions")
                report.error(f"catalog misses {repo}")

        async def get_tag_properties() -> None:
            image = rng.choice(own)
            properties = await acr.get_artifact(repo, image.tag).get_tag_properties(image.tag)
            if properties.digest != image.digest:
                report.count("corruptions")
                report.error(f"tag properties of {repo}:{image.tag} name {properties.digest}")

        async def update_tag_properties() -> None:
            image = rng.choice(own)
            wanted = rng.random() < 0.5
            updated = await acr.get_artifact(repo, image.tag).update_tag_properties(
                image.tag, can_delete=wanted
            )
            if updated.can_delete is not wanted or updated.can_write is not True:
                report.count("corruptions")
                report.error(f"update of {repo}:{image.tag} returned can_delete={updated.can_delete}")

        operations = {
            "push": push,
            "pull": pull,
            "list_tags": list_tags,
            "list_acr_tags": list_acr_tags,
            "list_catalog": list_catalog,
            "get_tag_properties": get_tag_properties,
            "update_tag_properties": update_tag_properties,
        }
        weights = {
            "push": 20,
            "pull": 25,
            "list_tags": 10,
            "list_acr_tags": 10,
            "list_catalog": 5,
            "get_tag_properties": 15,
            "update_tag_properties": 15,
        }
        names = list(operations)
        # The load lasts `deadline`; on a slow machine, where the first pushes alone can take that long,
        # it goes on (for at most OP_TIMEOUT more) until every kind of operation has run once, so the
        # assertions below always judge every kind of operation under load.
        grace = deadline + OP_TIMEOUT
        while time.monotonic() < deadline or (
            len(shared.kinds) < len(operations) and time.monotonic() < grace
        ):
            name = "push" if not own else rng.choices(names, [weights[n] for n in names])[0]
            started = time.monotonic()
            try:
                await asyncio.wait_for(operations[name](), OP_TIMEOUT)
            except Exception as exc:
                report.count("errors")
                report.error(f"worker {index} {name}: {type(exc).__name__}: {exc}")
                continue
            report.time(name, time.monotonic() - started)
            shared.kinds.add(name)
            report.count(f"ops.{name}")
            report.count("ops")


def test_load(scale: Scale, seed: int, tmp_path: Path, report_dir: Path) -> None:
    """`scale.load_clients` async clients for `scale.load_seconds`: no error, no corruption."""
    report = Report(f"load-{scale.name}")
    shared = Shared()
    with emulator_process(tmp_path / "data") as endpoint:

        async def run() -> float:
            begin = time.monotonic()
            deadline = begin + scale.load_seconds
            workers = [worker(i, endpoint, deadline, shared, report, seed) for i in range(scale.load_clients)]
            # Bounded: every operation has its own timeout, and the whole run a hard one.
            await asyncio.wait_for(asyncio.gather(*workers), scale.load_seconds + 2 * OP_TIMEOUT + 30)
            return time.monotonic() - begin

        seconds = asyncio.run(run())
    metadata = [value for key in METADATA for value in report.samples.get(key, [])]
    report.set("clients", scale.load_clients)
    report.set("seconds", round(seconds, 1))
    report.set("ops/s", round(report.counters["ops"] / seconds, 1))
    report.set("metadata calls p50 ms", round(percentile(metadata, 0.5) * 1000, 1))
    report.set("metadata calls p99 ms", round(percentile(metadata, 0.99) * 1000, 1))
    report.count("corruptions", 0)
    report.count("errors", 0)
    report.publish(report_dir)
    assert report.counters["errors"] == 0, report.errors
    assert report.counters["corruptions"] == 0, report.errors
    # Every client got work done (no starvation, no hang), and every kind of operation ran.
    assert report.counters["ops"] >= scale.load_clients
    assert all(report.counters[f"ops.{name}"] > 0 for name in ("push", "pull", *METADATA))
