"""Every method and call form of azure-containerregistry 1.2.0's `ContainerRegistryClient`, run through the
same test body with the real SDK and with ours (`impl`), sync and aio (`flavour`), over TLS with the Entra
ID exchange. Errors are caught as SDK code catches them: `except azure.core.exceptions.X`."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.exceptions import ServiceRequestError as AzureServiceRequestError

from .conftest import AUDIENCE, AsyncEntraCredential, Calls, EntraCredential, Impl, close_client, open_client
from .helpers import OCI_MANIFEST, blob_exists, blob_of, content, observer, push_image, sha256, tags_of
from .helpers import image as _image

# -- blobs and manifests --------------------------------------------------------------------------


def test_upload_set_get_download_delete(sdk: Calls, entra_registry: Any, repo: str) -> None:
    config, layer, manifest = _image(repo)
    assert sdk("upload_blob", repo, io.BytesIO(config)) == (sha256(config), len(config))
    assert sdk("upload_blob", repo, io.BytesIO(layer)) == (sha256(layer), len(layer))
    digest = sdk("set_manifest", repo, manifest, tag="v1", media_type=OCI_MANIFEST)
    assert digest == sha256(json.dumps(manifest).encode())  # the SDK's serialization, so the same digest
    assert tags_of(entra_registry, repo) == ["v1"]

    got = sdk("get_manifest", repo, "v1")
    assert (got.digest, got.media_type, got.manifest) == (digest, OCI_MANIFEST, manifest)
    assert sdk("get_manifest", repo, digest).manifest == manifest
    assert sdk.download(repo, sha256(layer)) == layer

    sdk("delete_blob", repo, sha256(layer))
    assert not blob_exists(entra_registry, repo, sha256(layer))
    sdk("delete_blob", repo, sha256(layer))  # already gone: no error
    sdk("delete_manifest", repo, digest)
    with pytest.raises(ResourceNotFoundError):
        sdk("get_manifest", repo, digest)
    sdk("delete_manifest", repo, digest)  # already gone: no error


def test_set_manifest_from_a_stream_without_tag(sdk: Calls, entra_registry: Any, repo: str) -> None:
    config, layer, manifest = _image(repo)
    sdk("upload_blob", repo, io.BytesIO(config))
    sdk("upload_blob", repo, io.BytesIO(layer))
    content = json.dumps(manifest, separators=(",", ":")).encode()
    digest = sdk("set_manifest", repo, io.BytesIO(content))  # default media type: OCI image manifest
    assert digest == sha256(content)
    got = sdk("get_manifest", repo, digest)
    assert (got.digest, got.media_type, got.manifest) == (digest, OCI_MANIFEST, manifest)
    assert tags_of(entra_registry, repo) == []


def test_download_of_a_missing_blob_is_not_found(sdk: Calls, repo: str) -> None:
    sdk("upload_blob", repo, io.BytesIO(b"something"))
    with pytest.raises(ResourceNotFoundError):
        sdk.download(repo, sha256(b"never uploaded"))


def test_download_blob_stream_is_a_context_manager_and_iterator(sdk: Calls, repo: str) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    digest, size = sdk("upload_blob", repo, io.BytesIO(data))
    assert size == len(data)
    stream = sdk("download_blob", repo, digest)
    if sdk.flavour == "sync":
        assert iter(stream) is stream
        with stream:
            assert b"".join(stream) == data
    else:

        async def read() -> bytes:
            assert stream.__aiter__() is stream
            async with stream:
                return b"".join([chunk async for chunk in stream])

        assert sdk.run(read()) == data


# -- repositories ---------------------------------------------------------------------------------


def test_repository_properties_both_update_forms(sdk: Calls, entra_registry: Any, repo: str) -> None:
    push_image(entra_registry, repo, "v1", repo, arch="arm64")
    assert repo in sdk.items("list_repository_names")
    props = sdk("get_repository_properties", repo)
    assert (props.name, props.tag_count, props.manifest_count) == (repo, 1, 1)
    assert (props.can_delete, props.can_write, props.can_read, props.can_list) == (True, True, True, True)

    updated = sdk("update_repository_properties", repo, can_list=False)  # keywords
    assert updated.can_list is False and updated.can_write is True
    with observer(entra_registry) as ours:
        assert ours.get_repository(repo).get_properties().can_list is False

    props = sdk("get_repository_properties", repo)  # read, modify, update with the object
    props.can_list = True
    props.can_write = False
    updated = sdk("update_repository_properties", repo, props)
    assert (updated.can_list, updated.can_write) == (True, False)
    with observer(entra_registry) as ours:
        assert ours.get_repository(repo).get_properties().can_write is False
    sdk("update_repository_properties", repo, sdk.models.RepositoryProperties(can_write=True))
    with observer(entra_registry) as ours:
        assert ours.get_repository(repo).get_properties().can_write is True

    sdk("delete_repository", repo)
    with pytest.raises(ResourceNotFoundError):
        sdk("get_repository_properties", repo)
    assert repo not in sdk.items("list_repository_names")
    sdk("delete_repository", repository=repo)  # already gone: no error (and the SDK's keyword name)


# -- manifest properties --------------------------------------------------------------------------


def test_manifest_properties_both_update_forms(sdk: Calls, entra_registry: Any, repo: str) -> None:
    digest = push_image(entra_registry, repo, "v1", repo, arch="arm64")
    by_tag = sdk("get_manifest_properties", repo, "v1")
    by_digest = sdk("get_manifest_properties", repo, digest)
    for props in (by_tag, by_digest):
        assert (props.digest, props.tags, props.repository_name) == (digest, ["v1"], repo)
        assert props.architecture == sdk.models.ArtifactArchitecture.ARM64 == "arm64"
        assert props.operating_system == sdk.models.ArtifactOperatingSystem.LINUX
        assert props.size_in_bytes and props.size_in_bytes > 0
        assert props.can_delete is True

    locked = sdk("update_manifest_properties", repo, digest, can_delete=False, can_write=False)
    assert (locked.can_delete, locked.can_write, locked.can_read) == (False, False, True)
    with pytest.raises(HttpResponseError) as refused:
        sdk("delete_manifest", repo, digest)
    assert refused.value.status_code == 405
    with observer(entra_registry) as ours:
        assert ours.get_artifact(repo, digest).get_manifest_properties().can_delete is False

    props = sdk("get_manifest_properties", repo, "v1")
    props.can_delete = True
    props.can_write = True
    unlocked = sdk("update_manifest_properties", repo, "v1", props)
    assert (unlocked.can_delete, unlocked.can_write) == (True, True)
    new = sdk.models.ArtifactManifestProperties(can_read=False)
    assert sdk("update_manifest_properties", repo, digest, new).can_read is False
    sdk("update_manifest_properties", repo, digest, can_read=True)

    sdk("delete_manifest", repo, "v1")  # by tag
    with pytest.raises(ResourceNotFoundError):
        sdk("get_manifest_properties", repo, digest)


def test_list_manifest_properties_orders(sdk: Calls, entra_registry: Any, repo: str) -> None:
    digests = []
    for index in range(3):
        digests.append(push_image(entra_registry, repo, f"v{index}", f"{repo}-{index}"))
        time.sleep(0.02)
    order = sdk.models.ArtifactManifestOrder
    newest = [
        m.digest
        for m in sdk.items("list_manifest_properties", repo, order_by=order.LAST_UPDATED_ON_DESCENDING)
    ]
    oldest = [m.digest for m in sdk.items("list_manifest_properties", repo, order_by="timeasc")]
    assert newest == digests[::-1] and oldest == digests
    assert sorted(m.digest for m in sdk.items("list_manifest_properties", repo)) == sorted(digests)
    assert all(len(m.tags) == 1 for m in sdk.items("list_manifest_properties", repo))


# -- tag properties -------------------------------------------------------------------------------


def test_tag_properties_both_update_forms(sdk: Calls, entra_registry: Any, repo: str) -> None:
    digest = push_image(entra_registry, repo, "v1", repo)
    tag = sdk("get_tag_properties", repo, "v1")
    assert (tag.name, tag.digest) == (
        "v1",
        digest,
    )  # (the SDK leaves a tag's repository_name None; ours sets it)
    assert sdk("update_tag_properties", repo, "v1", can_write=False).can_write is False
    with observer(entra_registry) as ours:
        assert ours.get_artifact(repo, "v1").get_tag_properties("v1").can_write is False
    tag = sdk("get_tag_properties", repo, "v1")
    tag.can_write = True
    tag.can_delete = False
    updated = sdk("update_tag_properties", repo, "v1", tag)
    assert (updated.can_write, updated.can_delete) == (True, False)
    with pytest.raises(HttpResponseError) as refused:
        sdk("delete_tag", repo, "v1")
    assert refused.value.status_code == 405
    props = sdk.models.ArtifactTagProperties(can_delete=True)
    assert sdk("update_tag_properties", repo, "v1", props).can_delete is True

    sdk("delete_tag", repo, "v1")
    assert tags_of(entra_registry, repo) == []
    with pytest.raises(ResourceNotFoundError):
        sdk("get_tag_properties", repo, "v1")
    with observer(entra_registry) as ours:  # the manifest stays
        assert ours.get_artifact(repo, digest).get_manifest_properties().digest == digest


def test_list_tag_properties_orders(sdk: Calls, entra_registry: Any, repo: str) -> None:
    for name in ("b", "a", "c"):
        push_image(entra_registry, repo, name, f"{repo}-{name}")
        time.sleep(0.02)
    order = sdk.models.ArtifactTagOrder
    assert [t.name for t in sdk.items("list_tag_properties", repo)] == ["a", "b", "c"]
    newest = sdk.items("list_tag_properties", repo, order_by=order.LAST_UPDATED_ON_DESCENDING)
    assert [t.name for t in newest] == ["c", "a", "b"]
    assert [t.name for t in sdk.items("list_tag_properties", repo, order_by="timeasc")] == ["b", "a", "c"]


# -- pagers ---------------------------------------------------------------------------------------


def test_pages_and_continuation_tokens(sdk: Calls, entra_registry: Any, repo: str) -> None:
    digest = push_image(entra_registry, repo, "t0", repo)
    with content(entra_registry, repo) as ours:
        manifest = ours.get_manifest(digest)
        for index in range(1, 5):
            ours.set_manifest(manifest.content, tag=f"t{index}", media_type=manifest.media_type)
    paged = sdk.client.list_tag_properties(repo, results_per_page=2)
    azure_paged = __import__("azure.core.paging", fromlist=["ItemPaged"]).ItemPaged
    azure_async_paged = __import__("azure.core.async_paging", fromlist=["AsyncItemPaged"]).AsyncItemPaged
    assert isinstance(paged, azure_paged if sdk.flavour == "sync" else azure_async_paged)
    pages, tokens = sdk.pages(paged)
    assert [[t.name for t in page] for page in pages] == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    assert tokens[-1] is None and all(isinstance(token, str) for token in tokens[:-1])

    first, token = sdk.first_page(sdk.client.list_tag_properties(repo, results_per_page=2))
    assert [t.name for t in first] == ["t0", "t1"]
    rest, _ = sdk.pages(sdk.client.list_tag_properties(repo, results_per_page=2), continuation_token=token)
    assert [[t.name for t in page] for page in rest] == [["t2", "t3"], ["t4"]]

    names = sdk.items("list_repository_names", results_per_page=1)
    assert repo in names and names == sorted(names)


# -- errors as the SDK's users catch them ---------------------------------------------------------


def test_not_found_errors(sdk: Calls, repo: str) -> None:
    for call in (
        ("get_repository_properties", repo),
        ("get_tag_properties", repo, "nope"),
        ("get_manifest_properties", repo, "nope"),
        ("get_manifest_properties", repo, sha256(b"nope")),
        ("update_tag_properties", repo, "nope"),
        ("get_manifest", repo, "nope"),
    ):
        with pytest.raises(ResourceNotFoundError) as caught:
            sdk(*call, **({"can_write": True} if call[0] == "update_tag_properties" else {}))
        assert isinstance(caught.value, HttpResponseError) and caught.value.status_code == 404, call
    with pytest.raises(ResourceNotFoundError):
        sdk.items("list_tag_properties", repo)


def test_wrong_audience_is_a_client_authentication_error(
    impl: Impl, flavour: str, entra_registry: Any
) -> None:
    credential = EntraCredential(entra_registry, audience="https://vault.azure.net")
    if flavour == "aio":
        credential = AsyncEntraCredential(entra_registry, audience="https://vault.azure.net")
    calls = open_client(impl, flavour, entra_registry, credential)
    try:
        with pytest.raises(ClientAuthenticationError) as caught:
            calls("get_repository_properties", "compat/anything")
        assert isinstance(caught.value, HttpResponseError) and caught.value.status_code == 401
    finally:
        close_client(calls)


def test_unreachable_registry_is_a_service_request_error(
    impl: Impl, flavour: str, entra_registry: Any
) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = type("Dead", (), {"endpoint": f"https://127.0.0.1:{port}", "ca_cert": entra_registry.ca_cert})()
    calls = open_client(impl, flavour, dead, None, retry_total=0)
    try:
        with pytest.raises(AzureServiceRequestError):
            calls("get_repository_properties", "compat/anything")
    finally:
        close_client(calls)


def test_entra_exchange_uses_the_audience_scope(
    impl: Impl, flavour: str, entra_registry: Any, repo: str
) -> None:
    credential = (
        EntraCredential(entra_registry) if flavour == "sync" else AsyncEntraCredential(entra_registry)
    )
    exchanges = entra_registry.auth.stats.exchanges
    calls = open_client(impl, flavour, entra_registry, credential)
    try:
        calls("upload_blob", repo, io.BytesIO(b"exchange"))
    finally:
        close_client(calls)
    assert credential.scopes and all(scope == (f"{AUDIENCE}/.default",) for scope in credential.scopes)
    assert entra_registry.auth.stats.exchanges > exchanges
    assert blob_of(entra_registry, repo, sha256(b"exchange")) == b"exchange"


# -- models ---------------------------------------------------------------------------------------


def test_model_values_and_reprs(impl: Impl) -> None:
    models = impl.sync
    for enum, names in (
        (
            models.ArtifactArchitecture,
            [
                "AMD64",
                "ARM",
                "ARM64",
                "I386",
                "MIPS",
                "MIPS64",
                "MIPS64LE",
                "MIPSLE",
                "PPC64",
                "PPC64LE",
                "RISCV64",
                "S390X",
                "WASM",
            ],
        ),
        (
            models.ArtifactOperatingSystem,
            [
                "AIX",
                "ANDROID",
                "DARWIN",
                "DRAGONFLY",
                "FREEBSD",
                "ILLUMOS",
                "IOS",
                "JS",
                "LINUX",
                "NETBSD",
                "OPENBSD",
                "PLAN9",
                "SOLARIS",
                "WINDOWS",
            ],
        ),
    ):
        for name in names:
            member = getattr(enum, name)
            assert member == member.value and isinstance(member, str)
            assert repr(member) == f"<{enum.__name__}.{name}: {member.value!r}>"
    assert models.ArtifactArchitecture("mips64le") is models.ArtifactArchitecture.MIPS64LE
    assert models.ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING == "timedesc"
    assert models.ArtifactTagOrder.LAST_UPDATED_ON_ASCENDING == "timeasc"
    props = models.ArtifactTagProperties(can_delete=False, can_list=False, can_read=False, can_write=False)
    assert (props.can_delete, props.can_list, props.can_read, props.can_write) == (False, False, False, False)
    props.can_read = True
    assert props.can_read is True
    assert issubclass(models.DigestValidationError, ValueError)


def test_update_with_nothing_to_change_returns_the_properties(
    sdk: Calls, entra_registry: Any, repo: str
) -> None:
    digest = push_image(entra_registry, repo, "v1", repo)
    assert sdk("update_tag_properties", repo, "v1").digest == digest
    assert sdk("update_manifest_properties", repo, digest).digest == digest
    assert sdk("update_repository_properties", repo).name == repo
    assert sdk("update_tag_properties", repo, "v1", sdk.models.ArtifactTagProperties()).can_write is True


def test_download_of_a_corrupted_blob_fails_the_digest_check(
    sdk: Calls, entra_registry: Any, repo: str
) -> None:
    data = repo.encode() * 1000
    digest, _ = sdk("upload_blob", repo, io.BytesIO(data))
    path = entra_registry.data_dir / "blobs" / "sha256" / digest.split(":")[1]
    assert path.read_bytes() == data
    path.write_bytes(data[:-1] + b"!")  # the same size, other bytes: only the digest check can tell
    stream_class = (
        sdk.impl.sync.DownloadBlobStream if sdk.flavour == "sync" else sdk.impl.aio.AsyncDownloadBlobStream
    )
    stream = sdk("download_blob", repo, digest)
    assert isinstance(stream, stream_class)
    sdk.run(stream.close())
    with pytest.raises(sdk.models.DigestValidationError) as caught:
        sdk.download(repo, digest)
    assert isinstance(caught.value, ValueError)


def test_an_azure_core_transport_carries_the_calls(
    impl: Impl, flavour: str, entra_registry: Any, repo: str
) -> None:
    from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport

    ca = str(entra_registry.ca_cert)  # an azure-core transport brings its own TLS settings
    transport = (
        RequestsTransport(connection_verify=ca)
        if flavour == "sync"
        else AioHttpTransport(connection_verify=ca)
    )
    credential = (
        EntraCredential(entra_registry) if flavour == "sync" else AsyncEntraCredential(entra_registry)
    )
    calls = open_client(impl, flavour, entra_registry, credential, transport=transport)
    try:
        data = repo.encode() * 4096
        digest, size = calls("upload_blob", repo, io.BytesIO(data))
        assert (digest, size) == (sha256(data), len(data))
        assert calls.download(repo, digest) == data
        _, _, manifest = _image(repo)
        with pytest.raises(HttpResponseError):  # its config and layer were never uploaded
            calls("set_manifest", repo, manifest, tag="v1")
        with pytest.raises(ResourceNotFoundError):
            calls("get_tag_properties", repo, "v1")
    finally:
        close_client(calls)
    assert blob_of(entra_registry, repo, digest) == data


def test_a_download_stopped_part_way_can_be_closed(sdk: Calls, repo: str) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB: more than one chunk
    digest, _ = sdk("upload_blob", repo, io.BytesIO(data))
    stream = sdk("download_blob", repo, digest)
    first = next(stream) if sdk.flavour == "sync" else sdk.run(stream.__anext__())
    assert first and data.startswith(first)
    sdk.run(stream.close())
    assert sdk.download(repo, digest) == data  # the client is still fine
