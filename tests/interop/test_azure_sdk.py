"""The official azure-containerregistry 1.2.0 against the emulator: every operation of its
`ContainerRegistryClient`, sync and aio, over TLS with the Entra ID exchange, in open mode, and anonymously
(`anonymous_pull=True`). What each call returns is checked against what our own client reads back."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.containerregistry import ContainerRegistryClient as AzureClient  # ./dev setup installs .[interop]
from azure.containerregistry.aio import ContainerRegistryClient as AsyncAzureClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from containerregistry import BasicCredential, ContainerRegistryClient
from containerregistry.emulator import run_emulator
from containerregistry.exceptions import ResourceNotFoundError as OurNotFound

from .conftest import ADMIN, USERS
from .helpers import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, client, manifest_of, push_image, sha256

AUDIENCE = "https://containerregistry.azure.net"


class EmulatorEntraCredential:
    """Stands in for azure-identity: its tokens are minted by the emulator (which trusts their signature)."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        audience = scopes[0].removesuffix("/.default")
        token = self._registry.mint_entra_token(audience=audience, subject="azure-sdk-test")
        return AccessToken(token, int(time.time()) + 3600)


class AsyncEmulatorEntraCredential(EmulatorEntraCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return EmulatorEntraCredential.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> AsyncEmulatorEntraCredential:
        return self

    async def __aexit__(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def entra_registry() -> Iterator[Any]:
    """TLS, token auth, and a per-run Entra ID secret (run_emulator's users= implies it)."""
    with run_emulator(users=USERS, tls=True) as registry:
        yield registry


def _ours(registry: Any) -> ContainerRegistryClient:
    config = getattr(registry.auth, "config", None)
    credential = BasicCredential(*ADMIN) if config is not None and config.users else None
    verify: bool | str = str(registry.ca_cert) if registry.ca_cert else True
    return ContainerRegistryClient(registry.endpoint, credential, verify=verify)


def _kwargs(registry: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"audience": AUDIENCE}
    if registry.ca_cert:
        kwargs["connection_verify"] = str(registry.ca_cert)
    return kwargs


def _image(label: str) -> tuple[bytes, bytes, dict[str, Any]]:
    config = json.dumps({"architecture": "arm64", "os": "linux", "label": label}).encode()
    layer = f"layer of {label}\n".encode() * 64
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
    }
    return config, layer, manifest


class _Calls:
    """Runs a step on the sync or the async client, so both flavours share one scenario."""

    def __init__(self, sdk: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.sdk = sdk
        self.loop = loop

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.sdk, name)(*args, **kwargs)
        if self.loop is not None and asyncio.iscoroutine(result):
            return self.loop.run_until_complete(result)
        return result

    def items(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        paged = getattr(self.sdk, name)(*args, **kwargs)
        if self.loop is None:
            return list(paged)

        async def collect() -> list[Any]:
            return [item async for item in paged]

        return self.loop.run_until_complete(collect())

    def download(self, repository: str, digest: str) -> bytes:
        if self.loop is None:
            return b"".join(self.sdk.download_blob(repository, digest))

        async def collect() -> bytes:
            stream = await self.sdk.download_blob(repository, digest)
            return b"".join([chunk async for chunk in stream])

        return self.loop.run_until_complete(collect())


def _every_operation(calls: _Calls, registry: Any, repository: str) -> None:
    """Each of the 17 operations of ContainerRegistryClient, checked against our client."""
    config, layer, manifest = _image(repository)
    assert calls("upload_blob", repository, io.BytesIO(config)) == (sha256(config), len(config))
    assert calls("upload_blob", repository, io.BytesIO(layer)) == (sha256(layer), len(layer))
    digest = calls("set_manifest", repository, manifest, tag="v1", media_type=OCI_MANIFEST)
    ours_digest, ours_manifest = manifest_of(registry, repository, "v1")
    assert digest == ours_digest and ours_manifest == manifest

    got = calls("get_manifest", repository, "v1")
    assert (got.digest, got.media_type, got.manifest) == (digest, OCI_MANIFEST, manifest)
    assert calls.download(repository, sha256(layer)) == layer

    assert repository in calls.items("list_repository_names")
    props = calls("get_repository_properties", repository)
    assert (props.name, props.tag_count, props.manifest_count) == (repository, 1, 1)
    updated = calls("update_repository_properties", repository, can_list=False)
    assert updated.can_list is False
    with _ours(registry) as ours:
        assert ours.get_repository(repository).get_properties().can_list is False

    manifests = calls.items("list_manifest_properties", repository)
    assert [m.digest for m in manifests] == [digest]
    properties = calls("get_manifest_properties", repository, "v1")
    assert properties.digest == digest and properties.tags == ["v1"]
    locked = calls("update_manifest_properties", repository, digest, can_delete=False)
    assert locked.can_delete is False
    with pytest.raises(HttpResponseError) as refused:
        calls("delete_manifest", repository, digest)
    assert refused.value.status_code == 405
    with _ours(registry) as ours:
        assert ours.get_artifact(repository, digest).get_manifest_properties().can_delete is False
    calls("update_manifest_properties", repository, digest, can_delete=True)

    assert [t.name for t in calls.items("list_tag_properties", repository)] == ["v1"]
    tag = calls("get_tag_properties", repository, "v1")
    assert (tag.name, tag.digest) == ("v1", digest)
    assert calls("update_tag_properties", repository, "v1", can_write=False).can_write is False
    with _ours(registry) as ours:
        assert ours.get_artifact(repository, "v1").get_tag_properties("v1").can_write is False
    calls("update_tag_properties", repository, "v1", can_write=True)
    calls("delete_tag", repository, "v1")
    with client(registry, repository) as ours_content:
        assert list(ours_content.list_tags()) == []

    calls("delete_manifest", repository, digest)
    with client(registry, repository) as ours_content, pytest.raises(OurNotFound):
        ours_content.get_manifest(digest)
    calls("delete_blob", repository, sha256(layer))
    with client(registry, repository) as ours_content:
        assert not ours_content.blob_exists(sha256(layer))

    calls("delete_repository", repository)
    with pytest.raises(ResourceNotFoundError):
        calls("get_repository_properties", repository)
    assert repository not in calls.items("list_repository_names")


def test_every_operation_sync_tls_entra(entra_registry: Any) -> None:
    credential = EmulatorEntraCredential(entra_registry)
    exchanges = entra_registry.auth.stats.exchanges
    with AzureClient(entra_registry.endpoint, credential, **_kwargs(entra_registry)) as sdk:
        _every_operation(_Calls(sdk, None), entra_registry, "azure/sync")
    assert credential.scopes and all(s == (f"{AUDIENCE}/.default",) for s in credential.scopes)
    assert entra_registry.auth.stats.exchanges > exchanges  # the Entra token went through /oauth2/exchange


def test_every_operation_aio_tls_entra(entra_registry: Any) -> None:
    credential = AsyncEmulatorEntraCredential(entra_registry)
    exchanges = entra_registry.auth.stats.exchanges
    loop = asyncio.new_event_loop()
    try:
        sdk = AsyncAzureClient(entra_registry.endpoint, credential, **_kwargs(entra_registry))
        try:
            _every_operation(_Calls(sdk, loop), entra_registry, "azure/aio")
        finally:
            loop.run_until_complete(sdk.close())
    finally:
        loop.close()
    assert credential.scopes
    assert entra_registry.auth.stats.exchanges > exchanges


@pytest.fixture(scope="module")
def open_tls_registry() -> Iterator[Any]:
    with run_emulator(tls=True) as registry:
        yield registry


def test_every_operation_sync_open_tls(open_tls_registry: Any) -> None:
    with AzureClient(open_tls_registry.endpoint, None, **_kwargs(open_tls_registry)) as sdk:
        _every_operation(_Calls(sdk, None), open_tls_registry, "azure/open")


def test_plain_http_is_refused_by_the_sdk(open_registry: Any) -> None:
    """The SDK sends bearer tokens (even anonymous ones) only over https: its user sees this on http."""
    with (
        AzureClient(open_registry.endpoint, None, audience=AUDIENCE, retry_total=0) as sdk,
        pytest.raises(ServiceRequestError) as refused,
    ):
        sdk.get_repository_properties("azure/open")
    assert "non-TLS" in str(refused.value)


def test_entra_token_for_another_audience_is_refused(entra_registry: Any) -> None:
    class WrongAudience(EmulatorEntraCredential):
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            token = self._registry.mint_entra_token(audience="https://vault.azure.net")
            return AccessToken(token, int(time.time()) + 3600)

    with (
        AzureClient(entra_registry.endpoint, WrongAudience(entra_registry), **_kwargs(entra_registry)) as sdk,
        pytest.raises(ClientAuthenticationError),
    ):
        sdk.get_repository_properties("azure/anything")


# -- anonymous pull ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def public_image(anon_registry: Any) -> str:
    return push_image(anon_registry, "azure/public", "v1", "azure-public", arch="arm64")


def _anonymous_reads(calls: _Calls, registry: Any, digest: str) -> None:
    props = calls("get_repository_properties", "azure/public")
    assert props.name == "azure/public" and props.tag_count == 1
    assert [t.name for t in calls.items("list_tag_properties", "azure/public")] == ["v1"]
    assert calls("get_tag_properties", "azure/public", "v1").digest == digest
    assert [m.digest for m in calls.items("list_manifest_properties", "azure/public")] == [digest]
    assert calls("get_manifest_properties", "azure/public", digest).digest == digest
    got = calls("get_manifest", "azure/public", "v1")
    assert got.digest == digest
    config = got.manifest["config"]
    assert json.loads(calls.download("azure/public", config["digest"]))["architecture"] == "arm64"


def test_anonymous_reads_sync(anon_registry: Any, public_image: str) -> None:
    with AzureClient(anon_registry.endpoint, None, **_kwargs(anon_registry)) as sdk:
        _anonymous_reads(_Calls(sdk, None), anon_registry, public_image)


def test_anonymous_reads_aio(anon_registry: Any, public_image: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        sdk = AsyncAzureClient(anon_registry.endpoint, None, **_kwargs(anon_registry))
        try:
            _anonymous_reads(_Calls(sdk, loop), anon_registry, public_image)
        finally:
            loop.run_until_complete(sdk.close())
    finally:
        loop.close()


def test_anonymous_list_repository_names(anon_registry: Any, public_image: str) -> None:
    with AzureClient(anon_registry.endpoint, None, **_kwargs(anon_registry)) as sdk:
        assert "azure/public" in list(sdk.list_repository_names())


def test_anonymous_writes_are_refused(anon_registry: Any, public_image: str) -> None:
    config, _, manifest = _image("azure-anonymous-write")
    with AzureClient(anon_registry.endpoint, None, **_kwargs(anon_registry)) as sdk:
        with pytest.raises(ClientAuthenticationError):
            sdk.upload_blob("azure/public", io.BytesIO(config))
        with pytest.raises(ClientAuthenticationError):
            sdk.set_manifest("azure/public", manifest, tag="v2")
        with pytest.raises(ClientAuthenticationError):
            sdk.delete_tag("azure/public", "v1")
        with pytest.raises(ClientAuthenticationError):
            sdk.update_manifest_properties("azure/public", public_image, can_read=False)
        with pytest.raises(ClientAuthenticationError):
            sdk.delete_repository("azure/public")
    with client(anon_registry, "azure/public") as ours:
        assert list(ours.list_tags()) == ["v1"]
        assert not ours.blob_exists(sha256(config))
