"""The async `pull_image` into an OCI layout keeps its event loop running while the disk is slow.

Against CNCF Distribution, with every `fsync` taking `STALL` seconds (a slow or busy filesystem), a ticker
task on the loop records how late its wake-ups are while an image is pulled into a new layout: the
`oci-layout` file, each blob, each manifest and `index.json` are fsynced and renamed, none of it on the loop;
and with every blob's partial file taking `STALL` seconds to create, none of them is created on the loop;
and `copy_archive` out of a `docker save` tar writes each blob's bytes on a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from containerregistry import images
from containerregistry.aio import images as aio_images
from tests.support.loop import slow_partial_opens, worst_lag

from .support import build_layout

STALL = 0.2  # seconds one fsync takes


def test_pull_into_a_layout_on_a_slow_disk_does_not_stall_the_loop(
    distribution: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build_layout(
        tmp_path / "src", platforms=("linux/amd64",), layer_size=64_000, layers_per_platform=3
    )
    reference = f"{distribution.host}/t/loop-layout:1.0"
    images.push_image(f"oci:{tmp_path / 'src'}:1.0", reference)

    fsync = os.fsync
    fsync_threads: list[int] = []

    def slow_fsync(fd: int) -> None:
        fsync_threads.append(threading.get_ident())
        time.sleep(STALL)
        fsync(fd)

    target = tmp_path / "pulled"

    async def main() -> tuple[float, int]:
        monkeypatch.setattr(os, "fsync", slow_fsync)
        try:
            worst = await worst_lag(aio_images.pull_image(reference, f"oci:{target}:1.0"))
        finally:
            monkeypatch.setattr(os, "fsync", fsync)
        return worst, threading.get_ident()

    worst, loop_thread = asyncio.run(main())

    index = json.loads((target / "index.json").read_text())
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]] == ["1.0"]
    for digest in built.blobs:
        assert (target / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == built.blobs[digest]
    # oci-layout, 5 blobs, 2 manifests and index.json: each file (and its directory) is fsynced.
    assert len(fsync_threads) >= 9
    assert loop_thread not in fsync_threads, "an fsync ran on the event loop"
    assert worst < STALL / 2, f"the loop stalled {worst:.3f} s while the layout was written"


def test_pull_creates_its_blob_files_off_the_loop(
    distribution: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creating each blob's partial file (and its directories) can wait on a busy file system: not on the loop."""
    built = build_layout(
        tmp_path / "src", platforms=("linux/amd64",), layer_size=64_000, layers_per_platform=3
    )
    reference = f"{distribution.host}/t/loop-layout-open:1.0"
    images.push_image(f"oci:{tmp_path / 'src'}:1.0", reference)

    target = tmp_path / "pulled"

    async def main() -> tuple[float, int, list[int]]:
        with monkeypatch.context() as patch:
            openers = slow_partial_opens(patch, STALL, within="blobs")
            worst = await worst_lag(aio_images.pull_image(reference, f"oci:{target}:1.0"))
        return worst, threading.get_ident(), openers

    worst, loop_thread, openers = asyncio.run(main())
    for digest in built.blobs:
        assert (target / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == built.blobs[digest]
    assert len(openers) >= 4, "the pull created fewer blob files than the image has layers and config"
    assert loop_thread not in openers, "a blob's partial file was created on the event loop"
    assert worst < STALL / 2, f"the loop stalled {worst:.3f} s while blob files were created"


@pytest.mark.parametrize("target_kind", ["oci", "oci-archive"])
def test_an_archive_copy_moves_its_blobs_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_kind: str
) -> None:
    """`copy_archive` from a `docker save` tar into a layout or another archive: each blob's bytes are read
    and written on a worker thread, so a slow disk does not stall the loop."""
    from containerregistry.images import _archive, _layout
    from tests.support.archives import docker_save

    saved = docker_save(tmp_path / "saved.tar")
    writers: list[int] = []

    def slowed(real: Any) -> Any:
        def write(self: Any, chunk: bytes) -> Any:
            writers.append(threading.get_ident())
            time.sleep(STALL / 4)
            return real(self, chunk)

        return write

    monkeypatch.setattr(_layout.LayoutBlobWriter, "write", slowed(_layout.LayoutBlobWriter.write))
    monkeypatch.setattr(_archive._BlobSink, "write", slowed(_archive._BlobSink.write))
    target = (
        f"oci:{tmp_path / 'layout'}:v1" if target_kind == "oci" else f"oci-archive:{tmp_path / 'out.tar'}"
    )

    async def main() -> tuple[float, int]:
        worst = await worst_lag(aio_images.copy_archive(f"docker-archive:{saved.path}", target))
        return worst, threading.get_ident()

    worst, loop_thread = asyncio.run(main())
    assert len(writers) >= 3, "the copy wrote fewer blob chunks than the image has blobs"
    assert loop_thread not in writers, "a blob was written on the event loop"
    assert worst < STALL / 8, f"the loop stalled {worst:.3f} s while the blobs were copied"
