"""Where the examples run: the registry in `REGISTRY_ENDPOINT`, or an embedded emulator.

With `REGISTRY_ENDPOINT` set (e.g. `https://myregistry.azurecr.io`), the examples authenticate with
azure-identity's `DefaultAzureCredential` (`pip install containerregistry[azure]`). Without it they
start the local emulator (TLS with a self-signed CA, ACR-style token auth trusting a stand-in Entra ID
credential), push a few small images, and run against that, so every example runs as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Target", "registry"]

_SECRET = "examples-embedded-emulator-entra-secret-0123456789"

#: What the embedded emulator holds: repository -> one tag list per image, oldest image first.
SEED: dict[str, list[list[str]]] = {
    "library/hello-world": [["v1"], ["latest", "v2"]],
    "samples/app": [["1.0"], ["1.1"], ["1.2"], ["2.0", "stable"], ["2.1", "latest"]],
}


class _AccessToken(NamedTuple):
    token: str
    expires_on: int


class _EmulatorCredential:
    """Plays the part of an Entra ID credential for the embedded emulator."""

    def get_token(self, *scopes: str, **kwargs: Any) -> _AccessToken:
        from containerregistry.emulator.auth import mint_entra_token

        audience = scopes[0].removesuffix("/.default")
        return _AccessToken(mint_entra_token(_SECRET, audience=audience), int(time.time()) + 3600)


class _AsyncEmulatorCredential(_EmulatorCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> _AccessToken:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().get_token(*scopes)


@dataclass
class Target:
    """The registry an example talks to."""

    endpoint: str
    verify: bool | str
    embedded: bool

    def credential(self) -> Any:
        """A sync Entra ID credential for this registry."""
        if not self.embedded:
            # The optional extra: pip install containerregistry[azure]
            from azure.identity import DefaultAzureCredential

            return DefaultAzureCredential()
        return _EmulatorCredential()

    def async_credential(self) -> Any:
        """An async Entra ID credential for this registry."""
        if not self.embedded:
            from azure.identity.aio import DefaultAzureCredential

            return DefaultAzureCredential()
        return _AsyncEmulatorCredential()


@contextlib.contextmanager
def registry(*, anonymous_pull: bool = False) -> Iterator[Target]:
    """The registry of `REGISTRY_ENDPOINT`, or an embedded, seeded emulator for the duration."""
    endpoint = os.environ.get("REGISTRY_ENDPOINT")
    if endpoint:
        yield Target(endpoint, verify=True, embedded=False)
        return
    from containerregistry.emulator import run_emulator
    from containerregistry.emulator.auth import AuthConfig, EmulatorAuth
    from containerregistry.emulator.tls import generate_self_signed, server_ssl_context

    with tempfile.TemporaryDirectory(prefix="creg-example-") as temp:
        cert, key, ca = generate_self_signed(["127.0.0.1"], Path(temp) / "tls")
        auth = EmulatorAuth(AuthConfig(entra_secret=_SECRET, anonymous_pull=anonymous_pull))
        with run_emulator(
            data_dir=Path(temp) / "data", auth=auth, ssl_context=server_ssl_context(cert, key), ca_cert=ca
        ) as emulator:
            target = Target(emulator.endpoint, verify=str(ca), embedded=True)
            _seed(target)
            yield target


def _seed(target: Target) -> None:
    from containerregistry import ContainerRegistryContentClient

    for repository, images in SEED.items():
        with ContainerRegistryContentClient(
            target.endpoint, repository, target.credential(), verify=target.verify
        ) as client:
            for tags in images:
                config = json.dumps({"architecture": "amd64", "os": "linux", "id": uuid.uuid4().hex}).encode()
                uploaded = client.upload_blob(config)
                manifest = {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {
                        "mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": uploaded.digest,
                        "size": uploaded.size,
                    },
                    "layers": [],
                }
                for tag in tags:
                    client.set_manifest(manifest, tag=tag)
