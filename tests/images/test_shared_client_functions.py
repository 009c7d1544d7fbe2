"""`client=` on the other whole-image functions: prune, the archive copies, mirror and sync.

As in test_shared_client.py, the emulator runs with token auth and its token service counts the tokens
fetched. Each function is called twice with one shared client and no `credential`: the first call
fetches the tokens its scopes need (through the client's credential: a function that ignored `client=`
would go anonymous and get 401), the second needs the same scopes and fetches none. The client is then
still open and usable. Sync and async (`client_kind`: one event loop per test, the client's own).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerregistry import BasicCredential, ClientOptions, images
from containerregistry.emulator import RunningEmulator, run_emulator
from containerregistry.images import SyncConfig, SyncJob, TagFilter
from tests.images.support import build_layout, run
from tests.support.adapter import ClientKind

USER, PASSWORD = "admin", "admin-password-0123"
CREDENTIAL = BasicCredential(USER, PASSWORD)
READER = BasicCredential("reader", "reader-password-0123")  # may pull, not push


@pytest.fixture(scope="module")
def token_registry() -> Iterator[RunningEmulator]:
    with run_emulator(users=[f"{USER}:{PASSWORD}:admin", "reader:reader-password-0123:pull"]) as registry:
        yield registry


def _tokens(registry: RunningEmulator) -> int:
    return int(registry.auth.stats.token_requests)


class _Shared:
    """One open client of the flavour (a registry client, or a content client of `repository`)."""

    def __init__(self, kind: ClientKind, registry: RunningEmulator, repository: str | None = None) -> None:
        self.kind = kind
        self.registry = registry
        options = ClientOptions(credential=CREDENTIAL)
        if repository is None:
            self.client = kind.package.ContainerRegistryClient(registry.endpoint, options=options)
        else:
            self.client = kind.package.ContainerRegistryContentClient(
                registry.endpoint, repository, options=options
            )
        self.adapted = kind.adapt(self.client)

    def __enter__(self) -> _Shared:
        self.adapted.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.adapted.__exit__(*exc)

    def twice(self, first: Any, second: Any) -> tuple[int, int, Any, Any]:
        """Run `first()` then `second()` (each returns an image function's result or awaitable);
        returns the tokens each fetched and their results."""
        before = _tokens(self.registry)
        one = self.kind.run(first())
        middle = _tokens(self.registry)
        two = self.kind.run(second())
        return middle - before, _tokens(self.registry) - middle, one, two

    def tags(self, repository: str) -> list[str]:
        """The client still works after the calls: it lists a repository's tags."""
        if hasattr(self.client, "get_repository"):
            return sorted(t.name for t in self.adapted.get_repository(repository).list_tag_properties())
        return sorted(self.adapted.list_tags())


def _push(registry: RunningEmulator, layout: Path, target: str) -> str:
    """Set-up without the shared client: push a layout with the credential."""
    return images.push_image(
        f"oci:{layout}", f"{registry.login_server}/{target}", credential=CREDENTIAL
    ).digest


def _archive_of(layout: Path, archive: Path) -> Path:
    """An oci-archive: the tar of an OCI layout."""
    with tarfile.open(archive, "w") as tar:
        for path in sorted(layout.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(layout)), recursive=False)
    return archive


def test_prune_with_a_shared_client(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    repo = f"prune/{client_kind.flavour}"
    digests = []
    for i in range(3):  # oldest first
        built = build_layout(tmp_path / f"l{i}", platforms=("linux/amd64",), layer_size=500)
        assert _push(token_registry, tmp_path / f"l{i}", f"{repo}:v{i}") == built.index_digest
        digests.append((built.index_digest, built.manifests["linux/amd64"]))
    with _Shared(client_kind, token_registry) as shared:

        def prune(keep: int) -> Any:
            return lambda: run(
                client_kind, "prune", token_registry.endpoint, repo, keep=keep, client=shared.client
            )

        first, second, one, two = shared.twice(prune(2), prune(1))
        assert [d.digest for d in one.deleted] == list(digests[0])  # the index, then its image
        assert [d.digest for d in two.deleted] == list(digests[1])
        assert first >= 1 and second == 0
        assert shared.tags(repo) == ["v2"]


def test_archives_with_a_shared_client(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    repo = f"archives/{client_kind.flavour}"
    built = build_layout(tmp_path / "layout", layer_size=500)
    archive = _archive_of(tmp_path / "layout", tmp_path / "image.tar")
    server = token_registry.login_server
    # A content client of the repository serves the whole registry's pipeline.
    with _Shared(client_kind, token_registry, repo) as shared:

        def push(name: str, tag: str) -> Any:
            return lambda: run(
                client_kind, name, f"oci-archive:{archive}", f"{server}/{repo}:{tag}", client=shared.client
            )

        first, second, one, two = shared.twice(push("push_archive", "a"), push("copy_archive", "b"))
        assert one.digest == two.digest == built.index_digest
        assert first >= 1 and second == 0

        def pull(name: str, out: str) -> Any:
            return lambda: run(
                client_kind, name, f"{server}/{repo}:a", f"oci-archive:{tmp_path / out}", client=shared.client
            )

        first, second, one, two = shared.twice(pull("pull_archive", "a.tar"), pull("copy_archive", "b.tar"))
        assert one.digest == two.digest == built.index_digest
        assert (tmp_path / "a.tar").stat().st_size > 1000 and (tmp_path / "b.tar").exists()
        assert first + second == 0  # the pushes above already fetched the repository's tokens
        assert shared.tags(repo) == ["a", "b"]


def test_mirror_and_sync_with_a_shared_client(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    src, dst = f"mirror-src/{client_kind.flavour}", f"mirror-dst/{client_kind.flavour}"
    server = token_registry.login_server
    for i in range(2):
        build_layout(tmp_path / f"l{i}", layer_size=500)
    _push(token_registry, tmp_path / "l0", f"{src}:v0")
    with _Shared(client_kind, token_registry) as shared:
        before = _tokens(token_registry)
        one = run(
            client_kind, "mirror_repository", f"{server}/{src}", f"{server}/{dst}", client=shared.client
        )
        first = _tokens(token_registry) - before

        _push(token_registry, tmp_path / "l1", f"{src}:v1")  # a new tag for the second run to copy
        config = SyncConfig(jobs=[SyncJob(source=f"{server}/{src}", target=f"{server}/{dst}")])
        before = _tokens(token_registry)
        two = run(client_kind, "sync_mirrors", config, client=shared.client)
        second = _tokens(token_registry) - before
        assert [(i.tag, i.action) for i in one.items] == [("v0", "copied")]
        assert [(i.tag, i.action) for i in two.results[0].items] == [("v0", "up-to-date"), ("v1", "copied")]
        assert first >= 1 and second == 0
        assert shared.tags(dst) == ["v0", "v1"]


def _tokens_of(
    registry: RunningEmulator, kind: ClientKind, name: str, *args: Any, **kwargs: Any
) -> tuple[int, Any]:
    before = _tokens(registry)
    result = run(kind, name, *args, credential=CREDENTIAL, **kwargs)
    return _tokens(registry) - before, result


def test_a_mirror_run_fetches_its_tokens_once_not_once_per_tag(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    """Without `client=`, a mirror's own source and target clients serve every tag's copy: mirroring four
    tags fetches the tokens that mirroring one fetches (the scopes are the same), not one set per tag."""
    server, flavour = token_registry.login_server, client_kind.flavour
    for i in range(4):
        build_layout(tmp_path / f"l{i}", layer_size=500 + i)
        _push(token_registry, tmp_path / f"l{i}", f"per-run-src/{flavour}:v{i}")
    source = f"{server}/per-run-src/{flavour}"
    one, single = _tokens_of(
        token_registry,
        client_kind,
        "mirror_repository",
        source,
        f"{server}/per-run-one/{flavour}",
        tags=["v0"],
    )
    four, every = _tokens_of(
        token_registry, client_kind, "mirror_repository", source, f"{server}/per-run-four/{flavour}"
    )
    assert [i.action for i in single.items] == ["copied"]
    assert [i.action for i in every.items] == ["copied"] * 4, [i.error for i in every.items]
    assert one >= 2 and four == one  # before: 18 for four tags (three new clients per tag copied)

    # sync_mirrors shares them across its jobs: two jobs of one source and target, the tags split
    # between them, fetch what one mirror of all four tags fetched.
    config = SyncConfig(
        jobs=[
            SyncJob(source=source, target=f"{server}/per-run-sync/{flavour}", tags=TagFilter(regex="v[01]")),
            SyncJob(source=source, target=f"{server}/per-run-sync/{flavour}", tags=TagFilter(regex="v[23]")),
        ]
    )
    synced, report = _tokens_of(token_registry, client_kind, "sync_mirrors", config)
    assert [[i.action for i in r.items] for r in report.results] == [["copied"] * 2] * 2
    assert synced == four


def test_a_mirror_run_keeps_each_sides_credential_on_one_registry(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    """Both sides on one registry with different credentials: each side's pipeline is its own, so the
    target is written with the target credential (a reader's fails, an admin's works), never the other's."""
    server, flavour = token_registry.login_server, client_kind.flavour
    build_layout(tmp_path / "l", layer_size=500)
    _push(token_registry, tmp_path / "l", f"two-creds/{flavour}:v0")
    source = f"{server}/two-creds/{flavour}"

    def mirror(target: str, source_credential: Any, target_credential: Any) -> Any:
        return run(
            client_kind,
            "mirror_repository",
            source,
            f"{server}/{target}/{flavour}",
            source_credential=source_credential,
            target_credential=target_credential,
        )

    refused = mirror("two-creds-refused", CREDENTIAL, READER)
    assert [i.action for i in refused.items] == ["failed"]
    copied = mirror("two-creds-copied", READER, CREDENTIAL)
    assert [i.action for i in copied.items] == ["copied"], [i.error for i in copied.items]


def test_prune_with_a_client_of_another_registry_uses_its_own_client(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    """prune's endpoint is not the client's registry: it gets a client of its own, with `credential`."""
    repo = f"prune-elsewhere/{client_kind.flavour}"
    build_layout(tmp_path / "l", platforms=("linux/amd64",), layer_size=500)
    _push(token_registry, tmp_path / "l", f"{repo}:v0")
    with run_emulator() as other:
        client = client_kind.package.ContainerRegistryClient(other.endpoint)
        with client_kind.adapt(client):
            result = run(
                client_kind,
                "prune",
                token_registry.endpoint,
                repo,
                keep=0,
                credential=CREDENTIAL,
                client=client,
            )
    assert len(result.deleted) == 2


def test_a_client_of_the_wrong_type_is_refused(
    tmp_path: Path, token_registry: RunningEmulator, client_kind: ClientKind
) -> None:
    bad: Any = object()
    server = token_registry.login_server
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("prune", (token_registry.endpoint, "x/y"), {"keep": 1}),
        ("push_archive", (f"oci-archive:{tmp_path / 'none.tar'}", f"{server}/x/y:1"), {}),
        ("pull_archive", (f"{server}/x/y:1", f"oci-archive:{tmp_path / 'out.tar'}"), {}),
        ("copy_archive", (f"oci-archive:{tmp_path / 'none.tar'}", f"{server}/x/y:1"), {}),
        ("mirror_repository", (f"{server}/x/y", f"{server}/x/z"), {}),
        ("sync_mirrors", (SyncConfig(jobs=[]),), {}),
    ]
    before = _tokens(token_registry)
    for name, args, kwargs in calls:
        with pytest.raises(TypeError, match="client must be a ContainerRegistryClient"):
            run(client_kind, name, *args, client=bad, **kwargs)
    assert _tokens(token_registry) == before
    assert not (tmp_path / "out.tar").exists()
