#!/usr/bin/env python3
"""What the README's comparison table says of the Azure SDK and oras-py, measured against the emulator.

    .venv/bin/pip install azure-containerregistry oras   # the peers (not dependencies of this project)
    python benchmarks/peers.py

For each client, against the same in-process emulator:
- ACR metadata (Azure SDK vs ours, TLS + token auth + an Entra ID credential the emulator trusts):
  HTTP requests and 401 answers for 20 `get_tag_properties` calls, and calls per second.
- The same SDK code through both clients (`ContainerRegistryClient` of azure-containerregistry and ours,
  only the import differs): a mixed scenario of the SDK's flat calls (repository, tag and manifest
  properties, a tag listing, a manifest, a blob download), HTTP requests per call and calls per second.
- Whole artifacts (oras-py vs ours, open mode): pushing 8 layers of 4 MiB, seconds; and whether the
  library exposes an async API and image-level push/pull.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from containerregistry import (
    ContainerRegistryClient,
    ContainerRegistryContentClient,
    OciDescriptor,
    OciImageManifest,
)
from containerregistry.emulator import run_emulator
from containerregistry.emulator.auth import AuthConfig, EmulatorAuth, User, mint_entra_token
from containerregistry.images import push_image
from containerregistry.images._layout import OciLayout
from containerregistry.protocol.digest import compute_digest

CALLS = 20
LAYERS, LAYER_SIZE = 8, 4 * 1024 * 1024
SECRET = "peers-benchmark-entra-secret-long-enough-for-hs256"


class _Token:
    def __init__(self, token: str, expires_on: int) -> None:
        self.token, self.expires_on = token, expires_on


class EntraCredential:
    """Stands in for azure-identity: tokens signed with the secret the emulator trusts."""

    def get_token(self, *scopes: str, **kwargs: Any) -> _Token:
        audience = scopes[0].removesuffix("/.default") if scopes else "https://containerregistry.azure.net"
        return _Token(mint_entra_token(SECRET, audience=audience), int(time.time()) + 3600)


def _seed(endpoint: str, ca: str) -> None:
    with ContainerRegistryContentClient(endpoint, "peers/app", EntraCredential(), verify=ca) as client:
        config = client.upload_blob(b'{"architecture":"amd64","os":"linux"}')
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config.digest,
                "size": config.size,
            },
            "layers": [],
        }
        client.set_manifest(manifest, tag="v1")


def metadata_rows(endpoint: str, ca: str) -> list[tuple[str, str]]:
    rows = []
    counted: list[httpx.Response] = []

    def hook(response: httpx.Response) -> None:
        counted.append(response)

    http = httpx.Client(verify=ca, event_hooks={"response": [hook]})
    with ContainerRegistryClient(endpoint, EntraCredential(), http_client=http) as ours:
        start = time.perf_counter()
        for _ in range(CALLS):
            ours.get_artifact("peers/app", "v1").get_tag_properties("v1")
        seconds = time.perf_counter() - start
    statuses = [r.status_code for r in counted]
    rows.append(
        (
            "containerregistry",
            f"{len(statuses)} HTTP requests, {statuses.count(401)} of them 401, for {CALLS} calls; "
            f"{CALLS / seconds:.0f} calls/s",
        )
    )
    if importlib.util.find_spec("azure.containerregistry") is None:
        rows.append(("azure-containerregistry", "not installed (pip install azure-containerregistry)"))
        return rows
    from azure.containerregistry import ContainerRegistryClient as AzureClient
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    seen: list[int] = []

    class Count(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_response(self, request: Any, response: Any) -> None:
            seen.append(response.http_response.status_code)

    client = AzureClient(
        endpoint,
        EntraCredential(),  # type: ignore[arg-type]
        audience="https://containerregistry.azure.net",
        connection_verify=ca,
        per_retry_policies=[Count()],
    )
    with client:
        start = time.perf_counter()
        for _ in range(CALLS):
            client.get_tag_properties("peers/app", "v1")
        seconds = time.perf_counter() - start
    rows.append(
        (
            "azure-containerregistry",
            f"{len(seen)} HTTP requests, {seen.count(401)} of them 401, for {CALLS} calls; "
            f"{CALLS / seconds:.0f} calls/s",
        )
    )
    return rows


def sdk_scenario(client: Any) -> int:
    """SDK code, run unchanged by both clients: returns how many calls it made."""
    client.get_repository_properties("peers/app")
    tag = client.get_tag_properties("peers/app", "v1")
    client.get_manifest_properties("peers/app", "v1")
    client.get_manifest_properties("peers/app", tag.digest)
    list(client.list_tag_properties("peers/app"))
    manifest = client.get_manifest("peers/app", "v1").manifest
    b"".join(client.download_blob("peers/app", manifest["config"]["digest"]))
    return 7


def flat_rows(endpoint: str, ca: str, rounds: int = 10) -> list[tuple[str, str]]:
    rows = []
    statuses: list[int] = []

    def hook(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    http = httpx.Client(verify=ca, event_hooks={"response": [hook]})
    with ContainerRegistryClient(endpoint, EntraCredential(), http_client=http) as ours:
        start = time.perf_counter()
        calls = sum(sdk_scenario(ours) for _ in range(rounds))
        seconds = time.perf_counter() - start
    rows.append(
        (
            "containerregistry",
            f"{len(statuses) / calls:.2f} HTTP requests per call ({statuses.count(401)} x 401 in {calls} calls); "
            f"{calls / seconds:.0f} calls/s",
        )
    )
    if importlib.util.find_spec("azure.containerregistry") is None:
        rows.append(("azure-containerregistry", "not installed (pip install azure-containerregistry)"))
        return rows
    from azure.containerregistry import ContainerRegistryClient as AzureClient
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    seen: list[int] = []

    class Count(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_response(self, request: Any, response: Any) -> None:
            seen.append(response.http_response.status_code)

    with AzureClient(
        endpoint,
        EntraCredential(),  # type: ignore[arg-type]
        audience="https://containerregistry.azure.net",
        connection_verify=ca,
        per_retry_policies=[Count()],
    ) as client:
        start = time.perf_counter()
        calls = sum(sdk_scenario(client) for _ in range(rounds))
        seconds = time.perf_counter() - start
    rows.append(
        (
            "azure-containerregistry",
            f"{len(seen) / calls:.2f} HTTP requests per call ({seen.count(401)} x 401 in {calls} calls); "
            f"{calls / seconds:.0f} calls/s",
        )
    )
    return rows


def push_rows(endpoint: str, host: str, work: Path) -> list[tuple[str, str]]:
    files = []
    for i in range(LAYERS):
        path = work / f"layer{i}.bin"
        path.write_bytes(os.urandom(LAYER_SIZE))
        files.append(path)
    rows = []
    # Ours: the same files as the layers of an OCI layout, pushed with concurrency 4.
    layout = OciLayout(work / "layout", create=True)

    def blob(data: bytes, media_type: str) -> OciDescriptor:
        digest = compute_digest(data)
        layout.write_blob(digest, data)
        return OciDescriptor(media_type=media_type, digest=digest, size=len(data))

    manifest = OciImageManifest(
        config=blob(b"{}", "application/vnd.oci.empty.v1+json"),
        layers=[blob(path.read_bytes(), "application/vnd.oci.image.layer.v1.tar") for path in files],
        artifact_type="application/vnd.example.files",
    )
    body = manifest.to_bytes()
    assert manifest.media_type is not None
    layout.add_to_index([(blob(body, manifest.media_type), "v1")])
    start = time.perf_counter()
    push_image(f"oci:{work / 'layout'}:v1", f"{host}/ours/app:v1", concurrency=4)
    rows.append(
        ("containerregistry", f"push {LAYERS} x {LAYER_SIZE >> 20} MiB: {time.perf_counter() - start:.2f} s")
    )
    if importlib.util.find_spec("oras") is None:
        rows.append(("oras-py", "not installed (pip install oras)"))
        return rows
    import oras.client

    client = oras.client.OrasClient(hostname=host, insecure=True)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        start = time.perf_counter()
        client.push(files=[p.name for p in files], target=f"{host}/oras/app:v1")
        rows.append(
            ("oras-py", f"push {LAYERS} x {LAYER_SIZE >> 20} MiB: {time.perf_counter() - start:.2f} s")
        )
    finally:
        os.chdir(cwd)
    return rows


def api_rows() -> list[tuple[str, str]]:
    rows = []
    for name, module in (("azure-containerregistry", "azure.containerregistry"), ("oras-py", "oras")):
        if importlib.util.find_spec(module) is None:
            continue
        has_aio = importlib.util.find_spec(f"{module}.aio") is not None
        imported = __import__(module, fromlist=["*"])
        image_level = any(hasattr(imported, n) for n in ("push_image", "pull_image", "copy_image"))
        rows.append(
            (
                name,
                f"async API: {'yes' if has_aio else 'no'}; image-level push/pull/copy functions: {'yes' if image_level else 'no'}",
            )
        )
    return rows


def main() -> None:
    users = {"admin": User("admin", "admin-password", frozenset({"admin"}))}
    config = AuthConfig(users=users, entra_secret=SECRET)
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_emulator(auth=EmulatorAuth(config), tls=True) as secure,
        run_emulator() as open_registry,
    ):
        ca = str(secure.ca_cert)
        _seed(secure.endpoint, ca)
        print("ACR metadata, 20 x get_tag_properties (TLS, token auth, Entra ID exchange):")
        for name, text in metadata_rows(secure.endpoint, ca):
            print(f"  {name:<26} {text}")
        print("The same SDK code through both clients (7 flat calls x 10 rounds, TLS, Entra ID exchange):")
        for name, text in flat_rows(secure.endpoint, ca):
            print(f"  {name:<26} {text}")
        print(f"Whole artifact push into the emulator ({LAYERS} layers of {LAYER_SIZE >> 20} MiB):")
        for name, text in push_rows(open_registry.endpoint, open_registry.login_server, Path(tmp)):
            print(f"  {name:<26} {text}")
        print("API surface:")
        for name, text in api_rows():
            print(f"  {name:<26} {text}")


if __name__ == "__main__":
    main()
