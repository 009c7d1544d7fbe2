"""oras-py (PyPI) against the emulator, open / token auth / TLS / anonymous: push and pull files as an
artifact, tags, delete, and an artifact with a `subject` (the referrers API, read back with our client).

oras-py has no cross-repository mount and no call that lists referrers (it can only push a `subject`).
Its token backend answers a 401 by resending the token it already holds (it fetches a new one only on a
403), so a push that follows a pull-scoped request fails on any token registry, Distribution included
(`test_token_backend_push_fails_as_on_distribution`); pushes with credentials therefore use its basic
backend (the emulator, like ACR, accepts an admin user's Basic credentials on every request).
"""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path
from typing import Any

import oras.client  # ./dev setup installs it (.[interop])
import oras.decorator
import oras.oci
import pytest

from containerregistry.exceptions import ResourceNotFoundError

from .conftest import ADMIN, MODES, READER
from .helpers import blob_of, client, manifest_of, sha256, tags_of


@pytest.fixture(autouse=True)
def _no_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """oras-py retries a failed request 5 times, sleeping 3 s to 83 s between tries; the outcome a user
    sees is the same without the waits (only oras.decorator's sleeps are skipped)."""
    monkeypatch.setattr(oras.decorator, "time", types.SimpleNamespace(sleep=lambda seconds: None))


def _oras(
    registry: Any, creds: tuple[str, str] | None = ADMIN, tmp: Path | None = None, backend: str = "basic"
) -> Any:
    kwargs: dict[str, Any] = {"hostname": registry.login_server, "auth_backend": backend}
    if registry.ca_cert is None:
        ours = oras.client.OrasClient(insecure=True, **kwargs)
    else:
        ours = oras.client.OrasClient(tls_verify=str(registry.ca_cert), **kwargs)
    config = getattr(registry.auth, "config", None)
    if creds is not None and config is not None and config.users:
        assert tmp is not None
        ours.login(
            username=creds[0],
            password=creds[1],
            hostname=registry.login_server,
            config_path=str(tmp / "docker-config.json"),
        )
    return ours


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, registries: dict[str, Any]) -> tuple[str, Any]:
    return request.param, registries[request.param]


def _files(directory: Path, label: str) -> dict[str, bytes]:
    files = {f"{label}-a.txt": f"oras file a of {label}\n".encode(), f"{label}-b.json": b'{"b": true}'}
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return files


def test_push_pull_tags_delete(
    mode: tuple[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, registry = mode
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path, f"oras-{name}")
    ours = _oras(registry, tmp=tmp_path)
    target = f"{registry.login_server}/oras/app:v1"
    pushed = ours.push(files=list(files), target=target, manifest_annotations={"made-by": "oras-py"})
    assert pushed.status_code == 201

    _, manifest = manifest_of(registry, "oras/app", "v1")
    assert manifest["annotations"]["made-by"] == "oras-py"
    titles = {layer["annotations"]["org.opencontainers.image.title"]: layer for layer in manifest["layers"]}
    assert set(titles) == set(files)
    for file_name, data in files.items():
        assert titles[file_name]["digest"] == sha256(data)
        assert blob_of(registry, "oras/app", sha256(data)) == data

    ours.push(files=list(files)[:1], target=f"{registry.login_server}/oras/app:v2")
    assert sorted(ours.get_tags(f"{registry.login_server}/oras/app")) == ["v1", "v2"]

    out = tmp_path / "out"
    paths = ours.pull(target=target, outdir=str(out))
    assert {Path(p).name: Path(p).read_bytes() for p in paths} == files

    assert ours.delete_tag(f"{registry.login_server}/oras/app", tag="v2") is True
    assert tags_of(registry, "oras/app") == ["v1"]


def test_push_with_subject_is_a_referrer(
    mode: tuple[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, registry = mode
    monkeypatch.chdir(tmp_path)
    ours = _oras(registry, tmp=tmp_path)
    files = _files(tmp_path, f"oras-subject-{name}")
    ours.push(files=list(files)[:1], target=f"{registry.login_server}/oras/signed:v1")
    with client(registry, "oras/signed") as mine:
        got = mine.get_manifest("v1")
    subject = oras.oci.Subject(
        mediaType="application/vnd.oci.image.manifest.v1+json", digest=got.digest, size=len(got.content)
    )
    (tmp_path / "sbom.json").write_text(json.dumps({"sbom": name}))
    pushed = ours.push(
        files=["sbom.json"],
        target=f"{registry.login_server}/oras/signed:sbom",
        subject=subject,
        manifest_annotations={"kind": "sbom"},
    )
    assert pushed.status_code == 201
    sbom_digest, sbom = manifest_of(registry, "oras/signed", "sbom")
    assert sbom["subject"] == dataclasses.asdict(subject)
    with client(registry, "oras/signed") as mine:
        referrers = list(mine.list_referrers(got.digest))
    assert [r.digest for r in referrers] == [sbom_digest]
    assert referrers[0].annotations == {"kind": "sbom"}


def test_wrong_password_and_pull_only_user(
    auth_registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path, "oras-denied")
    wrong = _oras(auth_registry, (ADMIN[0], "wrong"), tmp=tmp_path)
    with pytest.raises(ValueError) as refused:
        wrong.push(files=list(files), target=f"{auth_registry.login_server}/oras/denied:v1")
    assert "UNAUTHORIZED" in str(refused.value)

    _oras(auth_registry, tmp=tmp_path).push(
        files=list(files), target=f"{auth_registry.login_server}/oras/ro:v1"
    )
    reader = _oras(auth_registry, READER, tmp=tmp_path, backend="token")
    assert reader.get_tags(f"{auth_registry.login_server}/oras/ro") == ["v1"]
    paths = reader.pull(target=f"{auth_registry.login_server}/oras/ro:v1", outdir=str(tmp_path / "out"))
    assert {Path(p).name for p in paths} == set(files)
    with pytest.raises(ValueError) as denied:
        reader.push(files=list(files), target=f"{auth_registry.login_server}/oras/ro:v2")
    assert "manifests/v2: Unauthorized" in str(denied.value)
    assert tags_of(auth_registry, "oras/ro") == ["v1"]
    with client(auth_registry, "oras/denied") as ours, pytest.raises(ResourceNotFoundError):
        ours.get_manifest("v1")


def test_anonymous_pull(anon_registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path, "oras-public")
    _oras(anon_registry, tmp=tmp_path).push(
        files=list(files), target=f"{anon_registry.login_server}/oras/pub:v1"
    )
    anonymous = _oras(anon_registry, None, backend="token")
    assert anonymous.get_tags(f"{anon_registry.login_server}/oras/pub") == ["v1"]
    paths = anonymous.pull(target=f"{anon_registry.login_server}/oras/pub:v1", outdir=str(tmp_path / "out"))
    assert {Path(p).name: Path(p).read_bytes() for p in paths} == files
    with pytest.raises(ValueError) as denied:
        anonymous.push(files=list(files), target=f"{anon_registry.login_server}/oras/pub:v2")
    assert "manifests/v2: Unauthorized" in str(denied.value)
    assert tags_of(anon_registry, "oras/pub") == ["v1"]


def test_token_backend_push_fails_as_on_distribution(
    auth_registry: Any, distribution_token: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """oras-py's token backend keeps its pull-scoped token after a 401 for push: the same error on both."""
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path, "oras-token-backend")
    seen = []
    for host, creds in (
        (auth_registry.login_server, ADMIN),
        (distribution_token.host, (distribution_token.username, distribution_token.password)),
    ):
        ours = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="token")
        ours.login(
            username=creds[0], password=creds[1], hostname=host, config_path=str(tmp_path / "cfg.json")
        )
        with pytest.raises(ValueError) as refused:
            ours.push(files=list(files), target=f"{host}/oras/token-backend:v1")
        seen.append(str(refused.value).split(":", 1)[0])
    assert seen == ["Issue retrieving session url"] * 2
