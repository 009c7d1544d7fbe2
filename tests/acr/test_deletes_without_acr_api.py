"""Deletes never claim what did not happen: "this registry has no such API" is not "no such item".

Against CNCF Distribution (no ACR API, no delete by tag), against an OCI 1.1 registry without the ACR
API that deletes by tag (the emulator behind a loopback proxy that hides `/acr/v1`), and against the
emulator's ACR API. Sync and async clients alike.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from containerregistry import (
    ContainerRegistryContentClient,
    ResourceNotFoundError,
    UnsupportedOperationError,
)
from containerregistry.emulator import RunningEmulator, run_emulator
from containerregistry.protocol.results import DeleteRepositoryResult
from tests.support.adapter import ClientKind
from tests.support.faults import PlannedFault, run_fault_proxy

from .conftest import Seeder


def _push(endpoint: str, repository: str, *tags: str) -> str:
    """Push one small image under `tags`; return its digest."""
    with ContainerRegistryContentClient(endpoint, repository) as content:
        config = json.dumps({"architecture": "amd64", "os": "linux", "nonce": uuid.uuid4().hex}).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": content.upload_blob(config).digest,
                "size": len(config),
            },
            "layers": [],
        }
        digest = content.set_manifest(manifest, tag=tags[0]).digest
        for tag in tags[1:]:
            content.set_manifest(manifest, tag=tag)
        return digest


def _tags(endpoint: str, repository: str) -> list[str]:
    with ContainerRegistryContentClient(endpoint, repository) as content:
        return sorted(content.list_tags())


def _manifest_exists(endpoint: str, repository: str, digest: str) -> bool:
    with ContainerRegistryContentClient(endpoint, repository) as content:
        try:
            content.get_manifest(digest)
        except ResourceNotFoundError:
            return False
        return True


@pytest.fixture
def open_client(client_kind: ClientKind) -> Iterator[Callable[[str], Any]]:
    """`open_client(endpoint)`: an anonymous `ContainerRegistryClient` of the flavour, called as a sync one."""
    made: list[Any] = []

    def make(endpoint: str) -> Any:
        client = client_kind.adapt(client_kind.package.ContainerRegistryClient(endpoint))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _repo() -> str:
    return f"deletes/r{uuid.uuid4().hex[:10]}"


# -- Distribution: no ACR API, no delete by tag ---------------------------------------------------


def test_delete_tag_on_distribution_is_refused_and_names_the_manifest(
    distribution: Any, open_client: Callable[[str], Any]
) -> None:
    repo = _repo()
    digest = _push(distribution.endpoint, repo, "v1", "v1-alias")
    client = open_client(distribution.endpoint)
    with pytest.raises(UnsupportedOperationError) as caught:
        client.get_artifact(repo, "v1").delete_tag("v1")
    message = str(caught.value)
    assert "cannot delete a tag alone" in message and "nothing was deleted" in message
    assert f"creg manifest rm {repo}@{digest}" in message
    assert _tags(distribution.endpoint, repo) == ["v1", "v1-alias"]  # really nothing deleted
    # An absent tag: the Azure convention (success) by default, an error when asked.
    client.get_artifact(repo, "absent").delete_tag("absent")
    with pytest.raises(ResourceNotFoundError, match="no such tag"):
        client.get_artifact(repo, "absent").delete_tag("absent", missing_ok=False)


def test_delete_artifact_by_tag_on_distribution_really_deletes(
    distribution: Any, open_client: Callable[[str], Any]
) -> None:
    repo = _repo()
    digest = _push(distribution.endpoint, repo, "v1", "v1-alias")
    client = open_client(distribution.endpoint)
    client.get_artifact(repo, "v1").delete()  # the tag is resolved with the OCI API
    assert not _manifest_exists(distribution.endpoint, repo, digest)
    assert _tags(distribution.endpoint, repo) == []
    client.get_artifact(repo, "v1").delete()  # absent now: succeeds
    with pytest.raises(ResourceNotFoundError):
        client.get_artifact(repo, "v1").delete(missing_ok=False)
    with pytest.raises(ResourceNotFoundError):
        client.get_artifact(repo, digest).delete(missing_ok=False)


def test_delete_repository_on_distribution_is_refused(
    distribution: Any, open_client: Callable[[str], Any]
) -> None:
    repo = _repo()
    digest = _push(distribution.endpoint, repo, "v1")
    client = open_client(distribution.endpoint)
    with pytest.raises(UnsupportedOperationError) as caught:
        client.delete_repository(repo)
    assert "no API to delete a repository" in str(caught.value)
    assert "creg manifest rm" in str(caught.value)
    assert _manifest_exists(distribution.endpoint, repo, digest)
    with pytest.raises(UnsupportedOperationError):
        client.get_repository(repo).delete()
    # A repository that does not exist: nothing to refuse.
    assert client.delete_repository(_repo()) == DeleteRepositoryResult()
    with pytest.raises(ResourceNotFoundError, match="no such repository"):
        client.delete_repository(_repo(), missing_ok=False)


# -- an OCI 1.1 registry without the ACR API that deletes by tag -----------------------------------


#: Distribution's plain 404 for every `/acr/...` request (it has no ACR API).
_NO_ACR_API = PlannedFault(
    "status",
    path="^/acr/",
    times=None,
    status=404,
    body=b"404 page not found\n",
    content_type="text/plain",
)


@pytest.fixture(scope="module")
def oci_only() -> Iterator[str]:
    """The endpoint of an emulator whose ACR API is hidden (by a loopback proxy): an OCI registry that
    deletes by tag."""
    with (
        run_emulator() as emulator,
        run_fault_proxy(urlsplit(emulator.endpoint).port or 80, plan=[_NO_ACR_API]) as proxy,
    ):
        yield proxy.endpoint


def test_delete_tag_falls_back_to_oci_delete_by_tag(oci_only: str, open_client: Callable[[str], Any]) -> None:
    repo = _repo()
    digest = _push(oci_only, repo, "v1", "keep")
    client = open_client(oci_only)
    client.get_artifact(repo, "v1").delete_tag("v1")
    assert _tags(oci_only, repo) == ["keep"]  # only the tag went
    assert _manifest_exists(oci_only, repo, digest)
    client.get_artifact(repo, "v1").delete_tag("v1")  # absent: succeeds
    with pytest.raises(ResourceNotFoundError, match="no such tag"):
        client.get_artifact(repo, "v1").delete_tag("v1", missing_ok=False)


# -- the ACR API (the emulator over TLS): absent items --------------------------------------------


def test_acr_absent_tag_and_repository(make_client: Any, seed: Seeder, acr: RunningEmulator) -> None:
    repo = _repo()
    seed.push(repo, "v1")
    client = make_client()
    client.get_artifact(repo, "v1").delete_tag("absent")
    with pytest.raises(ResourceNotFoundError, match="no such tag"):
        client.get_artifact(repo, "v1").delete_tag("absent", missing_ok=False)
    with pytest.raises(ResourceNotFoundError, match="no such tag"):
        client.get_artifact(repo, "absent").delete(missing_ok=False)
    assert client.delete_repository(_repo()) == DeleteRepositoryResult()
    with pytest.raises(ResourceNotFoundError, match="no such repository"):
        client.delete_repository(_repo(), missing_ok=False)
    client.get_artifact(repo, "v1").delete_tag("v1", missing_ok=False)
    assert [t.name for t in client.get_repository(repo).list_tag_properties()] == []
