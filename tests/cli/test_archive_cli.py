"""`creg copy|push|pull` with archives, as a user runs them: archive -> archive and archive <-> oci:
layout, `docker save | gzip` files, and what --concurrency, --referrers and --platform do (or the
one-line reason they cannot apply); CliRunner and a real `creg` process, the emulator and Distribution."""

from __future__ import annotations

import json
import secrets
import tarfile
from pathlib import Path
from typing import Any

import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.exceptions import ResourceNotFoundError
from tests.cli.conftest import run_cli, run_creg
from tests.support.archives import docker_save, gzip_file


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


def _index(path: Path) -> dict[str, Any]:
    with tarfile.open(path) as tar:
        return json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]


def test_copy_between_archives_and_layouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    saved = docker_save(tmp_path / "a.tar", "app:1.0")
    done = run_cli("-o", "json", "copy", "docker-archive:a.tar", "oci-archive:b.tar")
    assert done.exit_code == 0, done.stderr
    digest = json.loads(done.stdout)["digest"]
    assert "copy: docker-archive:a.tar -> oci-archive:b.tar (3 blobs copied" in done.stderr
    assert _index(tmp_path / "b.tar")["manifests"][0]["digest"] == digest
    back = run_cli("copy", "oci-archive:b.tar", "docker-archive:c.tar:app:2")
    assert back.exit_code == 0, back.stderr
    with tarfile.open(tmp_path / "c.tar") as tar:
        loaded = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert loaded[0]["RepoTags"] == ["app:2"]
        assert [tar.extractfile(n).read() for n in loaded[0]["Layers"]] == saved.layers  # type: ignore[union-attr]
    layout = run_creg("copy", "oci-archive:b.tar", "oci:./lay:v1")  # a real process, in tmp_path
    assert layout.returncode == 0, layout.stderr
    assert (tmp_path / "lay" / "index.json").is_file()
    out = run_cli("-o", "json", "copy", "oci:./lay:v1", "oci-archive:d.tar")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["digest"] == digest


def test_push_a_gzipped_docker_save(endpoint: str, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "a.tar", "app:3")
    packed = gzip_file(saved.path, tmp_path / "app.tar.gz")
    repo = f"cli-gz-{secrets.token_hex(3)}"
    done = run_cli("-r", endpoint, "-o", "json", "push", f"docker-archive:{packed}", repo)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["tag"] == "3"
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        assert client.download_blob_content(saved.layer_digests[0]).content == saved.layers[0]

    truncated = tmp_path / "cut.tgz"
    truncated.write_bytes(packed.read_bytes()[:-5000])
    bad = run_creg("-r", endpoint, "push", f"docker-archive:{truncated}", f"{repo}-cut:v1")
    assert bad.returncode == 1
    lines = bad.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "corrupt or truncated gzip-compressed archive" in lines[0], lines
    with (
        ContainerRegistryContentClient(endpoint, f"{repo}-cut", None) as client,
        pytest.raises(ResourceNotFoundError),
    ):
        client.get_manifest("v1")
    local = run_cli("copy", f"docker-archive:{truncated}", f"oci-archive:{tmp_path / 'out.tar'}")
    assert local.exit_code == 1 and "truncated" in local.stderr
    assert not (tmp_path / "out.tar").exists() and not (tmp_path / "out.tar.partial").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["copy", "docker-archive:{tmp}/a.tar.gz", "oci:{tmp}/lay", "--concurrency", "3"], "gzip-compressed"),
        (["pull", "{repo}:v1", "docker-archive:{tmp}/x.tar", "--referrers"], "cannot hold referrers"),
        (["push", "docker-archive:{tmp}/a.tar", "{repo}:v2", "--referrers"], "cannot hold referrers"),
        (
            [
                "pull",
                "{repo}:v1",
                "oci-archive:{tmp}/x.tar",
                "--platform",
                "linux/amd64",
                "--platform",
                "linux/arm64",
            ],
            "takes one platform",
        ),
        (["pull", "docker-archive:{tmp}/a.tar", "oci:{tmp}/lay"], "must be a registry reference"),
        (["push", "docker-archive:{tmp}/a.tar", "oci:{tmp}/lay"], "must be a registry reference"),
    ],
)
def test_options_that_cannot_apply_are_refused_with_the_reason(
    registry_emulator: Any, tmp_path: Path, args: list[str], expected: str
) -> None:
    saved = docker_save(tmp_path / "a.tar")
    gzip_file(saved.path, tmp_path / "a.tar.gz")
    repo = f"cli-opt-{secrets.token_hex(3)}"
    assert (
        run_cli(
            "-r", registry_emulator.endpoint, "push", f"docker-archive:{saved.path}", f"{repo}:v1"
        ).exit_code
        == 0
    )
    argv = [a.format(repo=repo, tmp=tmp_path) for a in args]
    done = run_cli("-r", registry_emulator.endpoint, *argv)
    assert done.exit_code == 2, (done.stdout, done.stderr)
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.tar").exists() and not (tmp_path / "lay").exists()
    # What the copy would write is not there, and the registry got no second tag.
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo, None) as client:
        assert list(client.list_tags()) == ["v1"]


def test_concurrency_and_referrers_that_apply_are_honoured(endpoint: str, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "a.tar", layers=4)
    repo = f"cli-conc-{secrets.token_hex(3)}"
    done = run_cli(
        "-r",
        endpoint,
        "-o",
        "json",
        "push",
        f"docker-archive:{saved.path}",
        f"{repo}:v1",
        "--concurrency",
        "8",
    )
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["blobs_copied"] == 5
    into = run_cli(
        "-r",
        endpoint,
        "-o",
        "json",
        "pull",
        f"{repo}:v1",
        f"oci-archive:{tmp_path / 'x.tar'}",
        "--concurrency",
        "8",
    )
    assert into.exit_code == 0, into.stderr
    assert json.loads(into.stdout)["blobs_copied"] == 5 and (tmp_path / "x.tar").is_file()
    # --referrers into an oci-archive: the referrer is in its index.json, and comes back on push.
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        image = client.get_manifest("v1")
        empty = client.upload_blob(b"{}")
        signature = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.example.signature",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.digest, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.digest, "size": 2}],
            "subject": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": image.digest,
                "size": len(image.content),
            },
        }
        signed = client.set_manifest(json.dumps(signature).encode())
    archive = tmp_path / "signed.tar"
    pulled = run_cli("-r", endpoint, "pull", f"{repo}:v1", f"oci-archive:{archive}", "--referrers")
    assert pulled.exit_code == 0, pulled.stderr
    assert "1 referrers" in pulled.stderr
    assert [m["digest"] for m in _index(archive)["manifests"]] == [image.digest, signed.digest]
    pushed = run_cli("-r", endpoint, "push", f"oci-archive:{archive}", f"{repo}-copy:v1", "--referrers")
    assert pushed.exit_code == 0, pushed.stderr
    with ContainerRegistryContentClient(endpoint, f"{repo}-copy", None) as client:
        assert [d.digest for d in client.list_referrers(image.digest)] == [signed.digest]


def test_a_tar_destination_without_transport_hints_the_archive_transports(closed_port: int) -> None:
    done = run_cli("-r", f"http://127.0.0.1:{closed_port}", "pull", "app:1", "app.tar")
    assert done.exit_code == 2
    assert "did you mean docker-archive:app.tar or oci-archive:app.tar?" in done.stderr
