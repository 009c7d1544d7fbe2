"""Archives between creg and skopeo: what we write (docker-archive:, oci-archive:, from a `docker save`
file, a gzip-compressed one, a layout or the emulator) `skopeo inspect` and `skopeo copy` read, and what
skopeo writes we read (into a layout, another archive, the emulator) with digests kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from containerregistry.images import copy_archive
from tests.support.archives import docker_save, gzip_file

from .conftest import Sandbox
from .helpers import manifest_of, read_layout, write_layout


def _inspect(sandbox: Sandbox, location: str) -> dict[str, Any]:
    return json.loads(sandbox.skopeo("inspect", location).ok().stdout)


def _raw(sandbox: Sandbox, location: str) -> dict[str, Any]:
    return json.loads(sandbox.skopeo("inspect", "--raw", location).ok().stdout)


def test_skopeo_reads_the_archives_we_write(sandbox: Sandbox, tmp_path: Path) -> None:
    saved = docker_save(tmp_path / "saved.tar", "app:1.0", arch="arm64")
    packed = gzip_file(saved.path, tmp_path / "saved.tgz")
    ours = tmp_path / "ours-docker.tar"
    copy_archive(f"docker-archive:{packed}", f"docker-archive:{ours}")
    view = _inspect(sandbox, f"docker-archive:{ours}")
    assert view["Architecture"] == "arm64" and view["Labels"] == {"saved": "app:1.0"}
    assert view["Layers"] == saved.layer_digests
    # skopeo copies it whole (and checks every layer's digest on the way).
    sandbox.skopeo("copy", f"docker-archive:{ours}", f"oci:{tmp_path / 'check'}:x").ok()

    oci = tmp_path / "ours-oci.tar"
    result = copy_archive(f"docker-archive:{saved.path}", f"oci-archive:{oci}:v1")
    raw = _raw(sandbox, f"oci-archive:{oci}:v1")
    assert [layer["digest"] for layer in raw["layers"]] == saved.layer_digests
    assert _inspect(sandbox, f"oci-archive:{oci}:v1")["Digest"] == result.digest
    sandbox.skopeo("copy", "--preserve-digests", f"oci-archive:{oci}:v1", f"oci:{tmp_path / 'lay'}:v1").ok()
    assert read_layout(tmp_path / "lay") == {"v1": result.digest}

    # A layout (written as skopeo tests write them) into an oci-archive: skopeo sees the same digest.
    digest = write_layout(tmp_path / "src", "v2", "archives-interop")
    copy_archive(f"oci:{tmp_path / 'src'}:v2", f"oci-archive:{tmp_path / 'layout.tar'}")
    assert _inspect(sandbox, f"oci-archive:{tmp_path / 'layout.tar'}:v2")["Digest"] == digest


def test_we_read_the_archives_skopeo_writes(sandbox: Sandbox, open_registry: Any, tmp_path: Path) -> None:
    digest = write_layout(tmp_path / "src", "v1", "skopeo-writes")
    theirs_oci = tmp_path / "theirs-oci.tar"
    theirs_docker = tmp_path / "theirs-docker.tar"
    sandbox.skopeo(
        "copy", "--preserve-digests", f"oci:{tmp_path / 'src'}:v1", f"oci-archive:{theirs_oci}:rel"
    ).ok()
    sandbox.skopeo("copy", f"oci:{tmp_path / 'src'}:v1", f"docker-archive:{theirs_docker}:team/app:2").ok()

    # oci-archive: byte for byte, into a layout and into our own oci-archive.
    into_layout = copy_archive(f"oci-archive:{theirs_oci}", f"oci:{tmp_path / 'lay'}")
    assert into_layout.digest == digest and read_layout(tmp_path / "lay") == {"rel": digest}
    copy_archive(f"oci-archive:{theirs_oci}:rel", f"oci-archive:{tmp_path / 'again.tar'}")
    assert _inspect(sandbox, f"oci-archive:{tmp_path / 'again.tar'}:rel")["Digest"] == digest

    # docker-archive: the image skopeo saved, into our oci-archive and the emulator; skopeo agrees.
    theirs_view = _inspect(sandbox, f"docker-archive:{theirs_docker}")
    ours = tmp_path / "ours.tar"
    converted = copy_archive(f"docker-archive:{theirs_docker}", f"oci-archive:{ours}")
    assert converted.tag == "2"
    ours_view = _inspect(sandbox, f"oci-archive:{ours}:2")
    assert ours_view["Layers"] == theirs_view["Layers"] and ours_view["Labels"] == {"label": "skopeo-writes"}
    pushed = copy_archive(f"docker-archive:{theirs_docker}", f"{open_registry.endpoint}/arch/from-skopeo")
    got, manifest = manifest_of(open_registry, "arch/from-skopeo", "2")
    assert got == pushed.digest == converted.digest
    assert [layer["digest"] for layer in manifest["layers"]] == theirs_view["Layers"]
