"""Metadata call rate of the ACR clients against the emulator with TLS and token auth.

    python benchmarks/metadata.py [--calls 1000] [--concurrency 16] [--emulator process|thread]

Prints calls/second of `RegistryArtifact.get_tag_properties` with the sync client (sequential) and
the async client (`--concurrency` calls in flight), and how many HTTP requests and token-service
requests (`/oauth2/...`, both counted at the client's transport) `--calls` calls cost, from a cold
client (no token yet). By default the emulator runs in its own process, so the client's figures do
not include sharing a GIL with the server; `--emulator thread` runs it in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from containerregistry import aio
from containerregistry._sync import ContainerRegistryClient, ContainerRegistryContentClient
from containerregistry.emulator import run_emulator
from containerregistry.emulator.auth import AuthConfig, EmulatorAuth, mint_entra_token
from containerregistry.emulator.tls import generate_self_signed, server_ssl_context
from containerregistry.transport import AiohttpTransport, Urllib3Transport

SECRET = "benchmark-entra-secret-0123456789abcdef0123"
REPOSITORY = "bench/metadata"


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class Credential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(
            mint_entra_token(SECRET, audience=scopes[0].removesuffix("/.default")), int(time.time()) + 3600
        )


class AsyncCredential(Credential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return super().get_token(*scopes)


class Counting(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.count, self.tokens = inner, 0, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        self.tokens += request.url.path.startswith("/oauth2/")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncCounting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.count, self.tokens = inner, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        self.tokens += request.url.path.startswith("/oauth2/")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def seed(endpoint: str, ca: str) -> None:
    with ContainerRegistryContentClient(endpoint, REPOSITORY, Credential(), verify=ca) as client:
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        uploaded = client.upload_blob(config)
        client.set_manifest(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": uploaded.digest,
                    "size": uploaded.size,
                },
                "layers": [],
            },
            tag="v1",
        )


def run_sync(endpoint: str, ca: str, calls: int) -> tuple[float, int, int]:
    transport = Counting(Urllib3Transport(verify=ca))
    with ContainerRegistryClient(endpoint, Credential(), transport=transport) as client:
        artifact = client.get_artifact(REPOSITORY, "v1")
        start = time.perf_counter()
        for _ in range(calls):
            artifact.get_tag_properties("v1")
        elapsed = time.perf_counter() - start
    return calls / elapsed, transport.count, transport.tokens


async def run_async(endpoint: str, ca: str, calls: int, concurrency: int) -> tuple[float, int, int]:
    transport = AsyncCounting(AiohttpTransport(verify=ca))
    async with aio.ContainerRegistryClient(endpoint, AsyncCredential(), transport=transport) as client:
        artifact = client.get_artifact(REPOSITORY, "v1")
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await artifact.get_tag_properties("v1")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return calls / elapsed, transport.count, transport.tokens


@contextlib.contextmanager
def emulator_thread(temp: Path, cert: Path, key: Path) -> Iterator[str]:
    auth = EmulatorAuth(AuthConfig(entra_secret=SECRET))
    with run_emulator(
        data_dir=temp / "data", auth=auth, ssl_context=server_ssl_context(cert, key)
    ) as emulator:
        yield emulator.endpoint


@contextlib.contextmanager
def emulator_process(temp: Path, cert: Path, key: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "containerregistry.emulator",
        "--port",
        str(port),
        "--data",
        str(temp / "data"),
        "--auth",
        "--entra-secret",
        SECRET,
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
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
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def report(label: str, rate: float, requests: int, tokens: int, calls: int) -> None:
    print(f"{label} get_tag_properties: {rate:8.0f} calls/s")
    print(
        f"      {calls} calls: {requests} HTTP requests (+{requests - calls}), {tokens} of them to /oauth2/"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--emulator", choices=["process", "thread"], default="process")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="creg-bench-") as name:
        temp = Path(name)
        cert, key, ca_path = generate_self_signed(["127.0.0.1"], temp / "tls")
        ca = str(ca_path)
        start = emulator_process if args.emulator == "process" else emulator_thread
        with start(temp, cert, key) as endpoint:
            print(f"emulator ({args.emulator}) at {endpoint}, TLS, token auth with Entra ID exchange")
            seed(endpoint, ca)
            report("sync  (sequential)   ", *run_sync(endpoint, ca, args.calls), args.calls)
            result = asyncio.run(run_async(endpoint, ca, args.calls, args.concurrency))
            report(f"async ({args.concurrency} concurrent)", *result, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
