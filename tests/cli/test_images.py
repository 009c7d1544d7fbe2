"""push, pull, copy and prune through CliRunner, against the emulator and Distribution."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Layout, make_layout, run_cli, unique


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _assert_layout_holds(path: Path, tag: str, original: Layout) -> None:
    index = json.loads((path / "index.json").read_text())
    entries = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    assert [e["digest"] for e in entries] == [original.digest]
    for digest, content in original.blobs.items():
        stored = (path / "blobs" / "sha256" / digest[7:]).read_bytes()
        assert stored == content and "sha256:" + hashlib.sha256(stored).hexdigest() == digest


@pytest.mark.parametrize("registry", ["registry_emulator", "distribution"])
def test_push_pull_round_trip(
    registry: str, request: pytest.FixtureRequest, layout: Layout, tmp_path: Path
) -> None:
    target = request.getfixturevalue(registry)
    repo = unique("img")
    pushed = _json(
        run_cli("-r", target.endpoint, "-o", "json", "push", f"oci:{layout.path}:v1", f"{repo}:v1")
    )
    assert pushed["digest"] == layout.digest
    # 3 shared + own layers and configs: each blob moved once.
    assert pushed["blobs_copied"] == 5 and pushed["manifests"] == 3

    again = _json(run_cli("-r", target.endpoint, "-o", "json", "push", f"oci:{layout.path}:v1", f"{repo}:v1"))
    assert again["blobs_copied"] == 0 and again["blobs_skipped"] == 5

    out = tmp_path / "pulled"
    pulled = _json(run_cli("-r", target.endpoint, "-o", "json", "pull", f"{repo}:v1", f"oci:{out}:latest"))
    assert pulled["digest"] == layout.digest
    _assert_layout_holds(out, "latest", layout)


def test_push_reports_on_stderr_and_prints_a_table(registry_emulator: Any, layout: Layout) -> None:
    result = run_cli(
        "-r", registry_emulator.endpoint, "push", f"oci:{layout.path}:v1", f"{unique('table')}:v1"
    )
    assert result.exit_code == 0, result.stderr
    assert layout.digest in result.stdout and "blobs_copied" in result.stdout
    assert result.stderr.startswith("push: ")
    # stderr is not a terminal: no progress bar drawing characters.
    assert "━" not in result.stderr


def test_copy_between_the_emulator_and_distribution_both_ways(
    registry_emulator: Any, distribution: Any, layout: Layout
) -> None:
    repo = unique("copy")
    assert (
        run_cli("-r", registry_emulator.endpoint, "push", f"oci:{layout.path}:v1", f"{repo}:v1").exit_code
        == 0
    )
    there = f"{distribution.host}/{repo}:v1"
    copied = _json(run_cli("-r", registry_emulator.endpoint, "-o", "json", "copy", f"{repo}:v1", there))
    assert copied["digest"] == layout.digest and copied["blobs_copied"] == 5
    back = f"{registry_emulator.login_server}/{repo}-back:v1"
    returned = _json(run_cli("-o", "json", "copy", there, back))
    assert returned["digest"] == layout.digest
    got = run_cli("-r", registry_emulator.endpoint, "manifest", "get", f"{repo}-back:v1")
    assert "sha256:" + hashlib.sha256(got.stdout_bytes).hexdigest() == layout.digest


def test_copy_within_one_registry_mounts(registry_emulator: Any, layout: Layout) -> None:
    r = registry_emulator.endpoint
    repo = unique("mount")
    assert run_cli("-r", r, "push", f"oci:{layout.path}:v1", f"{repo}:v1").exit_code == 0
    copied = _json(run_cli("-r", r, "-o", "json", "copy", f"{repo}:v1", f"{repo}-mirror:v1"))
    assert copied["blobs_mounted"] == 5 and copied["blobs_copied"] == 0


def test_copy_with_a_platform_filter(registry_emulator: Any, layout: Layout, tmp_path: Path) -> None:
    out = tmp_path / "amd64"
    copied = _json(
        run_cli("-o", "json", "copy", f"oci:{layout.path}:v1", f"oci:{out}:v1", "--platform", "linux/amd64")
    )
    assert copied["platform_filtered"] is True
    index = json.loads((out / "blobs" / "sha256" / copied["digest"][7:]).read_bytes())
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64"]


def test_pull_of_an_unknown_tag_fails_cleanly(registry_emulator: Any, tmp_path: Path) -> None:
    out = tmp_path / "nothing"
    result = run_cli("-r", registry_emulator.endpoint, "pull", f"{unique('none')}:v1", f"oci:{out}:v1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not (out / "index.json").exists()


def test_push_needs_a_layout_that_exists(registry_emulator: Any, tmp_path: Path) -> None:
    result = run_cli("-r", registry_emulator.endpoint, "push", f"oci:{tmp_path / 'absent'}:v1", "app:v1")
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


def test_prune_keeps_the_newest(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    r = registry_emulator.endpoint
    repo = unique("prune")
    digests = [push_manifest(r, repo, f"v{i}") for i in range(1, 6)]

    dry = _json(run_cli("-r", r, "-o", "json", "prune", repo, "--keep", "3", "--dry-run"))
    assert dry["dry_run"] is True
    assert {m["digest"] for m in dry["deleted"]} == set(digests[:2])
    assert len(_json(run_cli("-r", r, "-o", "json", "manifest", "ls", repo))) == 5

    # An age filter that protects everything pushed just now.
    young = _json(run_cli("-r", r, "-o", "json", "prune", repo, "--keep", "0", "--older-than", "1d"))
    assert young["deleted"] == []

    table = run_cli("-r", r, "prune", repo, "--keep", "3")
    assert table.exit_code == 0, table.stderr
    assert "deleted 2" in table.stderr
    left = _json(run_cli("-r", r, "-o", "json", "manifest", "ls", repo))
    assert {m["digest"] for m in left} == set(digests[2:])


def test_layout_helper_is_what_we_think(tmp_path: Path) -> None:
    layout = make_layout(tmp_path / "x")
    assert len(layout.blobs) == 8  # 1 shared layer, 2 configs, 2 own layers, 2 manifests, 1 index
