"""skopeo against the emulator, open / token auth / TLS / anonymous: copies both ways with
`--preserve-digests` (OCI layout and CNCF Distribution), inspect, list-tags, delete, sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from containerregistry.exceptions import ResourceNotFoundError

from .conftest import ADMIN, MODES, READER, Sandbox
from .helpers import blob_of, client, manifest_of, push_image, read_layout, tags_of, write_layout


def _flags(
    sandbox: Sandbox, registry: Any, side: str = "", creds: tuple[str, str] | None = ADMIN
) -> list[str]:
    """skopeo flags to reach `registry` (side: "src-", "dest-" or "" for inspect/list-tags/delete)."""
    flags: list[str] = []
    if registry.ca_cert:
        flags += [f"--{side}cert-dir", sandbox.cert_dir(registry)]
    else:
        flags += [f"--{side}tls-verify=false"]
    if (
        creds is not None
        and getattr(registry.auth, "config", None) is not None
        and registry.auth.config.users
    ):
        flags += [f"--{side}creds", f"{creds[0]}:{creds[1]}"]
    return flags


def _ref(registry: Any, repository: str, tag: str) -> str:
    return f"docker://{registry.login_server}/{repository}:{tag}"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, registries: dict[str, Any]) -> tuple[str, Any]:
    return request.param, registries[request.param]


def test_copy_layout_to_emulator_and_back_preserves_digests(
    sandbox: Sandbox, mode: tuple[str, Any], tmp_path: Path
) -> None:
    name, registry = mode
    digest = write_layout(tmp_path / "in", "v1", f"skopeo-layout-{name}")
    sandbox.skopeo(
        "copy",
        "--preserve-digests",
        *_flags(sandbox, registry, "dest-"),
        f"oci:{tmp_path / 'in'}:v1",
        _ref(registry, "sk/layout", "v1"),
    ).ok()
    got, manifest = manifest_of(registry, "sk/layout", "v1")
    assert got == digest
    for descriptor in [manifest["config"], *manifest["layers"]]:
        name_ = descriptor["digest"].removeprefix("sha256:")
        assert (
            blob_of(registry, "sk/layout", descriptor["digest"])
            == (tmp_path / "in" / "blobs" / "sha256" / name_).read_bytes()
        )

    sandbox.skopeo(
        "copy",
        "--preserve-digests",
        *_flags(sandbox, registry, "src-"),
        _ref(registry, "sk/layout", "v1"),
        f"oci:{tmp_path / 'out'}:back",
    ).ok()
    assert read_layout(tmp_path / "out") == {"back": digest}
    out_manifest = (tmp_path / "out" / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
    assert (
        out_manifest == (tmp_path / "in" / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
    )


def test_inspect_and_list_tags(sandbox: Sandbox, mode: tuple[str, Any]) -> None:
    name, registry = mode
    digest = push_image(registry, "sk/inspect", "v1", f"skopeo-inspect-{name}", arch="arm64")
    push_image(registry, "sk/inspect", "v2", f"skopeo-inspect-{name}-2")
    shown = json.loads(
        sandbox.skopeo("inspect", *_flags(sandbox, registry), _ref(registry, "sk/inspect", "v1")).ok().stdout
    )
    assert shown["Digest"] == digest
    assert shown["Architecture"] == "arm64" and shown["Os"] == "linux"
    assert sorted(shown["RepoTags"]) == ["v1", "v2"]
    raw = sandbox.skopeo("inspect", "--raw", *_flags(sandbox, registry), _ref(registry, "sk/inspect", "v1"))
    with client(registry, "sk/inspect") as ours:
        assert raw.ok().stdout.encode() == ours.get_manifest("v1").content
    listed = sandbox.skopeo(
        "list-tags", *_flags(sandbox, registry), f"docker://{registry.login_server}/sk/inspect"
    ).ok()
    assert json.loads(listed.stdout) == {
        "Repository": f"{registry.login_server}/sk/inspect",
        "Tags": ["v1", "v2"],
    }


def test_delete(sandbox: Sandbox, mode: tuple[str, Any]) -> None:
    name, registry = mode
    digest = push_image(registry, "sk/delete", "v1", f"skopeo-delete-{name}")
    sandbox.skopeo("delete", *_flags(sandbox, registry), _ref(registry, "sk/delete", "v1")).ok()
    with client(registry, "sk/delete") as ours, pytest.raises(ResourceNotFoundError):
        ours.get_manifest(digest)
    gone = sandbox.skopeo("inspect", *_flags(sandbox, registry), _ref(registry, "sk/delete", "v1")).failed()
    assert "manifest unknown" in gone.stderr


def test_copy_between_emulator_and_distribution_preserves_digests(
    sandbox: Sandbox, mode: tuple[str, Any], distribution: Any
) -> None:
    name, registry = mode
    digest = push_image(registry, "sk/todist", "v1", f"skopeo-dist-{name}")
    dist = f"docker://{distribution.host}/from-emulator-{name}/app:v1"
    sandbox.skopeo(
        "copy",
        "--preserve-digests",
        *_flags(sandbox, registry, "src-"),
        "--dest-tls-verify=false",
        _ref(registry, "sk/todist", "v1"),
        dist,
    ).ok()
    shown = json.loads(sandbox.skopeo("inspect", "--tls-verify=false", dist).ok().stdout)
    assert shown["Digest"] == digest

    # And back, into another repository of the emulator.
    sandbox.skopeo(
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        *_flags(sandbox, registry, "dest-"),
        dist,
        _ref(registry, "sk/fromdist", "back"),
    ).ok()
    assert manifest_of(registry, "sk/fromdist", "back")[0] == digest


def test_copy_between_repositories_of_the_emulator(sandbox: Sandbox, mode: tuple[str, Any]) -> None:
    """Within one registry skopeo may mount the blobs it already knows there (its blob-info cache)."""
    name, registry = mode
    digest = push_image(registry, "sk/mount-src", "v1", f"skopeo-mount-{name}")
    sandbox.skopeo("inspect", *_flags(sandbox, registry), _ref(registry, "sk/mount-src", "v1")).ok()
    sandbox.skopeo(
        "copy",
        "--preserve-digests",
        *_flags(sandbox, registry, "src-"),
        *_flags(sandbox, registry, "dest-"),
        _ref(registry, "sk/mount-src", "v1"),
        _ref(registry, "sk/mount-dst", "v1"),
    ).ok()
    got, manifest = manifest_of(registry, "sk/mount-dst", "v1")
    assert got == digest
    with client(registry, "sk/mount-dst") as ours:
        assert all(ours.blob_exists(d["digest"]) for d in [manifest["config"], *manifest["layers"]])


def test_sync_both_ways(sandbox: Sandbox, mode: tuple[str, Any], distribution: Any, tmp_path: Path) -> None:
    name, registry = mode
    digests = {
        tag: push_image(registry, f"sync-{name}/app", tag, f"skopeo-sync-{name}-{tag}") for tag in ("a", "b")
    }
    sandbox.skopeo(
        "sync",
        "--src",
        "docker",
        "--dest",
        "docker",
        "--preserve-digests",
        *_flags(sandbox, registry, "src-"),
        "--dest-tls-verify=false",
        f"{registry.login_server}/sync-{name}/app",
        f"{distribution.host}/mirror-{name}",
    ).ok()
    listed = sandbox.skopeo(
        "list-tags", "--tls-verify=false", f"docker://{distribution.host}/mirror-{name}/app"
    ).ok()
    assert sorted(json.loads(listed.stdout)["Tags"]) == ["a", "b"]

    # Distribution -> emulator: the whole repository arrives under the destination prefix.
    sandbox.skopeo(
        "sync",
        "--src",
        "docker",
        "--dest",
        "docker",
        "--preserve-digests",
        "--src-tls-verify=false",
        *_flags(sandbox, registry, "dest-"),
        f"{distribution.host}/mirror-{name}/app",
        f"{registry.login_server}/back-{name}",
    ).ok()
    assert tags_of(registry, f"back-{name}/app") == ["a", "b"]
    for tag, digest in digests.items():
        assert manifest_of(registry, f"back-{name}/app", tag)[0] == digest


# -- token auth: what a user without (enough) credentials sees ------------------------------------


def test_auth_without_credentials_is_refused(sandbox: Sandbox, auth_registry: Any, tmp_path: Path) -> None:
    push_image(auth_registry, "sk/private", "v1", "skopeo-private")
    refused = sandbox.skopeo(
        "inspect", *_flags(sandbox, auth_registry, creds=None), _ref(auth_registry, "sk/private", "v1")
    ).failed()
    assert "authentication required" in refused.stderr or "unauthorized" in refused.stderr.lower()
    wrong = sandbox.skopeo(
        "inspect",
        "--tls-verify=false",
        "--creds",
        f"{ADMIN[0]}:wrong",
        _ref(auth_registry, "sk/private", "v1"),
    ).failed()
    assert "unauthorized" in wrong.stderr.lower() or "invalid username/password" in wrong.stderr


def test_auth_pull_only_user_can_read_but_not_push(
    sandbox: Sandbox, auth_registry: Any, tmp_path: Path
) -> None:
    digest = push_image(auth_registry, "sk/readonly", "v1", "skopeo-readonly")
    shown = sandbox.skopeo(
        "inspect", *_flags(sandbox, auth_registry, creds=READER), _ref(auth_registry, "sk/readonly", "v1")
    ).ok()
    assert json.loads(shown.stdout)["Digest"] == digest
    write_layout(tmp_path / "in", "v1", "skopeo-readonly-push")
    refused = sandbox.skopeo(
        "copy",
        *_flags(sandbox, auth_registry, "dest-", creds=READER),
        f"oci:{tmp_path / 'in'}:v1",
        _ref(auth_registry, "sk/readonly-push", "v1"),
    ).failed()
    assert "unauthorized" in refused.stderr.lower() or "denied" in refused.stderr.lower()
    assert tags_of(auth_registry, "sk/readonly") == ["v1"]
    with client(auth_registry, "sk/readonly-push") as ours, pytest.raises(ResourceNotFoundError):
        ours.get_manifest("v1")


# -- TLS ---------------------------------------------------------------------------------------------


def test_tls_needs_the_ca(sandbox: Sandbox, tls_registry: Any) -> None:
    push_image(tls_registry, "sk/tls", "v1", "skopeo-tls")
    untrusted = sandbox.skopeo(
        "inspect", "--creds", f"{ADMIN[0]}:{ADMIN[1]}", _ref(tls_registry, "sk/tls", "v1")
    ).failed()
    assert "x509" in untrusted.stderr or "certificate" in untrusted.stderr
    # --tls-verify=false talks https (without verifying); it works too.
    sandbox.skopeo(
        "inspect",
        "--tls-verify=false",
        "--creds",
        f"{ADMIN[0]}:{ADMIN[1]}",
        _ref(tls_registry, "sk/tls", "v1"),
    ).ok()


# -- anonymous pull ------------------------------------------------------------------------------------


def test_anonymous_pull(sandbox: Sandbox, anon_registry: Any, tmp_path: Path) -> None:
    digest = push_image(anon_registry, "sk/public", "v1", "skopeo-public")
    certs = ["--cert-dir", sandbox.cert_dir(anon_registry)]
    shown = sandbox.skopeo("inspect", *certs, _ref(anon_registry, "sk/public", "v1")).ok()
    assert json.loads(shown.stdout)["Digest"] == digest
    listed = sandbox.skopeo("list-tags", *certs, f"docker://{anon_registry.login_server}/sk/public").ok()
    assert json.loads(listed.stdout)["Tags"] == ["v1"]
    sandbox.skopeo(
        "copy",
        "--preserve-digests",
        "--src-cert-dir",
        certs[1],
        _ref(anon_registry, "sk/public", "v1"),
        f"oci:{tmp_path / 'out'}:v1",
    ).ok()
    assert read_layout(tmp_path / "out") == {"v1": digest}
    write_layout(tmp_path / "in", "v1", "skopeo-anon-push")
    refused = sandbox.skopeo(
        "copy",
        "--dest-cert-dir",
        certs[1],
        f"oci:{tmp_path / 'in'}:v1",
        _ref(anon_registry, "sk/anon-push", "v1"),
    ).failed()
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr
    deleted = sandbox.skopeo("delete", *certs, _ref(anon_registry, "sk/public", "v1")).failed()
    assert deleted.returncode != 0
    assert manifest_of(anon_registry, "sk/public", "v1")[0] == digest


def test_plain_http_to_the_tls_port_says_use_https(sandbox: Sandbox, tls_registry: Any) -> None:
    """curl speaking plain http to the TLS port gets an HTTP 400 that says to use https."""
    shown = sandbox.run(
        "curl",
        "-sS",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "--max-time",
        "10",
        f"http://{tls_registry.login_server}/v2/",
    )
    assert shown.returncode == 0, shown.describe()
    body, _, status = shown.stdout.rpartition("\n")
    assert status == "400"
    assert "https" in body.lower()
