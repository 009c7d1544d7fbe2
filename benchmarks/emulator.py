"""Benchmark the emulator against CNCF Distribution (`docker-registry`) on loopback.

Measures, with `curl`, a 1 GiB blob upload (POST, then `PUT -T file`) and download (GET to /dev/null),
and manifest HEAD requests per second over 16 concurrent keep-alive connections (a minimal asyncio
client, so the client costs as little as possible). Both servers run as subprocesses with data in a
temporary directory. Bar: emulator download >= Distribution's, upload >= 2x Distribution's.

    python benchmarks/emulator.py [--size-mib 1024] [--runs 2] [--head-requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["main"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(endpoint: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/v2/", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{endpoint} did not come up")


@contextmanager
def _process(args: list[str], endpoint: str) -> Iterator[str]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(endpoint)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def emulator(workdir: Path) -> Iterator[str]:
    port = _free_port()
    args = [
        sys.executable,
        "-m",
        "containerregistry.emulator",
        "--port",
        str(port),
        "--data",
        str(workdir / "emulator"),
    ]
    with _process([*args, "--log-level", "WARNING"], f"http://127.0.0.1:{port}") as endpoint:
        yield endpoint


@contextmanager
def distribution(workdir: Path) -> Iterator[str]:
    port = _free_port()
    config = workdir / "distribution.yml"
    # PROTOCOL.md section 6; logging turned down so that neither server pays for access logs.
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'distribution'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with _process(["docker-registry", "serve", str(config)], f"http://127.0.0.1:{port}") as endpoint:
        yield endpoint


def _curl(*args: str) -> str:
    result = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"curl {' '.join(args)}: {result.stderr}")
    return result.stdout


def upload(endpoint: str, repo: str, path: Path, digest: str) -> float:
    """Seconds for POST + `PUT -T file` of the whole blob."""
    # Start from a quiet disk: dirty pages of earlier runs would otherwise be flushed during this one
    # (the emulator fsyncs blobs, Distribution does not, so leftovers would skew the comparison).
    os.sync()
    start = time.perf_counter()
    headers = _curl("-X", "POST", "-D", "-", "-o", "/dev/null", f"{endpoint}/v2/{repo}/blobs/uploads/")
    location = next(
        line.split(":", 1)[1].strip() for line in headers.splitlines() if line.lower().startswith("location:")
    )
    if location.startswith("/"):
        location = endpoint + location
    separator = "&" if "?" in location else "?"
    _curl(
        "-T",
        str(path),
        "-H",
        "Content-Type: application/octet-stream",
        "-o",
        "/dev/null",
        f"{location}{separator}digest={digest}",
    )
    return time.perf_counter() - start


def download(endpoint: str, repo: str, digest: str) -> float:
    start = time.perf_counter()
    _curl("-o", "/dev/null", f"{endpoint}/v2/{repo}/blobs/{digest}")
    return time.perf_counter() - start


def push_manifest(endpoint: str, repo: str, workdir: Path) -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    config_file = workdir / "config.json"
    config_file.write_bytes(config)
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    upload(endpoint, repo, config_file, config_digest)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [],
        }
    )
    manifest_file = workdir / "manifest.json"
    manifest_file.write_text(manifest)
    _curl(
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.manifest.v1+json",
        "--data-binary",
        f"@{manifest_file}",
        "-o",
        "/dev/null",
        f"{endpoint}/v2/{repo}/manifests/latest",
    )


async def _head_worker(host: str, port: int, path: str, count: int) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"HEAD {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n".encode()
    ok = 0
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 200"):
                ok += 1
    finally:
        writer.close()
    return ok


async def _heads(endpoint: str, path: str, total: int, connections: int) -> tuple[float, int]:
    host, port = endpoint.split("//")[1].split(":")
    start = time.perf_counter()
    results = await asyncio.wait_for(
        asyncio.gather(
            *(_head_worker(host, int(port), path, total // connections) for _ in range(connections))
        ),
        timeout=300,
    )
    return time.perf_counter() - start, sum(results)


def head_rate(endpoint: str, repo: str, total: int, connections: int = 16) -> float:
    asyncio.run(_heads(endpoint, f"/v2/{repo}/manifests/latest", 200, connections))  # warm up
    elapsed, ok = asyncio.run(_heads(endpoint, f"/v2/{repo}/manifests/latest", total, connections))
    if ok != (total // connections) * connections:
        raise RuntimeError(f"only {ok} HEAD requests succeeded")
    return ok / elapsed


def _make_blob(path: Path, size: int) -> str:
    hasher = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for i in range(size >> 20):
            # Vary each MiB so that nothing dedupes or compresses.
            data = i.to_bytes(8, "little") + block[8:]
            hasher.update(data)
            handle.write(data)
    return "sha256:" + hasher.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3, help="best of N for transfers")
    parser.add_argument("--head-requests", type=int, default=20000)
    args = parser.parse_args(argv)
    if not shutil.which("docker-registry") or not shutil.which("curl"):
        print("needs docker-registry and curl on PATH", file=sys.stderr)
        return 2
    size = args.size_mib << 20
    rows = []
    with tempfile.TemporaryDirectory(prefix="creg-bench-") as temp:
        workdir = Path(temp)
        blob = workdir / "blob.bin"
        digest = _make_blob(blob, size)
        for name, server in (("emulator", emulator), ("distribution", distribution)):
            with server(workdir) as endpoint:
                up = min(upload(endpoint, f"bench/up{i}", blob, digest) for i in range(args.runs))
                downs = [download(endpoint, "bench/up0", digest) for _ in range(args.runs)]
                first, down = downs[0], min(downs)
                push_manifest(endpoint, "bench/manifest", workdir)
                rate = head_rate(endpoint, "bench/manifest", args.head_requests)
            rows.append((name, size / up / 1e6, size / first / 1e6, size / down / 1e6, rate))
            shutil.rmtree(workdir / name, ignore_errors=True)
    print(f"{'server':<14}{'upload MB/s':>13}{'1st download':>14}{'download MB/s':>15}{'HEAD req/s':>12}")
    for name, up_rate, first_rate, down_rate, rate in rows:
        print(f"{name:<14}{up_rate:>13.0f}{first_rate:>14.0f}{down_rate:>15.0f}{rate:>12.0f}")
    (emu, dist) = rows
    print(
        f"upload ratio {emu[1] / dist[1]:.2f}x (bar 2x), download ratio {emu[3] / dist[3]:.2f}x (bar 1x; "
        f"first download {emu[2] / dist[2]:.2f}x), HEAD ratio {emu[4] / dist[4]:.2f}x"
    )
    print(
        "transfers: best of --runs (MB = 10^6 bytes). Both servers keep fresh blobs in the page cache; the "
        "emulator writes them back as they arrive and fsyncs before committing."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
