"""podman 4.3 and buildah 1.28 (Debian 12) against the emulator, open / token auth / TLS / anonymous:
build from scratch, push, pull, login, a multi-arch `manifest push --all`, and `search` (the catalog).

They run as root with the vfs driver and their own storage in the sandbox (see conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from containerregistry.exceptions import ResourceNotFoundError

from .conftest import ADMIN, MODES, READER, Sandbox
from .helpers import blob_of, client, manifest_of, push_image, tags_of

ARCHES = ("amd64", "arm64")


def _tls(sandbox: Sandbox, registry: Any) -> list[str]:
    return ["--cert-dir", sandbox.cert_dir(registry)] if registry.ca_cert else ["--tls-verify=false"]


def _creds(registry: Any, creds: tuple[str, str] = ADMIN) -> list[str]:
    config = getattr(registry.auth, "config", None)
    return ["--creds", f"{creds[0]}:{creds[1]}"] if config is not None and config.users else []


@pytest.fixture(scope="module")
def built(sandbox: Sandbox) -> dict[str, str]:
    """Two tiny images built from scratch with buildah: localhost/tiny:amd64 and :arm64 (arch -> image id)."""
    ids = {}
    for arch in ARCHES:
        container = sandbox.buildah("from", "--signature-policy", str(sandbox.policy), "scratch").ok()
        name = container.stdout.strip().splitlines()[-1]
        payload = sandbox.root / f"hello-{arch}.txt"
        payload.write_text(f"hello from {arch}\n")
        sandbox.buildah("copy", name, str(payload), "/hello.txt").ok()
        sandbox.buildah(
            "config", "--arch", arch, "--os", "linux", "--label", f"arch={arch}", "--cmd", "/hello", name
        ).ok()
        committed = sandbox.buildah(
            "commit", "--signature-policy", str(sandbox.policy), "--rm", name, f"localhost/tiny:{arch}"
        ).ok()
        ids[arch] = committed.stdout.strip().splitlines()[-1]
    return ids


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, registries: dict[str, Any]) -> tuple[str, Any]:
    return request.param, registries[request.param]


def _config_of(registry: Any, repository: str, tag: str) -> dict[str, Any]:
    _, manifest = manifest_of(registry, repository, tag)
    return json.loads(blob_of(registry, repository, manifest["config"]["digest"]))


def test_buildah_push(sandbox: Sandbox, built: dict[str, str], mode: tuple[str, Any]) -> None:
    _, registry = mode
    target = f"docker://{registry.login_server}/bh/tiny:arm64"
    pushed = sandbox.buildah(
        "push",
        "--signature-policy",
        str(sandbox.policy),
        *_tls(sandbox, registry),
        *_creds(registry),
        "localhost/tiny:arm64",
        target,
    ).ok()
    assert "Writing manifest to image destination" in pushed.stderr + pushed.stdout
    config = _config_of(registry, "bh/tiny", "arm64")
    assert (config["architecture"], config["os"]) == ("arm64", "linux")
    assert config["config"]["Labels"]["arch"] == "arm64"


def test_podman_login_push_pull(sandbox: Sandbox, built: dict[str, str], mode: tuple[str, Any]) -> None:
    name, registry = mode
    server = registry.login_server
    if name != "open":
        wrong = sandbox.podman(
            "login", *_tls(sandbox, registry), "-u", ADMIN[0], "-p", "wrong", server
        ).failed()
        assert "invalid username/password" in wrong.stderr
        assert server not in json.loads(sandbox.auth_file.read_text()).get("auths", {})
    login = sandbox.podman("login", *_tls(sandbox, registry), "-u", ADMIN[0], "-p", ADMIN[1], server).ok()
    assert "Login Succeeded!" in login.stdout
    assert server in json.loads(sandbox.auth_file.read_text())["auths"]
    try:
        # Pushed with the stored login (no --creds).
        sandbox.podman("push", *_tls(sandbox, registry), "localhost/tiny:amd64", f"{server}/pod/tiny:v1").ok()
        digest, manifest = manifest_of(registry, "pod/tiny", "v1")
        assert _config_of(registry, "pod/tiny", "v1")["architecture"] == "amd64"
        assert len(manifest["layers"]) == 1

        pulled = sandbox.podman("pull", *_tls(sandbox, registry), f"{server}/pod/tiny:v1").ok()
        image_id = pulled.stdout.strip().splitlines()[-1]
        assert image_id == built["amd64"]
        shown = json.loads(sandbox.podman("image", "inspect", f"{server}/pod/tiny:v1").ok().stdout)[0]
        assert f"{server}/pod/tiny@{digest}" in shown["RepoDigests"]
    finally:
        sandbox.podman("logout", server).ok()
    assert server not in json.loads(sandbox.auth_file.read_text()).get("auths", {})
    if name != "open":
        refused = sandbox.podman("pull", *_tls(sandbox, registry), f"{server}/pod/tiny:v1").failed()
        assert "authentication required" in refused.stderr or "unauthorized" in refused.stderr


def test_manifest_push_all_multi_arch(sandbox: Sandbox, built: dict[str, str], mode: tuple[str, Any]) -> None:
    name, registry = mode
    server = registry.login_server
    local = f"localhost/multi-{name}:v1"
    sandbox.buildah("manifest", "create", local).ok()
    for arch in ARCHES:
        sandbox.buildah("manifest", "add", local, f"containers-storage:localhost/tiny:{arch}").ok()
    sandbox.podman(
        "manifest",
        "push",
        "--all",
        *_tls(sandbox, registry),
        *_creds(registry),
        local,
        f"docker://{server}/pod/multi:v1",
    ).ok()
    _, index = manifest_of(registry, "pod/multi", "v1")
    assert index["mediaType"] in (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
    platforms = {(m["platform"]["architecture"], m["platform"]["os"]) for m in index["manifests"]}
    assert platforms == {("amd64", "linux"), ("arm64", "linux")}
    with client(registry, "pod/multi") as ours:
        for child in index["manifests"]:
            assert ours.get_manifest(child["digest"]).digest == child["digest"]

    # podman picks the arm64 image out of the index.
    sandbox.podman(
        "pull", "--arch", "arm64", *_tls(sandbox, registry), *_creds(registry), f"{server}/pod/multi:v1"
    ).ok()
    shown = json.loads(sandbox.podman("image", "inspect", f"{server}/pod/multi:v1").ok().stdout)[0]
    assert shown["Architecture"] == "arm64"
    assert shown["Labels"]["arch"] == "arm64"


@pytest.mark.parametrize("search_mode", MODES)
def test_search_lists_the_catalog_and_tags(
    sandbox: Sandbox, registries: dict[str, Any], search_mode: str
) -> None:
    """`podman search REGISTRY/` lists the catalog, `--list-tags` a repository's tags.

    podman 4.3's search has neither --creds nor --cert-dir: it uses the stored login, and over TLS
    `--tls-verify=false` (still https).
    """
    registry = registries[search_mode]
    server = registry.login_server
    push_image(registry, f"searched/{search_mode}-app", "v1", f"podman-search-{search_mode}")
    push_image(registry, f"searched/{search_mode}-app", "v2", f"podman-search-{search_mode}-2")
    if search_mode != "open":
        sandbox.podman("login", *_tls(sandbox, registry), "-u", ADMIN[0], "-p", ADMIN[1], server).ok()
    try:
        found = sandbox.podman("search", "--tls-verify=false", "--format", "{{.Name}}", f"{server}/").ok()
        assert f"{server}/searched/{search_mode}-app" in found.stdout.split()
        tags = sandbox.podman(
            "search", "--list-tags", "--tls-verify=false", f"{server}/searched/{search_mode}-app"
        ).ok()
    finally:
        if search_mode != "open":
            sandbox.podman("logout", server).ok()
    header, *rows = tags.stdout.strip().splitlines()
    assert header.split() == ["NAME", "TAG"]
    assert sorted(tuple(row.split()) for row in rows) == [
        (f"{server}/searched/{search_mode}-app", tag) for tag in ("v1", "v2")
    ]


def test_pull_only_user_cannot_push(sandbox: Sandbox, built: dict[str, str], auth_registry: Any) -> None:
    refused = sandbox.podman(
        "push",
        "--tls-verify=false",
        *_creds(auth_registry, READER),
        "localhost/tiny:amd64",
        f"{auth_registry.login_server}/pod/readonly:v1",
    ).failed()
    assert "unauthorized" in refused.stderr.lower() or "denied" in refused.stderr.lower()
    with client(auth_registry, "pod/readonly") as ours, pytest.raises(ResourceNotFoundError):
        ours.get_manifest("v1")


def test_anonymous_pull(sandbox: Sandbox, built: dict[str, str], anon_registry: Any) -> None:
    server = anon_registry.login_server
    digest = push_image(anon_registry, "pod/public", "v1", "podman-public", arch="arm64")
    sandbox.podman("pull", "--arch", "arm64", *_tls(sandbox, anon_registry), f"{server}/pod/public:v1").ok()
    shown = json.loads(sandbox.podman("image", "inspect", f"{server}/pod/public:v1").ok().stdout)[0]
    assert f"{server}/pod/public@{digest}" in shown["RepoDigests"]
    refused = sandbox.podman(
        "push", *_tls(sandbox, anon_registry), "localhost/tiny:amd64", f"{server}/pod/anon-push:v1"
    ).failed()
    assert "authentication required" in refused.stderr or "unauthorized" in refused.stderr
    assert tags_of(anon_registry, "pod/public") == ["v1"]
    with client(anon_registry, "pod/anon-push") as ours, pytest.raises(ResourceNotFoundError):
        ours.get_manifest("v1")


def test_anonymous_search(sandbox: Sandbox, anon_registry: Any) -> None:
    push_image(anon_registry, "searched/public", "v1", "podman-anon-search")
    found = sandbox.podman(
        "search", "--tls-verify=false", "--format", "{{.Name}}", f"{anon_registry.login_server}/"
    ).ok()
    assert f"{anon_registry.login_server}/searched/public" in found.stdout.split()


def test_tools_wrote_into_the_sandbox(sandbox: Sandbox, built: dict[str, str], open_registry: Any) -> None:
    """The images live in the sandbox's vfs storage, and the blob-info cache that containers/image writes
    to /var/lib/containers/cache landed in the sandbox's overlay, not on the machine."""
    sandbox.podman(
        "push", "--tls-verify=false", "localhost/tiny:amd64", f"{open_registry.login_server}/pod/x:1"
    ).ok()
    assert (sandbox.storage / "vfs-images" / "images.json").exists()
    listed = sandbox.podman("images", "--format", "{{.Repository}}:{{.Tag}}").ok()
    assert {"localhost/tiny:amd64", "localhost/tiny:arm64"} <= set(listed.stdout.split())
    assert (sandbox.root / "overlay-upper" / "containers" / "cache" / "blob-info-cache-v1.boltdb").exists()


def test_docker_v2s2_push_and_manifest_list(
    sandbox: Sandbox, built: dict[str, str], mode: tuple[str, Any]
) -> None:
    """`--format v2s2`: a Docker schema 2 image and a Docker manifest list, pulled back by digest."""
    name, registry = mode
    server = registry.login_server
    sandbox.podman(
        "push",
        "--format",
        "v2s2",
        *_tls(sandbox, registry),
        *_creds(registry),
        "localhost/tiny:amd64",
        f"{server}/pod/docker:v1",
    ).ok()
    digest, manifest = manifest_of(registry, "pod/docker", "v1")
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"

    local = f"localhost/dockerlist-{name}:v1"
    sandbox.podman("manifest", "create", local).ok()
    for arch in ARCHES:
        sandbox.podman("manifest", "add", local, f"containers-storage:localhost/tiny:{arch}").ok()
    sandbox.podman(
        "manifest",
        "push",
        "--all",
        "--format",
        "v2s2",
        *_tls(sandbox, registry),
        *_creds(registry),
        local,
        f"docker://{server}/pod/docker:list",
    ).ok()
    _, index = manifest_of(registry, "pod/docker", "list")
    assert index["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert {m["platform"]["architecture"] for m in index["manifests"]} == set(ARCHES)
    amd64 = next(m["digest"] for m in index["manifests"] if m["platform"]["architecture"] == "amd64")
    assert amd64 == digest  # the same bytes as the single-image push

    pulled = sandbox.podman(
        "pull", *_tls(sandbox, registry), *_creds(registry), f"{server}/pod/docker@{digest}"
    ).ok()
    assert pulled.stdout.strip().splitlines()[-1] == built["amd64"]
