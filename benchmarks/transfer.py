#!/usr/bin/env python3
"""Blob transfer throughput and memory against the CNCF Distribution registry on loopback.

    python benchmarks/transfer.py [--size-mib 1024] [--case NAME ...]

Starts Debian's `docker-registry` on a free 127.0.0.1 port with a temp dir, uploads one blob of the
given size, then runs every case in its own subprocess (so imports and earlier cases do not pollute
the memory figures) and prints one table: MB/s (10^6 bytes/s) and peak RSS growth, i.e. the child's
`ru_maxrss` minus its RSS just before the timed part. For curl the figure is curl's own peak RSS.

Adding a case: write a function `(ctx: Context) -> int` that moves the blob once and returns the
bytes moved, and append a `Case` to `CASES`. It runs in a fresh interpreter; only the timed part
should be inside it (setup such as starting an upload session may be inside too if it is cheap).

The machine is shared and loopback numbers are noisy: use `--repeat 3` for decisions. Hashing
costs as much CPU as receiving (sha256 ~1.7 GB/s here), so "download (sha256)" is bounded by
both. The content client hashes on a worker thread one chunk behind the socket; `curl | sha256sum`
is listed as the native reference for a verified download.

Targets (issue 2): download >= 0.75x curl GET, upload >= 0.9x curl upload, RSS growth < 64 MiB.

Durable verified download (issue 14): `download_blob_to(path)` (digest verified, `.partial` fsynced and
renamed) >= 0.8x the slowest of its three stages measured alone in the same run: curl GET to /dev/null,
hashlib sha256 over as many bytes, and writing as many bytes to a file with one fsync (`dd bs=1M
conv=fsync`). Those are the rows marked "floor"; the summary at the end prints the ratio.

    python benchmarks/transfer.py --case durable --repeat 3    # only the durable-download comparison
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
REGISTRY_BINARY = "/usr/bin/docker-registry"
REPOSITORY = "bench/blob"


@dataclass
class Context:
    """What a case gets: where the registry is and which blob to move."""

    base: str  # http://127.0.0.1:PORT
    digest: str  # sha256:...
    size: int
    path: str  # a local file holding the blob


@dataclass
class Case:
    name: str
    direction: str  # "download" or "upload": the curl baseline it is compared with
    run: Callable[[Context], int]
    baseline: bool = False  # curl itself
    floor: bool = False  # one stage of a durable verified download, measured alone


# --- helpers used by cases -----------------------------------------------------------------------

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def new_upload_url(ctx: Context) -> str:
    """Start an upload session; return the PUT URL with `digest=` appended."""
    request = urllib.request.Request(f"{ctx.base}/v2/{REPOSITORY}/blobs/uploads/", method="POST")
    with _NO_PROXY.open(request, timeout=30) as response:
        location = response.headers["Location"]
    if location.startswith("/"):
        location = ctx.base + location
    return f"{location}{'&' if '?' in location else '?'}digest={ctx.digest}"


def blob_url(ctx: Context) -> str:
    return f"{ctx.base}/v2/{REPOSITORY}/blobs/{ctx.digest}"


def file_chunks(path: str, hasher: hashlib._Hash) -> Iterator[bytes]:
    """The file in 1 MiB chunks, hashed as it is read (what a digest-computing upload does)."""
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            yield chunk


async def afile_chunks(path: str, hasher: hashlib._Hash) -> AsyncIterator[bytes]:
    for chunk in file_chunks(path, hasher):
        yield chunk


def _check(ctx: Context, hasher: hashlib._Hash, moved: int) -> int:
    if "sha256:" + hasher.hexdigest() != ctx.digest or moved != ctx.size:
        raise SystemExit(f"digest or size mismatch: {moved} bytes")
    return moved


# --- cases ----------------------------------------------------------------------------------------


def curl_get(ctx: Context) -> int:
    subprocess.run(["curl", "-sS", "--fail", "--noproxy", "*", "-o", "/dev/null", blob_url(ctx)], check=True)
    return ctx.size


def curl_get_sha256sum(ctx: Context) -> int:
    """The native way to verify a download: curl piped into sha256sum (a reference, not the bar)."""
    curl = subprocess.Popen(
        ["curl", "-sS", "--fail", "--noproxy", "*", blob_url(ctx)], stdout=subprocess.PIPE
    )
    digest = subprocess.run(["sha256sum"], stdin=curl.stdout, capture_output=True, check=True).stdout
    assert curl.wait() == 0
    assert "sha256:" + digest.split()[0].decode() == ctx.digest
    return ctx.size


def curl_upload(ctx: Context) -> int:
    url = new_upload_url(ctx)
    subprocess.run(
        ["curl", "-sS", "--fail", "--noproxy", "*", "-o", "/dev/null", "-T", ctx.path, "-X", "PUT", url],
        check=True,
    )
    return ctx.size


class _NoHash:
    """Stands in for a hasher to measure the transport alone."""

    def update(self, data: bytes) -> None:
        pass


def _sync_download(ctx: Context, transport: object | None, *, verify: bool = True) -> int:
    import httpx

    hasher: Any = hashlib.sha256() if verify else _NoHash()
    moved = 0
    kwargs = {"transport": transport} if transport is not None else {"trust_env": False}
    with (
        httpx.Client(timeout=600, **kwargs) as client,
        client.stream("GET", blob_url(ctx)) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_raw():
            hasher.update(chunk)
            moved += len(chunk)
    return _check(ctx, hasher, moved) if verify else moved


async def _async_download(ctx: Context, transport: object | None, *, verify: bool = True) -> int:
    import httpx

    hasher: Any = hashlib.sha256() if verify else _NoHash()
    moved = 0
    kwargs = {"transport": transport} if transport is not None else {"trust_env": False}
    async with (
        httpx.AsyncClient(timeout=600, **kwargs) as client,
        client.stream("GET", blob_url(ctx)) as response,
    ):
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            hasher.update(chunk)
            moved += len(chunk)
    return _check(ctx, hasher, moved) if verify else moved


def urllib3_download(ctx: Context) -> int:
    from containerregistry.transport import Urllib3Transport

    return _sync_download(ctx, Urllib3Transport(trust_env=False))


def aiohttp_download(ctx: Context) -> int:
    from containerregistry.transport import AiohttpTransport

    return asyncio.run(_async_download(ctx, AiohttpTransport(trust_env=False)))


def urllib3_download_no_hash(ctx: Context) -> int:
    from containerregistry.transport import Urllib3Transport

    return _sync_download(ctx, Urllib3Transport(trust_env=False), verify=False)


def aiohttp_download_no_hash(ctx: Context) -> int:
    from containerregistry.transport import AiohttpTransport

    return asyncio.run(_async_download(ctx, AiohttpTransport(trust_env=False), verify=False))


def httpx_sync_download(ctx: Context) -> int:
    return _sync_download(ctx, None)


def httpx_async_download(ctx: Context) -> int:
    return asyncio.run(_async_download(ctx, None))


def urllib3_upload(ctx: Context) -> int:
    import httpx

    from containerregistry.transport import Urllib3Transport

    url = new_upload_url(ctx)
    hasher = hashlib.sha256()
    with httpx.Client(transport=Urllib3Transport(trust_env=False), timeout=600) as client:
        response = client.put(
            url, content=file_chunks(ctx.path, hasher), headers={"Content-Length": str(ctx.size)}
        )
        response.raise_for_status()
    return _check(ctx, hasher, ctx.size)


def aiohttp_upload(ctx: Context) -> int:
    import httpx

    from containerregistry.transport import AiohttpTransport

    async def run() -> int:
        url = new_upload_url(ctx)
        hasher = hashlib.sha256()
        async with httpx.AsyncClient(transport=AiohttpTransport(trust_env=False), timeout=600) as client:
            response = await client.put(
                url, content=afile_chunks(ctx.path, hasher), headers={"Content-Length": str(ctx.size)}
            )
            response.raise_for_status()
        return _check(ctx, hasher, ctx.size)

    return asyncio.run(run())


# --- the library's own content client (what users call) ----------------------------------------------


class _Sink:
    """A write-only file object that drops the bytes (like curl's -o /dev/null)."""

    def write(self, data: bytes) -> int:
        return len(data)


def client_sync_download(ctx: Context) -> int:
    from containerregistry import ContainerRegistryContentClient

    with ContainerRegistryContentClient(ctx.base, REPOSITORY) as client:
        return client.download_blob_to(ctx.digest, _Sink()).size  # type: ignore[arg-type]


def client_async_download(ctx: Context) -> int:
    from containerregistry.aio import ContainerRegistryContentClient

    async def run() -> int:
        async with ContainerRegistryContentClient(ctx.base, REPOSITORY) as client:
            return (await client.download_blob_to(ctx.digest, _Sink())).size  # type: ignore[arg-type]

    return asyncio.run(run())


def client_sync_upload(ctx: Context) -> int:
    from containerregistry import ContainerRegistryContentClient

    with ContainerRegistryContentClient(ctx.base, REPOSITORY) as client:
        result = client.upload_blob(ctx.path)
    assert result.digest == ctx.digest
    return result.size


def client_async_upload(ctx: Context) -> int:
    from containerregistry.aio import ContainerRegistryContentClient

    async def run() -> int:
        async with ContainerRegistryContentClient(ctx.base, REPOSITORY) as client:
            result = await client.upload_blob(ctx.path)
        assert result.digest == ctx.digest
        return result.size

    return asyncio.run(run())


def sha256_only(ctx: Context) -> int:
    """hashlib sha256 over `size` bytes already in memory (a 64 MiB buffer, hashed repeatedly)."""
    block = os.urandom(64 << 20)
    view = memoryview(block)
    hasher = hashlib.sha256()
    left = ctx.size
    while left:
        n = min(left, len(block))
        for i in range(0, n, CHUNK):
            hasher.update(view[i : min(i + CHUNK, n)])
        left -= n
    return ctx.size


def _scratch(ctx: Context, name: str) -> str:
    return os.path.join(os.path.dirname(ctx.path), name)


def write_fsync(ctx: Context) -> int:
    """`dd if=/dev/zero of=FILE bs=1M count=N conv=fsync`: write `size` bytes and fsync once."""
    target = _scratch(ctx, "dd.out")
    try:
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={ctx.size >> 20}", "conv=fsync"],
            check=True,
            capture_output=True,
        )
    finally:
        os.unlink(target)
    return ctx.size


def client_sync_download_path(ctx: Context) -> int:
    from containerregistry import ContainerRegistryContentClient

    target = _scratch(ctx, "download.sync")
    try:
        with ContainerRegistryContentClient(ctx.base, REPOSITORY) as client:
            return client.download_blob_to(ctx.digest, target).size
    finally:
        os.unlink(target)


def client_async_download_path(ctx: Context) -> int:
    from containerregistry.aio import ContainerRegistryContentClient

    target = _scratch(ctx, "download.async")

    async def run() -> int:
        async with ContainerRegistryContentClient(ctx.base, REPOSITORY) as client:
            return (await client.download_blob_to(ctx.digest, target)).size

    try:
        return asyncio.run(run())
    finally:
        os.unlink(target)


CASES: list[Case] = [
    Case("curl GET -> /dev/null", "download", curl_get, baseline=True, floor=True),
    Case("durable floor: hashlib sha256 (in memory)", "download", sha256_only, floor=True),
    Case("durable floor: write + fsync (dd bs=1M conv=fsync)", "download", write_fsync, floor=True),
    Case(
        "durable: sync download_blob_to(path) (verified, fsynced)",
        "download",
        client_sync_download_path,
    ),
    Case(
        "durable: async download_blob_to(path) (verified, fsynced)",
        "download",
        client_async_download_path,
    ),
    Case("curl GET | sha256sum (native verified download)", "download", curl_get_sha256sum),
    Case("httpx + Urllib3Transport download (sha256)", "download", urllib3_download),
    Case("httpx + AiohttpTransport download (sha256)", "download", aiohttp_download),
    Case(
        "httpx + Urllib3Transport download (no hash: transport alone)", "download", urllib3_download_no_hash
    ),
    Case(
        "httpx + AiohttpTransport download (no hash: transport alone)", "download", aiohttp_download_no_hash
    ),
    Case("httpx default sync transport download (sha256)", "download", httpx_sync_download),
    Case("httpx default async transport download (sha256)", "download", httpx_async_download),
    Case("ContainerRegistryContentClient sync download_blob_to (verified)", "download", client_sync_download),
    Case(
        "ContainerRegistryContentClient async download_blob_to (verified)", "download", client_async_download
    ),
    Case("curl -T upload", "upload", curl_upload, baseline=True),
    Case("ContainerRegistryContentClient sync upload_blob (path)", "upload", client_sync_upload),
    Case("ContainerRegistryContentClient async upload_blob (path)", "upload", client_async_upload),
    Case("httpx + Urllib3Transport upload (1 MiB chunks, sha256)", "upload", urllib3_upload),
    Case("httpx + AiohttpTransport upload (1 MiB chunks, sha256)", "upload", aiohttp_upload),
]


# --- child side -----------------------------------------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_child(name: str, ctx: Context) -> None:
    case = next(c for c in CASES if c.name == name)
    # Import what the case will need before measuring, so growth means transfer buffers only.
    import httpx  # noqa: F401

    import containerregistry.transport  # noqa: F401

    before = _rss_kib()
    start = time.perf_counter()
    moved = case.run(ctx)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    growth = children_peak if case.baseline else max(0, peak - before)
    print(json.dumps({"bytes": moved, "seconds": seconds, "rss_kib": growth}))


# --- parent side ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    (root / "storage").mkdir()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with _NO_PROXY.open(f"{base}/v2/", timeout=1) as response:
                if response.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def make_blob(path: Path, size: int) -> str:
    """Write `size` pseudo-random bytes (incompressible, cheap to generate) and return the digest."""
    hasher = hashlib.sha256()
    block = os.urandom(CHUNK)
    with open(path, "wb") as f:
        written = 0
        counter = 0
        while written < size:
            # Vary each MiB so the content is not one repeated block.
            piece = hashlib.sha256(counter.to_bytes(8, "big")).digest() + block[32:]
            piece = piece[: size - written]
            f.write(piece)
            hasher.update(piece)
            written += len(piece)
            counter += 1
    return "sha256:" + hasher.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over all cases; each case's best is reported"
    )
    parser.add_argument("--case", action="append", help="run only these cases (substring match)")
    parser.add_argument("--json", type=Path, default=None, help="write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--ctx", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, Context(**json.loads(args.ctx)))
        return
    if shutil.which("curl") is None or not os.path.exists(REGISTRY_BINARY):
        raise SystemExit("needs curl and docker-registry (apt-get install curl docker-registry)")

    with tempfile.TemporaryDirectory(prefix="creg-bench-") as tmp:
        root = Path(tmp)
        size = args.size_mib << 20
        blob = root / "blob.bin"
        digest = make_blob(blob, size)
        proc, base = start_registry(root)
        try:
            ctx = Context(base=base, digest=digest, size=size, path=str(blob))
            curl_upload(ctx)  # seed the registry with the blob the downloads fetch
            selected = [
                case
                for case in CASES
                if case.baseline or case.floor or not args.case or any(s in case.name for s in args.case)
            ]
            best: dict[str, float] = {}
            rss: dict[str, int] = {}
            # Rounds over all cases (rather than repeating each case in a row) so a burst of load
            # from elsewhere on the machine does not land on one case only.
            for _ in range(max(1, args.repeat)):
                for case in selected:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", case.name, "--ctx", json.dumps(asdict(ctx))],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    data = json.loads(out.stdout.strip().splitlines()[-1])
                    mbps = data["bytes"] / data["seconds"] / 1e6
                    best[case.name] = max(best.get(case.name, 0.0), mbps)
                    rss[case.name] = max(rss.get(case.name, 0), data["rss_kib"])
                    print(f"  {case.name}: {mbps:.0f} MB/s", file=sys.stderr, flush=True)
            results = [(case, best[case.name], rss[case.name]) for case in selected]
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    baselines = {case.direction: mbps for case, mbps, _ in results if case.baseline}
    print(f"\n{args.size_mib} MiB blob, Distribution on loopback, {os.cpu_count()} CPUs")
    print(f"{'case':58} {'MB/s':>7} {'x curl':>7} {'RSS MiB':>8}")
    for case, mbps, rss_kib in results:
        ratio = mbps / baselines[case.direction] if case.direction in baselines else float("nan")
        label = "peak" if case.baseline else "growth"
        print(f"{case.name:58} {mbps:7.0f} {ratio:7.2f} {rss_kib / 1024:6.1f} {label}")
    floors = {case.name: mbps for case, mbps, _ in results if case.floor}
    durable = [(case.name, mbps) for case, mbps, _ in results if case.name.startswith("durable: ")]
    summary: dict[str, Any] = {"floors_MBps": floors, "durable_MBps": dict(durable)}
    if floors and durable:
        floor = min(floors.values())
        print(f"\ndurable verified download vs min(curl /dev/null, sha256, write+fsync) = {floor:.0f} MB/s:")
        for name, mbps in durable:
            status = "met" if mbps >= 0.8 * floor else "not met"
            print(f"  {name:56} {mbps:7.0f} MB/s  {mbps / floor:5.2f}x  (goal 0.8x: {status})")
        summary["floor_MBps"] = floor
    if args.json:
        summary["command"] = " ".join(["python", *sys.argv])
        summary["load_average"] = os.getloadavg()
        summary["cases"] = [
            {"name": case.name, "MBps": mbps, "rss_growth_MiB": rss_kib / 1024}
            for case, mbps, rss_kib in results
        ]
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
