"""ContainerRegistryClient, ContainerRepository and RegistryArtifact against the emulator.

Every test runs twice: with the sync clients and with the async clients (driven by `Adapted`), over
TLS with token auth and a test Entra ID credential the emulator trusts.
"""

from __future__ import annotations

import json
import math
from datetime import timezone
from typing import Any

import pytest

from containerregistry.emulator import RunningEmulator
from containerregistry.exceptions import (
    ClientAuthenticationError,
    InvalidReferenceError,
    OperationNotAllowedError,
    ResourceNotFoundError,
)
from containerregistry.protocol.acr import (
    ArtifactArchitecture,
    ArtifactManifestOrder,
    ArtifactOperatingSystem,
    ArtifactTagOrder,
    ArtifactTagProperties,
    RepositoryProperties,
)
from containerregistry.protocol.results import DeleteRepositoryResult
from tests.acr.conftest import RequestLog, Seeder


def _pages(paged: Any, token: str | None = None) -> list[list[Any]]:
    return [list(page) for page in paged.by_page(token)]


# -- registry client -----------------------------------------------------------------------------


def test_endpoint_and_login_server(make_client: Any, acr: RunningEmulator) -> None:
    client = make_client()
    assert client.endpoint == acr.endpoint
    assert client.login_server == acr.login_server
    assert client.endpoint.startswith("https://")


@pytest.mark.parametrize("per_page", [1, 2])
def test_list_repository_names_pages(make_client: Any, seed: Seeder, repo_name: str, per_page: int) -> None:
    mine = [f"{repo_name}/r{i}" for i in range(5)]
    for name in mine:
        seed.push(name, "v1")
    client = make_client()
    everything = list(client.list_repository_names())
    assert set(mine) <= set(everything)
    assert everything == sorted(everything)

    pages = _pages(client.list_repository_names(results_per_page=per_page))
    assert [name for page in pages for name in page] == everything
    assert all(len(page) == per_page for page in pages[:-1])
    assert len(pages) == math.ceil(len(everything) / per_page)


def test_list_repository_names_resumes_from_continuation_token(
    make_client: Any, seed: Seeder, repo_name: str
) -> None:
    for i in range(4):
        seed.push(f"{repo_name}/r{i}", "v1")
    client = make_client()
    everything = list(client.list_repository_names())
    pages = client.list_repository_names(results_per_page=2).by_page()
    first = next(pages)
    token = pages.continuation_token
    assert token is not None
    rest = [name for page in client.list_repository_names(results_per_page=2).by_page(token) for name in page]
    assert list(first) + rest == everything


def test_continuation_token_of_another_registry_is_refused(make_client: Any) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="continuation_token"):
        next(iter(client.list_repository_names().by_page("https://evil.example/acr/v1/_catalog?last=a")))


def test_results_per_page_must_be_positive(make_client: Any) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="results_per_page"):
        client.list_repository_names(results_per_page=0)
    with pytest.raises(ValueError, match="results_per_page"):
        client.get_repository("app").list_tag_properties(results_per_page=-1)


def test_get_repository_and_artifact_validate_without_io(make_client: Any) -> None:
    log = RequestLog()
    client = make_client(log=log)
    with pytest.raises(InvalidReferenceError):
        client.get_repository("Not Valid")
    with pytest.raises(InvalidReferenceError):
        client.get_artifact("app", "bad tag!")
    with pytest.raises(InvalidReferenceError):
        client.get_artifact("app", "sha256:short")
    repo = client.get_repository("library/hello-world")
    artifact = client.get_artifact("library/hello-world", "latest")
    assert repo.name == "library/hello-world"
    assert repo.fully_qualified_name == f"{client.login_server}/library/hello-world"
    assert repo.registry_endpoint == client.endpoint
    assert artifact.repository_name == "library/hello-world"
    assert artifact.registry_endpoint == client.endpoint
    assert artifact.fully_qualified_reference == f"{client.login_server}/library/hello-world:latest"
    digest = "sha256:" + "a" * 64
    by_digest = repo.get_artifact(digest)
    assert by_digest.fully_qualified_reference == f"{client.login_server}/library/hello-world@{digest}"
    assert log.requests == []


def test_delete_repository_returns_what_was_deleted(make_client: Any, seed: Seeder, repo_name: str) -> None:
    first = seed.push(repo_name, "a", "b")
    second = seed.push(repo_name, "c")
    client = make_client()
    result = client.delete_repository(repo_name)
    assert isinstance(result, DeleteRepositoryResult)
    assert sorted(result.deleted_manifests) == sorted([first, second])
    assert sorted(result.deleted_tags) == ["a", "b", "c"]
    assert repo_name not in list(client.list_repository_names())
    with pytest.raises(ResourceNotFoundError):
        client.get_repository(repo_name).get_properties()
    # Absent: succeeds, reporting nothing.
    assert client.delete_repository(repo_name) == DeleteRepositoryResult()
    assert client.get_repository(repo_name).delete() == DeleteRepositoryResult()


def test_client_is_a_context_manager(make_client: Any, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "v1")
    with make_client() as client:
        assert client.get_repository(repo_name).get_properties().tag_count == 1


# -- repository --------------------------------------------------------------------------------


def test_repository_properties(make_client: Any, seed: Seeder, repo_name: str, acr: RunningEmulator) -> None:
    seed.push(repo_name, "v1", "v1.0")
    seed.push(repo_name, "v2")
    seed.push(repo_name)  # untagged
    props = make_client().get_repository(repo_name).get_properties()
    assert isinstance(props, RepositoryProperties)
    assert props.name == repo_name
    assert props.registry_login_server == acr.login_server
    assert props.manifest_count == 3
    assert props.tag_count == 3
    assert props.created_on is not None and props.created_on.tzinfo == timezone.utc
    assert props.last_updated_on is not None and props.last_updated_on >= props.created_on
    assert (props.can_delete, props.can_write, props.can_read, props.can_list) == (True, True, True, True)
    assert repo_name in repr(props)


def test_update_properties_sends_only_what_was_given(make_client: Any, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "v1")
    log = RequestLog()
    repo = make_client(log=log).get_repository(repo_name)

    updated = repo.update_properties(can_list=False)
    assert (updated.can_delete, updated.can_write, updated.can_read, updated.can_list) == (
        True,
        True,
        True,
        False,
    )
    patches = [r for r in log.requests if r.method == "PATCH" and r.status != 401]
    assert [json.loads(p.body) for p in patches] == [{"listEnabled": False}]

    # A properties object: its set attributes are sent; keywords win.
    log.clear()
    updated = repo.update_properties(RepositoryProperties(can_write=False, can_list=False), can_list=True)
    assert [json.loads(r.body) for r in log.requests if r.method == "PATCH" and r.status != 401] == [
        {"writeEnabled": False, "listEnabled": True}
    ]
    assert (updated.can_write, updated.can_list) == (False, True)
    assert repo.get_properties().can_write is False
    repo.update_properties(can_write=True)

    with pytest.raises(ValueError, match="nothing to update"):
        repo.update_properties()


@pytest.mark.parametrize("per_page", [None, 1, 2])
def test_list_manifest_properties_order_and_pages(
    make_client: Any, seed: Seeder, repo_name: str, per_page: int | None
) -> None:
    pushed = [seed.push(repo_name, f"v{i}") for i in range(5)]
    repo = make_client().get_repository(repo_name)

    ascending = list(
        repo.list_manifest_properties(
            order_by=ArtifactManifestOrder.LAST_UPDATED_ON_ASCENDING, results_per_page=per_page
        )
    )
    descending = list(
        repo.list_manifest_properties(
            order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING, results_per_page=per_page
        )
    )
    assert [m.digest for m in ascending] == pushed
    assert [m.digest for m in descending] == pushed[::-1]
    times = [m.last_updated_on for m in ascending]
    assert times == sorted(times)
    unordered = list(repo.list_manifest_properties(results_per_page=per_page))
    assert sorted(m.digest for m in unordered) == sorted(pushed)

    newest = descending[0]
    assert newest.tags == ["v4"]
    assert newest.repository_name == repo_name
    assert newest.architecture == ArtifactArchitecture.AMD64
    assert newest.operating_system == ArtifactOperatingSystem.LINUX
    assert newest.size_in_bytes is not None and newest.size_in_bytes > 0
    assert newest.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert newest.config_media_type == "application/vnd.oci.image.config.v1+json"
    if per_page is not None:
        pages = _pages(repo.list_manifest_properties(results_per_page=per_page))
        assert len(pages) == math.ceil(5 / per_page)
        assert all(len(page) == per_page for page in pages[:-1])


@pytest.mark.parametrize("per_page", [None, 1, 2])
def test_repository_list_tag_properties_order_and_pages(
    make_client: Any, seed: Seeder, repo_name: str, per_page: int | None
) -> None:
    # Pushed in an order that differs from the lexical one, so time order is distinguishable.
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    digests = {name: seed.push(repo_name, name) for name in names}
    repo = make_client().get_repository(repo_name)

    by_name = list(repo.list_tag_properties(results_per_page=per_page))
    assert [t.name for t in by_name] == sorted(names)
    assert all(isinstance(t, ArtifactTagProperties) for t in by_name)
    assert {t.name: t.digest for t in by_name} == digests
    ascending = list(
        repo.list_tag_properties(
            order_by=ArtifactTagOrder.LAST_UPDATED_ON_ASCENDING, results_per_page=per_page
        )
    )
    descending = list(repo.list_tag_properties(order_by="timedesc", results_per_page=per_page))
    assert [t.name for t in ascending] == names
    assert [t.name for t in descending] == names[::-1]
    if per_page is not None:
        pages = _pages(repo.list_tag_properties(results_per_page=per_page))
        assert len(pages) == math.ceil(len(names) / per_page)


def test_listing_an_absent_repository_raises(make_client: Any, repo_name: str) -> None:
    repo = make_client().get_repository(repo_name)
    with pytest.raises(ResourceNotFoundError, match=repo_name):
        list(repo.list_tag_properties())
    with pytest.raises(ResourceNotFoundError):
        list(repo.list_manifest_properties())


# -- artifact ------------------------------------------------------------------------------------


def test_artifact_manifest_properties_by_tag_and_digest(
    make_client: Any, seed: Seeder, repo_name: str
) -> None:
    digest = seed.push(repo_name, "latest", "stable", architecture="arm64", os="windows")
    client = make_client()
    by_tag = client.get_artifact(repo_name, "latest").get_manifest_properties()
    by_digest = client.get_artifact(repo_name, digest).get_manifest_properties()
    assert by_tag == by_digest
    assert by_tag.digest == digest
    assert sorted(by_tag.tags) == ["latest", "stable"]
    assert by_tag.architecture == ArtifactArchitecture.ARM64
    assert by_tag.operating_system == ArtifactOperatingSystem.WINDOWS
    assert by_tag.fully_qualified_reference == f"{client.login_server}/{repo_name}@{digest}"
    with pytest.raises(ResourceNotFoundError):
        client.get_artifact(repo_name, "missing").get_manifest_properties()
    with pytest.raises(ResourceNotFoundError):
        client.get_artifact(repo_name, "sha256:" + "0" * 64).get_manifest_properties()


def test_update_manifest_properties(make_client: Any, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "v1")
    artifact = make_client().get_artifact(repo_name, "v1")
    updated = artifact.update_manifest_properties(can_read=False, can_list=False)
    assert (updated.can_delete, updated.can_write, updated.can_read, updated.can_list) == (
        True,
        True,
        False,
        False,
    )
    again = artifact.update_manifest_properties(updated, can_read=True)
    assert (again.can_read, again.can_list) == (True, False)
    assert artifact.get_manifest_properties().can_list is False


@pytest.mark.parametrize("per_page", [None, 1, 2])
def test_artifact_list_tag_properties_lists_only_its_tags(
    make_client: Any, seed: Seeder, repo_name: str, per_page: int | None
) -> None:
    seed.push(repo_name, "other")
    seed.push(repo_name, "t3", "t1", "t4", "t2")
    seed.push(repo_name, "another")
    artifact = make_client().get_artifact(repo_name, "t1")
    tags = list(artifact.list_tag_properties(results_per_page=per_page))
    assert [t.name for t in tags] == ["t1", "t2", "t3", "t4"]
    descending = [
        t.name
        for t in artifact.list_tag_properties(
            order_by=ArtifactTagOrder.LAST_UPDATED_ON_DESCENDING, results_per_page=per_page
        )
    ]
    assert descending == ["t2", "t4", "t1", "t3"]
    if per_page is not None:
        assert len(_pages(artifact.list_tag_properties(results_per_page=per_page))) == math.ceil(4 / per_page)


def test_tag_properties_get_update_delete(
    make_client: Any, seed: Seeder, repo_name: str, acr: RunningEmulator
) -> None:
    digest = seed.push(repo_name, "v1", "v1.0")
    artifact = make_client().get_artifact(repo_name, digest)
    tag = artifact.get_tag_properties("v1.0")
    assert (tag.name, tag.digest, tag.repository_name, tag.registry_login_server) == (
        "v1.0",
        digest,
        repo_name,
        acr.login_server,
    )
    assert tag.created_on is not None and tag.created_on.tzinfo == timezone.utc

    updated = artifact.update_tag_properties("v1.0", ArtifactTagProperties(can_write=False, can_delete=False))
    assert (updated.can_write, updated.can_delete, updated.can_read, updated.can_list) == (
        False,
        False,
        True,
        True,
    )
    with pytest.raises(OperationNotAllowedError):
        artifact.delete_tag("v1.0")
    artifact.update_tag_properties("v1.0", can_write=True, can_delete=True)

    artifact.delete_tag("v1.0")
    with pytest.raises(ResourceNotFoundError):
        artifact.get_tag_properties("v1.0")
    artifact.delete_tag("v1.0")  # absent: succeeds
    assert [t.name for t in artifact.list_tag_properties()] == ["v1"]
    with pytest.raises(InvalidReferenceError):
        artifact.get_tag_properties("no spaces")


def test_delete_artifact_and_absent_ones(make_client: Any, seed: Seeder, repo_name: str) -> None:
    keep = seed.push(repo_name, "keep")
    gone = seed.push(repo_name, "gone", "gone-too")
    client = make_client()
    client.get_artifact(repo_name, "gone").delete()
    remaining = [m.digest for m in client.get_repository(repo_name).list_manifest_properties()]
    assert remaining == [keep]
    assert [t.name for t in client.get_repository(repo_name).list_tag_properties()] == ["keep"]
    # Absent by tag, by digest, and in an absent repository: all succeed.
    client.get_artifact(repo_name, "gone").delete()
    client.get_artifact(repo_name, gone).delete()
    client.get_artifact(f"{repo_name}-nope", "latest").delete()
    client.get_artifact(f"{repo_name}-nope", gone).delete()


def test_tag_resolves_to_its_digest_once(make_client: Any, seed: Seeder, repo_name: str) -> None:
    digest = seed.push(repo_name, "v1")
    log = RequestLog()
    artifact = make_client(log=log).get_artifact(repo_name, "v1")
    artifact.get_manifest_properties()
    artifact.get_manifest_properties()
    artifact.update_manifest_properties(can_list=True)
    list(artifact.list_tag_properties())
    # Not counting 401s: a request for a scope the client holds no token for yet may meet a challenge first.
    assert log.count(path_contains=f"/acr/v1/{repo_name}/_tags/v1", method="GET", challenged=False) == 1
    assert log.count(path_contains=f"/acr/v1/{repo_name}/_manifests/{digest}", challenged=False) == 3
    # The tag moving does not change which manifest the artifact names.
    other = seed.push(repo_name, "v1")
    assert other != digest
    assert artifact.get_manifest_properties().digest == digest


def test_api_version_is_sent_on_every_metadata_call(make_client: Any, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "a")
    seed.push(repo_name, "b")
    for api_version, expected in ((None, "2021-07-01"), ("2019-08-15-preview", "2019-08-15-preview")):
        log = RequestLog()
        client = make_client(log=log, api_version=api_version)
        repo = client.get_repository(repo_name)
        list(repo.list_tag_properties(results_per_page=1))
        list(client.list_repository_names(results_per_page=50))
        repo.get_artifact("a").get_manifest_properties()
        metadata = [r for r in log.requests if r.url.path.startswith("/acr/v1/")]
        assert len(metadata) >= 5
        assert all(r.url.params.get_list("api-version") == [expected] for r in metadata), metadata


# -- locks -----------------------------------------------------------------------------------------


def test_manifest_lock_blocks_delete_until_lifted(make_client: Any, seed: Seeder, repo_name: str) -> None:
    digest = seed.push(repo_name, "v1")
    client = make_client()
    artifact = client.get_artifact(repo_name, digest)
    artifact.update_manifest_properties(can_write=False)
    with pytest.raises(OperationNotAllowedError) as caught:
        artifact.delete()
    assert caught.value.status_code == 405
    assert [e.code for e in caught.value.errors] == ["REGISTRY_DISALLOWED_OPERATION"]
    assert "delete" in str(caught.value) and repo_name in str(caught.value)
    assert artifact.get_manifest_properties().digest == digest  # still there

    artifact.update_manifest_properties(can_write=True)
    artifact.delete()
    with pytest.raises(ResourceNotFoundError):
        artifact.get_manifest_properties()


def test_delete_disabled_blocks_repository_delete(make_client: Any, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "v1")
    client = make_client()
    repo = client.get_repository(repo_name)
    repo.update_properties(can_delete=False)
    with pytest.raises(OperationNotAllowedError, match=repo_name):
        client.delete_repository(repo_name)
    repo.update_properties(can_delete=True)
    assert client.delete_repository(repo_name).deleted_tags == ["v1"]


def test_tag_lock_blocks_manifest_delete(make_client: Any, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "locked")
    artifact = make_client().get_artifact(repo_name, "locked")
    artifact.update_tag_properties("locked", can_delete=False)
    with pytest.raises(OperationNotAllowedError):
        artifact.delete()
    artifact.update_tag_properties("locked", can_delete=True)
    artifact.delete()
    with pytest.raises(ResourceNotFoundError):
        artifact.get_manifest_properties()


# -- anonymous access and auth failures -------------------------------------------------------------


def test_anonymous_reads_allowed_writes_refused(
    make_client: Any, acr_anonymous: RunningEmulator, repo_name: str
) -> None:
    seed = Seeder(acr_anonymous)
    try:
        digest = seed.push(repo_name, "latest", "v1")
    finally:
        seed.close()
    anonymous = make_client(None, registry=acr_anonymous)
    artifact = anonymous.get_artifact(repo_name, "latest")
    assert sorted(t.name for t in artifact.list_tag_properties()) == ["latest", "v1"]
    assert artifact.get_manifest_properties().digest == digest
    assert artifact.get_tag_properties("v1").digest == digest
    assert anonymous.get_repository(repo_name).get_properties().tag_count == 2
    assert anonymous.get_acr_refresh_token() is None

    with pytest.raises(ClientAuthenticationError, match=f"repository:{repo_name}:metadata_write"):
        artifact.update_tag_properties("v1", can_write=False)
    with pytest.raises(ClientAuthenticationError, match=f"repository:{repo_name}:delete"):
        artifact.delete()
    # ACR's anonymous token has registry:catalog:* too: the catalog is listed.
    assert repo_name in list(anonymous.list_repository_names())
    signed_in = make_client(registry=acr_anonymous)
    assert signed_in.get_artifact(repo_name, "v1").get_tag_properties("v1").can_write is True


def test_anonymous_reads_refused_without_anonymous_pull(make_client: Any) -> None:
    anonymous = make_client(None)
    with pytest.raises(ClientAuthenticationError, match="repository:library/hello:metadata_read"):
        anonymous.get_repository("library/hello").get_properties()


def test_wrong_audience_is_a_clear_error(make_client: Any, flavour: str) -> None:
    from tests.acr.conftest import AsyncEntraCredential, EntraCredential

    kind = EntraCredential if flavour == "sync" else AsyncEntraCredential
    client = make_client(kind(audience="https://vault.azure.net"))
    with pytest.raises(ClientAuthenticationError) as caught:
        list(client.list_repository_names())
    message = str(caught.value)
    assert "audience" in message and "https://containerregistry.azure.net" in message
    assert caught.value.status_code == 401


def test_untrusted_entra_token_is_a_clear_error(make_client: Any, flavour: str) -> None:
    from tests.acr.conftest import AsyncEntraCredential, EntraCredential

    kind = EntraCredential if flavour == "sync" else AsyncEntraCredential
    secret = "not-the-secret-the-emulator-trusts-0123456789"
    client = make_client(kind(secret))
    with pytest.raises(ClientAuthenticationError, match="exchang") as caught:
        list(client.list_repository_names())
    assert secret not in str(caught.value)


def test_national_cloud_audience(
    make_client: Any, flavour: str, acr_china: RunningEmulator, repo_name: str
) -> None:
    from containerregistry.protocol.acr import ContainerRegistryAudience
    from tests.acr.conftest import AsyncEntraCredential, EntraCredential

    seed = Seeder(acr_china)
    try:
        seed.push(repo_name, "v1")
    finally:
        seed.close()
    credential = EntraCredential() if flavour == "sync" else AsyncEntraCredential()
    client = make_client(credential, registry=acr_china, audience=ContainerRegistryAudience.AZURE_CHINA)
    assert client.get_repository(repo_name).get_properties().tag_count == 1
    assert credential.scopes == [("https://management.chinacloudapi.cn/.default",)]
    # A registry of the public cloud refuses Azure China's audience, as real ACR does (401).
    public = make_client(audience=ContainerRegistryAudience.AZURE_CHINA)
    with pytest.raises(ClientAuthenticationError, match="audience") as caught:
        public.get_repository(repo_name).get_properties()
    assert caught.value.status_code == 401


def test_acr_refresh_token_logs_in_like_docker(make_client: Any, seed: Seeder, repo_name: str) -> None:
    from containerregistry.auth import BasicCredential, RefreshTokenCredential

    seed.push(repo_name, "v1")
    token = make_client().get_acr_refresh_token()
    assert isinstance(token, str) and token.count(".") == 2
    # `docker login -u 00000000-0000-0000-0000-000000000000 -p <token>`, and the token as a credential.
    docker = make_client(BasicCredential("00000000-0000-0000-0000-000000000000", token))
    assert docker.get_repository(repo_name).get_properties().name == repo_name
    refresh = make_client(RefreshTokenCredential(token))
    assert refresh.get_artifact(repo_name, "v1").get_tag_properties("v1").name == "v1"


# -- request counts -------------------------------------------------------------------------------


def test_shared_pipeline_constant_token_requests(
    make_client: Any, seed: Seeder, repo_name: str, acr: RunningEmulator
) -> None:
    for i in range(3):
        seed.push(repo_name, f"v{i}")
    log = RequestLog()
    client = make_client(log=log)
    repository = client.get_repository(repo_name)

    def calls(n: int) -> None:
        for i in range(n):
            # Fresh repository and artifact objects: they must share the client's token cache.
            client.get_artifact(repo_name, f"v{i % 3}").get_tag_properties(f"v{i % 3}")
            repository.get_properties()

    calls(5)
    token_requests_after_5 = log.count(path_contains="/oauth2/")
    calls(100)
    assert log.count(path_contains="/oauth2/") == token_requests_after_5 <= 3
    # Every call is one metadata request (plus at most one 401 per new scope before a token is held).
    assert log.count(path_contains="/acr/v1/", challenged=False) == 210
    assert len(log.requests) <= 210 + 6


def test_thousand_get_tag_properties_cost_a_thousand_requests(
    make_client: Any, seed: Seeder, repo_name: str, acr: RunningEmulator
) -> None:
    seed.push(repo_name, "v1")
    log = RequestLog()
    acr.auth.stats.reset()
    artifact = make_client(log=log).get_artifact(repo_name, "v1")
    for _ in range(1000):
        assert artifact.get_tag_properties("v1").name == "v1"
    tag_gets = log.count(path_contains=f"/acr/v1/{repo_name}/_tags/v1", method="GET")
    overhead = len(log.requests) - 1000
    assert tag_gets <= 1002  # at most one replay after the first 401 challenge
    assert 0 <= overhead <= 5, [
        f"{r.method} {r.url.path}" for r in log.requests if "/_tags/v1" not in r.url.path
    ]
    # The emulator agrees: one exchange and one access token, not a thousand.
    assert acr.auth.stats.exchanges == 1
    assert acr.auth.stats.token_requests == 1
