"""Lock errors name the lock (repository, manifest or tag; which flag) and the command that lifts it;
a push onto a write-locked tag or repository is refused before any blob is uploaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containerregistry.exceptions import OperationNotAllowedError
from containerregistry.images import push_image

from .conftest import Layout, make_layout, run_cli, unique


def _push(endpoint: str, layout: Layout, target: str) -> Any:
    return run_cli("-r", endpoint, "push", f"oci:{layout.path}:{layout.tag}", target)


@pytest.mark.parametrize("lock", ["tag", "repository"])
def test_push_onto_a_locked_target_uploads_nothing(
    registry_emulator: Any, layout: Layout, tmp_path: Path, lock: str
) -> None:
    endpoint = registry_emulator.endpoint
    repo = unique("locked")
    assert _push(endpoint, layout, f"{repo}:v1").exit_code == 0
    if lock == "tag":
        assert run_cli("-r", endpoint, "tag", "update", f"{repo}:v1", "--no-write").exit_code == 0
    else:
        assert run_cli("-r", endpoint, "repo", "update", repo, "--no-write").exit_code == 0
    other = make_layout(tmp_path / "other")
    result = _push(endpoint, other, f"{repo}:v1")
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    if lock == "tag":
        assert f"tag {registry_emulator.login_server}/{repo}:v1 is locked (writeEnabled=false)" in line
        assert f"creg tag update {repo}:v1 --write" in line
    else:
        assert f"repository {registry_emulator.login_server}/{repo} is locked (writeEnabled=false)" in line
        assert f"creg repo update {repo} --write" in line
    # No blob of the new image went up (before: all of them, then the manifest PUT was refused).
    for digest in other.blobs:
        if digest == other.digest:
            continue
        exists = run_cli("-r", endpoint, "blob", "exists", f"{repo}@{digest}")
        if digest not in layout.blobs:
            assert exists.stdout.strip() == "false", digest
    # The library says the same, sync.
    with pytest.raises(OperationNotAllowedError, match="is locked"):
        push_image(f"oci:{other.path}:{other.tag}", f"{registry_emulator.login_server}/{repo}:v1")


def test_pushing_the_same_image_onto_its_locked_tag_is_fine(registry_emulator: Any, layout: Layout) -> None:
    endpoint = registry_emulator.endpoint
    repo = unique("locked")
    assert _push(endpoint, layout, f"{repo}:v1").exit_code == 0
    assert run_cli("-r", endpoint, "tag", "update", f"{repo}:v1", "--no-write").exit_code == 0
    result = _push(endpoint, layout, f"{repo}:v1")
    assert result.exit_code == 0, result.stderr


def test_refused_deletes_name_the_lock(registry_emulator: Any, layout: Layout) -> None:
    endpoint = registry_emulator.endpoint
    repo = unique("locked")
    assert _push(endpoint, layout, f"{repo}:v1").exit_code == 0
    assert run_cli("-r", endpoint, "tag", "update", f"{repo}:v1", "--no-delete").exit_code == 0
    result = run_cli("-r", endpoint, "tag", "rm", f"{repo}:v1")
    assert result.exit_code == 1
    assert (
        f"tag {repo}:v1 is locked (deleteEnabled=false); lift with: creg tag update {repo}:v1 --delete"
        in (result.stderr)
    )
    result = run_cli("-r", endpoint, "manifest", "rm", f"{repo}:v1")
    assert result.exit_code == 1
    assert f"creg tag update {repo}:v1 --delete" in result.stderr
    assert run_cli("-r", endpoint, "tag", "update", f"{repo}:v1", "--delete").exit_code == 0
    assert run_cli("-r", endpoint, "manifest", "update", f"{repo}:v1", "--no-delete").exit_code == 0
    result = run_cli("-r", endpoint, "manifest", "rm", f"{repo}:v1")
    assert f"manifest {repo}@{layout.digest} is locked (deleteEnabled=false)" in result.stderr
    assert f"creg manifest update {repo}@{layout.digest} --delete" in result.stderr
    assert run_cli("-r", endpoint, "repo", "update", repo, "--no-delete").exit_code == 0
    result = run_cli("-r", endpoint, "repo", "rm", repo)
    assert result.exit_code == 1
    assert (
        f"repository {repo} is locked (deleteEnabled=false); lift with: creg repo update {repo} --delete"
        in (result.stderr)
    )
    assert len(result.stderr.strip().splitlines()) == 1
