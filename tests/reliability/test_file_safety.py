"""Files stay where they belong: downloads and OCI layouts never write through a planted link.

* `download_blob_to(path)` (sync and async) and `creg blob pull` write `<path>.partial` and rename it;
  a `<path>.partial` another local user planted as a symlink (or a hard link, FIFO...) to a victim file
  must never be opened for writing: the victim keeps its bytes and the error is an `UnsafePathError`.
  A plain stale `.partial` left by an interrupted download of ours is replaced, not refused.
* Pulling into an OCI layout whose `blobs/`, `blobs/sha256`, a blob file, `index.json` or `oci-layout` is
  a symlink is refused (`ImageLayoutError`) before anything is created or changed outside the layout.

All against the session emulator over loopback (real sockets), both client flavours.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry import UnsafePathError
from containerregistry.images import ImageLayoutError
from tests.cli.conftest import run_cli
from tests.reliability._emu_common import push_blob, push_image
from tests.support.adapter import ClientKind

pytestmark = pytest.mark.reliability

VICTIM = b"precious: must never be overwritten\n"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _download(kind: ClientKind, endpoint: str, repo: str, digest: str, path: Path) -> Any:
    with kind.adapt(kind.package.ContainerRegistryContentClient(endpoint, repo)) as client:
        return client.download_blob_to(digest, path)


@pytest.fixture
def blob(registry_emulator: Any) -> tuple[str, str, bytes]:
    repo = f"files/{os.urandom(4).hex()}"
    content = os.urandom(200_000)
    with httpx.Client(base_url=registry_emulator.endpoint, timeout=30) as http:
        push_blob(http, repo, content)
    return repo, _digest(content), content


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    outside = tmp_path / "home"
    outside.mkdir()
    path = outside / ".bashrc"
    path.write_bytes(VICTIM)
    return path


def test_download_blob_to_refuses_a_planted_partial_symlink(
    registry_emulator: Any,
    blob: tuple[str, str, bytes],
    victim: Path,
    tmp_path: Path,
    client_kind: ClientKind,
) -> None:
    repo, digest, _ = blob
    shared = tmp_path / "downloads"
    shared.mkdir()
    target = shared / "layer.tar"
    (shared / "layer.tar.partial").symlink_to(victim)
    with pytest.raises(UnsafePathError, match=r"layer\.tar\.partial .*symbolic link"):
        _download(client_kind, registry_emulator.endpoint, repo, digest, target)
    assert victim.read_bytes() == VICTIM
    assert not target.exists()
    # The planted link is left as it was (we only ever remove what we created).
    assert os.readlink(shared / "layer.tar.partial") == str(victim)


def test_download_blob_to_refuses_a_dangling_partial_symlink(
    registry_emulator: Any, blob: tuple[str, str, bytes], tmp_path: Path, client_kind: ClientKind
) -> None:
    """A link to a file that does not exist yet must not create that file either."""
    repo, digest, _ = blob
    planted = tmp_path / "home" / "new-file"
    planted.parent.mkdir()
    target = tmp_path / "layer.tar"
    (tmp_path / "layer.tar.partial").symlink_to(planted)
    with pytest.raises(UnsafePathError):
        _download(client_kind, registry_emulator.endpoint, repo, digest, target)
    assert not planted.exists() and not target.exists()


def test_download_blob_to_does_not_truncate_a_hard_linked_partial(
    registry_emulator: Any,
    blob: tuple[str, str, bytes],
    victim: Path,
    tmp_path: Path,
    client_kind: ClientKind,
) -> None:
    """A hard link looks like a stale partial file: its name is replaced, its content is not touched."""
    repo, digest, content = blob
    target = tmp_path / "layer.tar"
    os.link(victim, tmp_path / "layer.tar.partial")
    result = _download(client_kind, registry_emulator.endpoint, repo, digest, target)
    assert result.size == len(content) and target.read_bytes() == content
    assert victim.read_bytes() == VICTIM
    assert not (tmp_path / "layer.tar.partial").exists()


def test_download_blob_to_replaces_a_stale_partial_of_its_own(
    registry_emulator: Any, blob: tuple[str, str, bytes], tmp_path: Path, client_kind: ClientKind
) -> None:
    """An interrupted download (kill -9) leaves `<path>.partial`; the next download still succeeds."""
    repo, digest, content = blob
    target = tmp_path / "layer.tar"
    (tmp_path / "layer.tar.partial").write_bytes(b"half of an earlier download" * 1000)
    result = _download(client_kind, registry_emulator.endpoint, repo, digest, target)
    assert result.size == len(content) and target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer.tar"]


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_download_blob_to_refuses_a_non_regular_partial(
    registry_emulator: Any, blob: tuple[str, str, bytes], tmp_path: Path, kind: str
) -> None:
    repo, digest, _ = blob
    target = tmp_path / "layer.tar"
    partial = tmp_path / "layer.tar.partial"
    if kind == "fifo":
        os.mkfifo(partial)
    else:
        partial.mkdir()
    with pytest.raises(UnsafePathError, match="refusing to write through it"):
        _download(ClientKind("sync"), registry_emulator.endpoint, repo, digest, target)
    assert not target.exists() and partial.exists()


def test_creg_blob_pull_refuses_a_planted_partial_symlink(
    registry_emulator: Any, blob: tuple[str, str, bytes], victim: Path, tmp_path: Path
) -> None:
    repo, digest, _ = blob
    target = tmp_path / "layer.tar"
    (tmp_path / "layer.tar.partial").symlink_to(victim)
    result = run_cli("-r", registry_emulator.endpoint, "blob", "pull", f"{repo}@{digest}", str(target))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and "symbolic link" in result.stderr
    assert victim.read_bytes() == VICTIM
    assert not target.exists()


# -- OCI layouts ----------------------------------------------------------------------------------


@pytest.fixture
def image(registry_emulator: Any) -> tuple[str, list[bytes]]:
    repo = f"files/img-{os.urandom(4).hex()}"
    layers = [os.urandom(5000), os.urandom(7000)]
    with httpx.Client(base_url=registry_emulator.endpoint, timeout=30) as http:
        push_image(http, repo, "v1", layers)
    return f"{registry_emulator.login_server}/{repo}:v1", layers


def _pull(kind: ClientKind, source: str, layout: Path) -> Any:
    return kind.run(kind.images.pull_image(source, f"oci:{layout}:v1"))


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root`: file contents, link targets, and `<dir>` for directories."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[name] = "<dir>"
        else:
            found[name] = path.read_bytes()
    return found


def _prepare(kind: str, layout: Path, outside: Path, layers: list[bytes]) -> None:
    """A layout with one piece replaced by a symlink into `outside`."""
    layout.mkdir()
    if kind != "oci-layout":
        (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    if kind == "blobs":
        (layout / "blobs").symlink_to(outside)
    elif kind == "blobs/sha256":
        (layout / "blobs").mkdir()
        (layout / "blobs" / "sha256").symlink_to(outside)
    elif kind == "blob file":
        (layout / "blobs" / "sha256").mkdir(parents=True)
        (outside / "stolen").write_bytes(layers[0])
        (layout / "blobs" / "sha256" / _digest(layers[0])[7:]).symlink_to(outside / "stolen")
    elif kind == "index.json":
        (outside / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
        (layout / "index.json").symlink_to(outside / "index.json")
    elif kind == "oci-layout":
        (outside / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        (layout / "oci-layout").symlink_to(outside / "oci-layout")


@pytest.mark.parametrize("flavour", ["sync", "async"])  # (the order of the test ids: kind, then flavour)
@pytest.mark.parametrize("kind", ["blobs", "blobs/sha256", "blob file", "index.json", "oci-layout"])
def test_pull_into_a_layout_with_a_symlink_is_refused_before_writing_outside(
    image: tuple[str, list[bytes]], tmp_path: Path, client_kind: ClientKind, kind: str
) -> None:
    source, layers = image
    outside = tmp_path / "outside"
    outside.mkdir()
    layout = tmp_path / "layout"
    _prepare(kind, layout, outside, layers)
    before = _tree(outside)
    with pytest.raises(ImageLayoutError, match="symbolic link"):
        _pull(client_kind, source, layout)
    assert _tree(outside) == before
    # Nothing of the image landed in the layout either (no index.json naming it).
    index = layout / "index.json"
    assert kind == "index.json" or not index.exists()


def test_pull_into_a_clean_layout_still_works(
    image: tuple[str, list[bytes]], tmp_path: Path, client_kind: ClientKind
) -> None:
    source, layers = image
    layout = tmp_path / "layout"
    _pull(client_kind, source, layout)
    for layer in layers:
        assert (layout / "blobs" / "sha256" / _digest(layer)[7:]).read_bytes() == layer
    assert json.loads((layout / "index.json").read_bytes())["manifests"][0]["annotations"] == {
        "org.opencontainers.image.ref.name": "v1"
    }
