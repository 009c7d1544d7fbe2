"""`copy_archive` (sync and async): archive -> archive, archive <-> OCI layout, gzip-compressed archives
(`docker save | gzip`), concurrency out of a plain tar, and referrers kept in an oci-archive; on real
files, the emulator and Distribution."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import secrets
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.aio import images as aimages
from containerregistry.exceptions import ResourceNotFoundError, UnsafePathError
from containerregistry.images import ArchiveError
from containerregistry.protocol import media_types
from containerregistry.transport import create_async_transport, create_transport
from tests.support.archives import SavedImage, docker_save, gzip_file


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


def run(flavour: str, name: str, *args: Any, **kwargs: Any) -> Any:
    if flavour == "sync":
        import containerregistry.images as sync_images

        return getattr(sync_images, name)(*args, **kwargs)
    return asyncio.run(getattr(aimages, name)(*args, **kwargs))


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def oci_view(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
    """(index.json, the top manifest, every member) of an archive that is an OCI layout."""
    files = members(path)
    index = json.loads(files["index.json"])
    top = index["manifests"][0]["digest"]
    return index, json.loads(files["blobs/" + top.replace(":", "/")]), files


def assert_saved_image(manifest: dict[str, Any], files: dict[str, bytes], saved: SavedImage) -> None:
    assert [layer["digest"] for layer in manifest["layers"]] == saved.layer_digests
    assert manifest["config"]["digest"] == saved.config_digest
    for layer, data in zip(manifest["layers"], saved.layers, strict=True):
        assert files["blobs/" + layer["digest"].replace(":", "/")] == data  # the bytes, unchanged


def test_docker_archive_to_oci_archive_and_back(flavour: str, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "saved.tar", "registry.example/team/app:1.0")
    oci = tmp_path / "img.tar"
    result = run(flavour, "copy_archive", f"docker-archive:{saved.path}", f"oci-archive:{oci}")
    assert result.tag == "1.0" and result.blobs_copied == 3 and not (tmp_path / "img.tar.partial").exists()
    index, manifest, files = oci_view(oci)
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    assert index["manifests"][0]["digest"] == result.digest
    assert_saved_image(manifest, files, saved)

    # oci-archive -> docker-archive: what `docker load` reads, tagged as asked.
    back = tmp_path / "back.tar"
    again = run(flavour, "copy_archive", f"oci-archive:{oci}", f"docker-archive:{back}:app:2")
    assert again.digest == result.digest
    files = members(back)
    loaded = json.loads(files["manifest.json"])
    assert loaded[0]["RepoTags"] == ["app:2"]
    assert [files[name] for name in loaded[0]["Layers"]] == saved.layers
    assert json.loads(files[loaded[0]["Config"]]) == json.loads(saved.config)

    # docker-archive -> docker-archive keeps the RepoTag of the source.
    copy = tmp_path / "copy.tar"
    run(flavour, "copy_archive", f"docker-archive:{saved.path}", f"docker-archive:{copy}")
    assert json.loads(members(copy)["manifest.json"])[0]["RepoTags"] == ["registry.example/team/app:1.0"]


def test_archives_to_layouts_and_back(flavour: str, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "saved.tar")
    layout = tmp_path / "layout"
    result = run(flavour, "copy_archive", f"docker-archive:{saved.path}", f"oci:{layout}:v1")
    index = json.loads((layout / "index.json").read_text())
    assert [
        (m["digest"], m["annotations"]["org.opencontainers.image.ref.name"]) for m in index["manifests"]
    ] == [(result.digest, "v1")]
    for digest, data in zip(saved.layer_digests, saved.layers, strict=True):
        assert (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes() == data
    # layout -> oci-archive -> layout: digests preserved both ways.
    oci = tmp_path / "from-layout.tar"
    out = run(flavour, "copy_archive", f"oci:{layout}:v1", f"oci-archive:{oci}")
    assert out.digest == result.digest and out.tag == "v1"
    second = tmp_path / "second"
    back = run(flavour, "copy_archive", f"oci-archive:{oci}", f"oci:{second}")
    assert back.digest == result.digest and back.tag == "v1"
    assert sorted(p.name for p in (second / "blobs" / "sha256").iterdir()) == sorted(
        p.name for p in (layout / "blobs" / "sha256").iterdir()
    )
    # Into an existing layout, what it has is skipped.
    skipped = run(flavour, "copy_archive", f"docker-archive:{saved.path}", f"oci:{layout}:v2")
    assert skipped.blobs_copied == 0 and skipped.blobs_skipped == 3


def test_gzip_compressed_docker_save_is_read_by_its_magic(
    endpoint: str, flavour: str, tmp_path: Path
) -> None:
    saved = docker_save(tmp_path / "saved.tar", "app:7")
    plain = run(
        flavour, "copy_archive", f"docker-archive:{saved.path}", f"oci-archive:{tmp_path / 'plain.tar'}"
    )
    packed = gzip_file(saved.path, tmp_path / "image.bin")  # `docker save app:7 | gzip > image.bin`
    repo = f"gz/{flavour}-{secrets.token_hex(3)}"
    pushed = run(flavour, "push_archive", f"docker-archive:{packed}", f"{endpoint}/{repo}")
    assert pushed.digest == plain.digest and pushed.tag == "7" and pushed.blobs_copied == 3
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        manifest = client.get_manifest("7").manifest
        assert [layer.digest for layer in manifest.layers] == saved.layer_digests  # type: ignore[union-attr]
        assert client.download_blob_content(saved.layer_digests[1]).content == saved.layers[1]
    out = tmp_path / "from-gz.tar"
    copied = run(flavour, "copy_archive", f"docker-archive:{packed}", f"oci-archive:{out}")
    assert copied.digest == plain.digest
    assert_saved_image(oci_view(out)[1], oci_view(out)[2], saved)


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_broken_gzip_archive_is_refused_and_nothing_is_written(
    endpoint: str, flavour: str, damage: str, tmp_path: Path
) -> None:
    saved = docker_save(tmp_path / "saved.tar", layers=3, layer_size=200_000)
    data = bytearray(gzip_file(saved.path, tmp_path / "whole.tgz").read_bytes())
    if damage == "truncated":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) // 2] ^= 0xFF
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(bytes(data))
    repo = f"gz/broken-{secrets.token_hex(3)}"
    targets = [f"{endpoint}/{repo}:v1", f"oci:{tmp_path / 'layout'}", f"oci-archive:{tmp_path / 'out.tar'}"]
    for target in targets:
        with pytest.raises(ArchiveError, match="corrupt or truncated gzip"):
            run(flavour, "copy_archive", f"docker-archive:{broken}", target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.tgz", "saved.tar", "whole.tgz"]
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        with pytest.raises(ResourceNotFoundError):
            client.get_manifest("v1")
        for digest in saved.layer_digests:
            assert not client.blob_exists(digest)  # refused before any blob moved


class _Watch:
    """Counts upload (or download) requests in flight at once (each held 0.3 s so overlaps are certain)."""

    def __init__(self, methods: tuple[str, ...] = ("PUT", "PATCH"), path: str = "/blobs/uploads/") -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()
        self.methods, self.path = methods, path

    def enter(self, request: httpx.Request) -> bool:
        if request.method not in self.methods or self.path not in request.url.path:
            return False
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        return True

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class _SyncWatching(httpx.BaseTransport):
    def __init__(self, watch: _Watch) -> None:
        self.inner, self.watch = create_transport(), watch  # the real transport, over real sockets

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        counted = self.watch.enter(request)
        try:
            if counted:
                time.sleep(0.3)
            return self.inner.handle_request(request)
        finally:
            if counted:
                self.watch.leave()

    def close(self) -> None:
        self.inner.close()


class _AsyncWatching(httpx.AsyncBaseTransport):
    def __init__(self, watch: _Watch) -> None:
        self.inner, self.watch = create_async_transport(), watch

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        counted = self.watch.enter(request)
        try:
            if counted:
                await asyncio.sleep(0.3)
            return await self.inner.handle_async_request(request)
        finally:
            if counted:
                self.watch.leave()

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_out_of_a_plain_tar(
    registry_emulator: Any, flavour: str, concurrency: int, tmp_path: Path
) -> None:
    saved = docker_save(tmp_path / "saved.tar", layers=5)
    watch = _Watch()
    transport = _SyncWatching(watch) if flavour == "sync" else _AsyncWatching(watch)
    repo = f"conc/{flavour}-{concurrency}-{secrets.token_hex(3)}"
    result = run(
        flavour,
        "push_archive",
        f"docker-archive:{saved.path}",
        f"{registry_emulator.endpoint}/{repo}:v1",
        concurrency=concurrency,
        transport=transport,
    )
    assert result.blobs_copied == 6
    assert watch.peak == concurrency if concurrency == 1 else watch.peak >= 2, watch.peak


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrent_downloads_into_one_tar(
    registry_emulator: Any, flavour: str, concurrency: int, tmp_path: Path
) -> None:
    saved = docker_save(tmp_path / "saved.tar", layers=5, layer_size=300_000)
    repo = f"conc/pull-{flavour}-{concurrency}-{secrets.token_hex(3)}"
    image = run(
        "sync", "push_archive", f"docker-archive:{saved.path}", f"{registry_emulator.endpoint}/{repo}:v1"
    )
    watch = _Watch(methods=("GET",), path="/blobs/sha256:")
    transport = _SyncWatching(watch) if flavour == "sync" else _AsyncWatching(watch)
    out = tmp_path / "pulled.tar"
    result = run(
        flavour,
        "pull_archive",
        f"{registry_emulator.endpoint}/{repo}:v1",
        f"docker-archive:{out}",
        concurrency=concurrency,
        transport=transport,
    )
    assert result.digest == image.digest and result.blobs_copied == 6
    assert watch.peak == concurrency if concurrency == 1 else watch.peak >= 2, watch.peak
    # A well-formed tar whose every blob is in its place: read back (each digest checked) into a layout.
    files = members(out)
    loaded = json.loads(files["manifest.json"])[0]
    assert [files[name] for name in loaded["Layers"]] == saved.layers
    back = run(flavour, "copy_archive", f"docker-archive:{out}", f"oci:{tmp_path / 'layout'}")
    assert back.digest == image.digest


def _push_with_referrer(endpoint: str, repo: str, tmp_path: Path) -> tuple[str, str]:
    saved = docker_save(tmp_path / "base.tar")
    image = run("sync", "push_archive", f"docker-archive:{saved.path}", f"{endpoint}/{repo}:v1")
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        empty = client.upload_blob(b"{}")
        sbom = client.upload_blob(b'{"spdxVersion": "SPDX-2.3"}')
        referrer = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_MANIFEST,
            "artifactType": "application/spdx+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.digest, "size": 2},
            "layers": [{"mediaType": "application/spdx+json", "digest": sbom.digest, "size": sbom.size}],
            "subject": {"mediaType": media_types.OCI_MANIFEST, "digest": image.digest, "size": 0},
        }
        referrer["subject"]["size"] = len(client.get_manifest(image.digest).content)  # type: ignore[index]
        pushed = client.set_manifest(json.dumps(referrer).encode(), media_type=media_types.OCI_MANIFEST)
    return image.digest, pushed.digest


def test_referrers_travel_in_an_oci_archive(endpoint: str, flavour: str, tmp_path: Path) -> None:
    repo = f"refs/{flavour}-{secrets.token_hex(3)}"
    image, sbom = _push_with_referrer(endpoint, repo, tmp_path)
    out = tmp_path / "with-refs.tar"
    pulled = run(
        flavour, "pull_archive", f"{endpoint}/{repo}:v1", f"oci-archive:{out}", include_referrers=True
    )
    assert pulled.referrers == 1 and pulled.manifests == 2
    index = json.loads(members(out)["index.json"])
    assert [m["digest"] for m in index["manifests"]] == [image, sbom]
    assert index["manifests"][1]["artifactType"] == "application/spdx+json"
    without = run(flavour, "pull_archive", f"{endpoint}/{repo}:v1", f"oci-archive:{tmp_path / 'no.tar'}")
    assert without.referrers == 0

    # The archive's image is still the only one named: it is what is pushed, with its referrer.
    back = f"{repo}-back"
    pushed = run(
        flavour, "push_archive", f"oci-archive:{out}", f"{endpoint}/{back}:v1", include_referrers=True
    )
    assert pushed.digest == image and pushed.referrers == 1
    with ContainerRegistryContentClient(endpoint, back, None) as client:
        assert [d.digest for d in client.list_referrers(image)] == [sbom]
    # ... and into a layout, as skopeo and oras keep them there (an unnamed index.json entry).
    layout = tmp_path / "layout"
    run(flavour, "copy_archive", f"oci-archive:{out}", f"oci:{layout}", include_referrers=True)
    assert [m["digest"] for m in json.loads((layout / "index.json").read_text())["manifests"]] == [
        sbom,
        image,
    ]
    with pytest.raises(ArchiveError, match="docker-archive holds one image and no referrers"):
        run(
            flavour,
            "pull_archive",
            f"{endpoint}/{repo}:v1",
            f"docker-archive:{tmp_path / 'd.tar'}",
            include_referrers=True,
        )
    assert not (tmp_path / "d.tar").exists()


def test_a_compressed_name_for_a_target_is_refused(flavour: str, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "saved.tar")
    for name in ("out.tar.gz", "out.tgz"):
        with pytest.raises(ArchiveError, match="creg writes uncompressed tar archives"):
            run(flavour, "copy_archive", f"docker-archive:{saved.path}", f"docker-archive:{tmp_path / name}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved.tar"]


def test_a_link_planted_at_the_partial_name_is_refused(flavour: str, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "saved.tar")
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "out.tar.partial").symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        run(flavour, "copy_archive", f"docker-archive:{saved.path}", f"oci-archive:{tmp_path / 'out.tar'}")
    assert victim.read_bytes() == b"precious" and not (tmp_path / "out.tar").exists()


def _nested_archive(tmp_path: Path, indexes: int) -> Path:
    """An oci-archive whose image is `indexes` indexes, each the only entry of the one above, over one
    image (so its manifest is `indexes` levels below the top)."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    config, layer = blob(b'{"architecture":"amd64","os":"linux"}'), blob(b"layer")
    image = {
        "schemaVersion": 2,
        "mediaType": media_types.OCI_MANIFEST,
        "config": {"mediaType": media_types.OCI_CONFIG, **config},
        "layers": [{"mediaType": media_types.OCI_LAYER, **layer}],
    }
    entry = {"mediaType": media_types.OCI_MANIFEST, **blob(json.dumps(image).encode())}
    for _ in range(indexes):
        index = {"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": [entry]}
        entry = {"mediaType": media_types.OCI_INDEX, **blob(json.dumps(index).encode())}
    entry["annotations"] = {"org.opencontainers.image.ref.name": "deep"}
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode(),
        **{"blobs/" + digest.replace(":", "/"): data for digest, data in blobs.items()},
    }
    path = tmp_path / f"nested-{indexes}.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_manifests_nested_deeper_than_the_copy_plan_allows_are_refused(flavour: str, tmp_path: Path) -> None:
    """The archive copy plans as copy_image does (`plan_copy`, 8 levels): deeper is an ArchiveError and
    nothing is written; 8 levels copy."""
    deep = _nested_archive(tmp_path, 9)
    with pytest.raises(ArchiveError, match="manifests nest deeper than 8 levels"):
        run(flavour, "copy_archive", f"oci-archive:{deep}", f"oci-archive:{tmp_path / 'out.tar'}")
    assert not (tmp_path / "out.tar").exists() and not (tmp_path / "out.tar.partial").exists()

    result = run(
        flavour, "copy_archive", f"oci-archive:{_nested_archive(tmp_path, 8)}", f"oci:{tmp_path / 'l'}"
    )
    assert (result.manifests, result.blobs_copied, result.tag) == (9, 2, "deep")
