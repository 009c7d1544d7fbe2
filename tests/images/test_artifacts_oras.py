"""Library `push_artifact`, `attach_artifact`, `pull_artifact`, `referrer_tree`, sync and async, on the emulator
and Distribution; unsafe titles refused before anything is written; oras-py reads what we push and vice versa."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.exceptions import ResourceNotFoundError
from containerregistry.images import ArtifactFile, ArtifactPathError
from containerregistry.images._artifacts import ANNOTATION_TITLE, safe_target
from containerregistry.protocol import media_types
from tests.images.support import call
from tests.support.adapter import ClientKind


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


def _files(tmp_path: Path) -> dict[str, bytes]:
    src = tmp_path / "src"
    src.mkdir()
    contents = {"readme.md": b"# hello\n", "data.bin": secrets.token_bytes(70_000)}
    for name, content in contents.items():
        (src / name).write_bytes(content)
    return contents


def test_push_pull_roundtrip(endpoint: str, client_kind: ClientKind, tmp_path: Path) -> None:
    repo = f"art/{client_kind.flavour}-{secrets.token_hex(3)}"
    contents = _files(tmp_path)
    files = [
        ArtifactFile(str(tmp_path / "src" / "readme.md"), media_type="text/markdown"),
        str(tmp_path / "src" / "data.bin"),
    ]
    pushed = call(
        client_kind,
        endpoint,
        repo,
        "push_artifact",
        "v1",
        files,
        artifact_type="application/vnd.example.docs",
        annotations={"made-by": "creg"},
    )
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        got = client.get_manifest("v1")
    body = json.loads(got.content)
    assert got.digest == pushed.digest
    assert body["artifactType"] == "application/vnd.example.docs"
    assert body["config"] == {
        "mediaType": media_types.OCI_EMPTY,
        "digest": media_types.OCI_EMPTY_DIGEST,
        "size": 2,
    }
    assert [(layer["mediaType"], layer["annotations"][ANNOTATION_TITLE]) for layer in body["layers"]] == [
        ("text/markdown", "readme.md"),
        ("application/vnd.oci.image.layer.v1.tar", "data.bin"),
    ]
    assert body["annotations"] == {"made-by": "creg"}

    out = tmp_path / "out"
    pulled = call(client_kind, endpoint, repo, "pull_artifact", "v1", out)
    assert pulled.digest == pushed.digest and pulled.skipped == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == contents  # no .partial left behind


def test_pulled_files_get_the_umask_mode_like_other_downloads(
    registry_emulator: Any, client_kind: ClientKind, tmp_path: Path
) -> None:
    # `oras pull` and `creg blob pull` create files readable as the umask allows (0o644 under 022); the
    # temporary file of a pulled artifact used to keep mkstemp's 0o600 after its rename.
    endpoint = str(registry_emulator.endpoint)
    repo = f"art/mode-{client_kind.flavour}-{secrets.token_hex(3)}"
    _files(tmp_path)
    call(client_kind, endpoint, repo, "push_artifact", "v1", [str(tmp_path / "src" / "readme.md")])
    old = os.umask(0o022)
    try:
        call(client_kind, endpoint, repo, "pull_artifact", "v1", tmp_path / "out")
    finally:
        os.umask(old)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["readme.md"]
    assert (tmp_path / "out" / "readme.md").stat().st_mode & 0o777 == 0o644


def test_attach_and_referrer_tree(endpoint: str, client_kind: ClientKind, tmp_path: Path) -> None:
    repo = f"art/{client_kind.flavour}-{secrets.token_hex(3)}"
    _files(tmp_path)
    readme = str(tmp_path / "src" / "readme.md")
    image = call(client_kind, endpoint, repo, "push_artifact", "v1", [readme])
    sbom = call(
        client_kind, endpoint, repo, "attach_artifact", "v1", [readme], artifact_type="application/spdx+json"
    )
    sig = call(
        client_kind,
        endpoint,
        repo,
        "attach_artifact",
        sbom.digest,
        [readme],
        artifact_type="application/vnd.example.sig",
    )
    assert sbom.subject == image.digest and sig.subject == sbom.digest
    tree = call(client_kind, endpoint, repo, "referrer_tree", "v1")
    assert tree.digest == image.digest
    assert [(n.digest, n.artifact_type) for n in tree.referrers] == [(sbom.digest, "application/spdx+json")]
    assert [(n.digest, n.artifact_type) for n in tree.referrers[0].referrers] == [
        (sig.digest, "application/vnd.example.sig")
    ]
    shallow = call(client_kind, endpoint, repo, "referrer_tree", "v1", max_depth=1)
    assert shallow.referrers[0].referrers == []
    with pytest.raises(ValueError, match="artifact type"):
        call(client_kind, endpoint, repo, "attach_artifact", "v1", [readme], artifact_type="")


def _push_titled(endpoint: str, repo: str, titles: list[str]) -> None:
    """An artifact whose layer titles are whatever a hostile pusher chose."""
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        client.upload_blob(b"{}")
        layers = []
        for title in titles:
            blob = client.upload_blob(b"owned " + title.encode())
            layers.append(
                {
                    "mediaType": "text/plain",
                    "digest": blob.digest,
                    "size": blob.size,
                    "annotations": {ANNOTATION_TITLE: title},
                }
            )
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_MANIFEST,
            "artifactType": "application/vnd.example",
            "config": {"mediaType": media_types.OCI_EMPTY, "digest": media_types.OCI_EMPTY_DIGEST, "size": 2},
            "layers": layers,
        }
        client.set_manifest(json.dumps(manifest).encode(), tag="evil")


@pytest.mark.parametrize(
    "title",
    ["../escape.txt", "/tmp/abs-creg-escape.txt", "a/../../escape.txt", "C:evil.txt", "link/inside.txt", "."],
)
def test_pull_refuses_titles_that_escape(
    endpoint: str, client_kind: ClientKind, tmp_path: Path, title: str
) -> None:
    repo = f"art/{client_kind.flavour}-{secrets.token_hex(3)}"
    _push_titled(endpoint, repo, ["good.txt", title])
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, out / "link")
    with pytest.raises(ArtifactPathError, match=r"refused|symlink|relative"):
        call(client_kind, endpoint, repo, "pull_artifact", "evil", out)
    # Nothing was written: not the good file either, nothing outside.
    assert sorted(p.name for p in out.iterdir()) == ["link"]
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/abs-creg-escape.txt").exists()


def test_pull_refuses_a_symlinked_target_file(tmp_path: Path) -> None:
    (tmp_path / "victim").write_text("keep")
    os.symlink(tmp_path / "victim", tmp_path / "out.txt")
    with pytest.raises(ArtifactPathError, match="symlink"):
        safe_target(tmp_path, "out.txt")
    assert safe_target(tmp_path, "sub/dir/file.txt") == tmp_path / "sub" / "dir" / "file.txt"


def test_push_refuses_duplicate_titles_and_missing_files(endpoint: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("1")
    (tmp_path / "b" / "x.txt").write_text("2")
    repo = f"art/dup-{secrets.token_hex(3)}"
    with pytest.raises(ArtifactPathError, match="two files"):
        call(
            ClientKind("sync"),
            endpoint,
            repo,
            "push_artifact",
            "v1",
            [tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt"],
        )
    with pytest.raises(ArtifactPathError, match="no such file"), ClientKind("async") as kind:
        call(kind, endpoint, repo, "push_artifact", "v1", [tmp_path / "nope"])
    # Nothing was pushed: the repository does not even exist.
    with ContainerRegistryContentClient(endpoint, repo, None) as client, pytest.raises(ResourceNotFoundError):
        list(client.list_tags())


def test_oras_py_pulls_what_creg_pushes_and_creg_pulls_what_oras_pushes(
    registry_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oras_client = pytest.importorskip("oras.client")
    endpoint = registry_emulator.endpoint
    host = endpoint.split("://", 1)[1]
    contents = _files(tmp_path)
    repo = f"art/oras-{secrets.token_hex(3)}"
    call(
        ClientKind("sync"),
        endpoint,
        repo,
        "push_artifact",
        "ours",
        [str(tmp_path / "src" / n) for n in contents],
    )
    theirs = oras_client.OrasClient(hostname=host, insecure=True)
    paths = theirs.pull(target=f"{host}/{repo}:ours", outdir=str(tmp_path / "by-oras"))
    assert {Path(p).name: Path(p).read_bytes() for p in paths} == contents

    monkeypatch.chdir(tmp_path / "src")
    theirs.push(files=list(contents), target=f"{host}/{repo}:theirs")
    with ClientKind("async") as kind:
        pulled = call(kind, endpoint, repo, "pull_artifact", "theirs", tmp_path / "by-creg")
    assert {f.title: Path(f.path).read_bytes() for f in pulled.files} == contents
