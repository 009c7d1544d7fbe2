"""prune against the emulator's ACR metadata API (sync and async)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from containerregistry._sync import ContainerRegistryClient, ContainerRegistryContentClient
from containerregistry.exceptions import ResourceNotFoundError
from tests.images.support import Ops, build_layout


def push_small_image(endpoint: str, repository: str, tag: str) -> str:
    """A one-layer image with random content under `tag`; returns its digest."""
    with ContainerRegistryContentClient(endpoint, repository) as client:
        config = json.dumps({"architecture": "amd64", "os": "linux", "n": tag}).encode()
        layer = os.urandom(1000)
        descriptors = []
        for data, media_type in (
            (config, "application/vnd.oci.image.config.v1+json"),
            (layer, "application/vnd.oci.image.layer.v1.tar"),
        ):
            uploaded = client.upload_blob(data)
            descriptors.append({"mediaType": media_type, "digest": uploaded.digest, "size": uploaded.size})
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptors[0],
            "layers": descriptors[1:],
        }
        return client.set_manifest(json.dumps(manifest).encode(), tag=tag).digest


def tags_of(endpoint: str, repository: str) -> list[str]:
    with ContainerRegistryContentClient(endpoint, repository) as client:
        return sorted(client.list_tags())


def test_prune_keeps_newest_skips_locked_and_takes_index_children(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    endpoint = registry_emulator.endpoint
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:multi")  # the oldest
    digests = {tag: push_small_image(endpoint, repo, tag) for tag in ("v1", "v2")}
    with ContainerRegistryClient(endpoint) as client:
        # Changing a lock updates a manifest's last-update time (as on ACR): lock before pushing newer ones.
        client.get_artifact(repo, digests["v2"]).update_manifest_properties(can_delete=False)
        client.get_artifact(repo, digests["v1"]).update_manifest_properties(can_write=False)
    digests.update({tag: push_small_image(endpoint, repo, tag) for tag in ("v3", "v4", "v5")})

    preview = ops.prune(endpoint, repo, keep=2, dry_run=True)

    assert preview.dry_run
    assert [m.digest for m in preview.deleted[:2]] == [digests["v3"], image.index_digest]
    assert sorted(m.digest for m in preview.deleted[2:]) == sorted(image.manifests.values())
    assert all(m.reason == f"platform manifest of {image.index_digest}" for m in preview.deleted[2:])
    assert [(m.tags, m.reason.split(" (lift with: ")[0]) for m in preview.skipped] == [
        (["v1"], "locked: manifest writeEnabled=false"),
        (["v2"], "locked: manifest deleteEnabled=false"),
    ]
    assert (
        f"creg manifest update {repo}@{preview.skipped[0].digest} --delete --write"
        in preview.skipped[0].reason
    )
    assert [(m.tags, m.reason) for m in preview.kept] == [
        (["v5"], "among the newest 2"),
        (["v4"], "among the newest 2"),
    ]
    assert tags_of(endpoint, repo) == ["multi", "v1", "v2", "v3", "v4", "v5"]  # nothing deleted

    done = ops.prune(endpoint, repo, keep=2)

    assert not done.dry_run
    assert [m.digest for m in done.deleted] == [m.digest for m in preview.deleted]
    assert tags_of(endpoint, repo) == ["v1", "v2", "v4", "v5"]
    with ContainerRegistryContentClient(endpoint, repo) as content:
        for digest in (image.index_digest, *image.manifests.values(), digests["v3"]):
            with pytest.raises(ResourceNotFoundError):
                content.get_manifest(digest)
        assert content.get_manifest(digests["v2"]).digest == digests["v2"]


def test_prune_tag_pattern_and_age(registry_emulator: Any, ops: Ops, repo: str) -> None:
    endpoint = registry_emulator.endpoint
    for tag in ("rc-1", "stable", "rc-2", "rc-3"):
        push_small_image(endpoint, repo, tag)

    protected = ops.prune(endpoint, repo, keep=1, tag_pattern="rc-*", older_than=timedelta(hours=1))
    assert protected.deleted == [] and protected.skipped == []
    assert sorted(m.reason for m in protected.kept) == sorted(
        [
            "among the newest 1",
            "no tag matches 'rc-*'",
            "updated within the last 1:00:00",
            "updated within the last 1:00:00",
        ]
    )

    done = ops.prune(endpoint, repo, keep=1, tag_pattern="rc-*", older_than=timedelta(0))
    assert [m.tags for m in done.deleted] == [["rc-2"], ["rc-1"]]  # newest first
    assert tags_of(endpoint, repo) == ["rc-3", "stable"]


def test_prune_keep_zero_deletes_everything_and_negative_is_refused(
    registry_emulator: Any, ops: Ops, repo: str
) -> None:
    endpoint = registry_emulator.endpoint
    for tag in ("a", "b"):
        push_small_image(endpoint, repo, tag)
    with pytest.raises(ValueError, match="keep must be 0 or more"):
        ops.prune(endpoint, repo, keep=-1)
    assert len(ops.prune(endpoint, repo, keep=0).deleted) == 2
    assert tags_of(endpoint, repo) == []


@pytest.mark.parametrize("lock", ["tag", "repository"])
def test_dry_run_reports_what_the_real_run_does_with_tag_and_repository_locks(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str, lock: str
) -> None:
    endpoint = registry_emulator.endpoint
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:multi")
    push_small_image(endpoint, repo, "v1")
    with ContainerRegistryClient(endpoint) as client:
        if lock == "tag":
            client.get_artifact(repo, "multi").update_tag_properties("multi", can_delete=False)
        else:
            client.get_repository(repo).update_properties(can_delete=False)

    preview = ops.prune(endpoint, repo, keep=0, dry_run=True)
    done = ops.prune(endpoint, repo, keep=0)

    def summary(result: Any) -> list[tuple[str, str, str]]:
        rows = [("deleted", m.digest, "") for m in result.deleted]
        rows += [("skipped", m.digest, m.reason.split(" (")[0]) for m in result.skipped]
        return sorted(rows + [("kept", m.digest, "") for m in result.kept])

    # The refusal is the same, by the same lock, in both runs: the real run never tries what it must not.
    assert summary(preview) == summary(done)
    skipped = {m.digest: m.reason for m in done.skipped}
    assert image.index_digest in skipped
    if lock == "tag":
        assert skipped[image.index_digest].startswith("locked: tag multi deleteEnabled=false")
        assert f"creg tag update {repo}:multi --delete --write" in skipped[image.index_digest]
    else:
        assert skipped[image.index_digest].startswith("locked: repository deleteEnabled=false")
        assert f"creg repo update {repo} --delete --write" in skipped[image.index_digest]
    # The locked index is whole: none of its platform manifests went.
    with ContainerRegistryContentClient(endpoint, repo) as content:
        for digest in image.manifests.values():
            assert content.get_manifest(digest).digest == digest
