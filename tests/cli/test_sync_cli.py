"""`creg copy --all-tags` and `creg sync`: CliRunner and subprocess, emulator and Distribution."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.images.test_inspect_and_tags import push_sample

from .conftest import run_cli, run_creg


@pytest.fixture(params=["emulator-to-distribution", "distribution-to-emulator"])
def sides(request: pytest.FixtureRequest) -> tuple[str, str]:
    emulator = str(request.getfixturevalue("registry_emulator").endpoint)
    distribution = str(request.getfixturevalue("distribution").endpoint)
    if request.param == "emulator-to-distribution":
        return emulator, distribution
    return distribution, emulator


def _digest(endpoint: str, ref: str) -> str:
    result = run_cli("-r", endpoint, "digest", ref)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def test_copy_all_tags(sides: tuple[str, str]) -> None:
    src, dst = sides
    repo = f"alltags-{secrets.token_hex(3)}"
    sample = push_sample(src, repo, "v1")
    first = run_cli("-o", "json", "copy", "--all-tags", f"{src}/{repo}", f"{dst}/mirror/{repo}")
    assert first.exit_code == 0, first.stderr
    assert {i["tag"]: i["action"] for i in json.loads(first.stdout)} == {"v1": "copied", "v1-arm64": "copied"}
    assert "copied 2, up to date 0, failed 0 of 2 tag(s)" in first.stderr
    assert _digest(dst, f"mirror/{repo}:v1") == sample["index"]
    again = run_cli("copy", "--all-tags", f"{src}/{repo}", f"{dst}/mirror/{repo}")
    assert again.exit_code == 0 and "copied 0, up to date 2" in again.stderr
    with_tag = run_cli("copy", "--all-tags", f"{src}/{repo}:v1", f"{dst}/mirror/{repo}")
    assert with_tag.exit_code == 2 and "without a tag" in with_tag.stderr


def test_copy_all_tags_reports_a_failed_tag_and_copies_the_others(
    registry_emulator: Any, distribution: Any
) -> None:
    src, dst = distribution.endpoint, registry_emulator.endpoint
    repo = f"alltags-{secrets.token_hex(3)}"
    push_sample(src, repo, "v1")
    assert run_cli("copy", f"{src}/{repo}:v1", f"{dst}/locked/{repo}:v1-arm64").exit_code == 0
    # Lock the target tag v1-arm64 against writes (ACR metadata API of the emulator), with another digest.
    assert run_cli("-r", dst, "tag", "update", f"locked/{repo}:v1-arm64", "--no-write").exit_code == 0
    result = run_cli("copy", "--all-tags", f"{src}/{repo}", f"{dst}/locked/{repo}")
    assert result.exit_code == 1
    assert "failed 1 of 2" in result.stderr and "a re-run resumes" in result.stderr
    assert _digest(dst, f"locked/{repo}:v1") == _digest(src, f"{repo}:v1")


def _config(tmp_path: Path, src: str, dst: str, repos: list[str], suffix: str) -> Path:
    data = {
        "defaults": {"tags": {"regex": r"v\d+"}},
        "image_concurrency": 2,
        "sync": [{"source": f"{src}/{r}", "target": f"{dst}/synced/{r}"} for r in repos],
    }
    path = tmp_path / f"mirror{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        yaml = pytest.importorskip("yaml")
        path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_sync_dry_run_report_and_resume(sides: tuple[str, str], tmp_path: Path, suffix: str) -> None:
    src, dst = sides
    repos = [f"sync-{secrets.token_hex(3)}-{i}" for i in range(3)]
    for repo in repos:
        push_sample(src, repo, "v1")
    config = _config(tmp_path, src, dst, repos, suffix)

    dry = run_cli("sync", str(config), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "would copy 3, up to date 0, failed 0 of 3 tag(s)" in dry.stderr
    assert run_cli("-r", dst, "digest", f"synced/{repos[0]}:v1").exit_code == 1  # nothing written

    # The first of two shards, then everything: the second run copies only what the shard did not.
    shard = run_cli("sync", str(config), "--shard", "0/2")
    assert shard.exit_code == 0, shard.stderr
    done_by_shard = shard.stderr.count("copied: ")
    report_file = tmp_path / "report.json"
    full = run_cli("-o", "json", "sync", str(config), "--report", str(report_file))
    assert full.exit_code == 0, full.stderr
    report = json.loads(report_file.read_text())
    assert report == json.loads(full.stdout) and report["ok"] is True and report["dry_run"] is False
    flat = [item for result in report["results"] for item in result["items"]]
    assert sorted(i["action"] for i in flat).count("up-to-date") == done_by_shard
    assert sum(1 for i in flat if i["action"] == "copied") == 3 - done_by_shard
    for repo in repos:
        assert _digest(dst, f"synced/{repo}:v1") == _digest(src, f"{repo}:v1")


def test_sync_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"sync": [{"source": "a.example/x"}]}))
    result = run_cli("sync", str(path))
    assert result.exit_code == 2 and "sync[0].target" in result.stderr
    bad_shard = tmp_path / "ok.json"
    bad_shard.write_text(json.dumps({"sync": [{"source": "a.example/x", "target": "b.example/x"}]}))
    assert run_cli("sync", str(bad_shard), "--shard", "2/2").exit_code == 2


def test_sync_end_to_end_subprocess(sides: tuple[str, str], tmp_path: Path) -> None:
    src, dst = sides
    repos = [f"sync-e2e-{secrets.token_hex(3)}"]
    push_sample(src, repos[0], "v1")
    config = _config(tmp_path, src, dst, repos, ".json")
    done = run_creg("sync", str(config))
    assert done.returncode == 0, done.stderr
    assert b"copied 1, up to date 0, failed 0 of 1 tag(s)" in done.stderr
    again = run_creg("sync", str(config))
    assert again.returncode == 0 and b"copied 0, up to date 1" in again.stderr


def test_sync_report_replaces_a_planted_link_instead_of_writing_through_it(
    registry_emulator: Any, tmp_path: Path
) -> None:
    # The report is written atomically (_files.write_atomic): a symlink planted at its name in a shared
    # directory is replaced, and the file it points at (here a stand-in for ~/.bashrc) is left alone.
    endpoint = str(registry_emulator.endpoint)
    repo = f"sync-link-{secrets.token_hex(3)}"
    push_sample(endpoint, repo, "v1")
    config = _config(tmp_path, endpoint, endpoint, [repo], ".json")
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    report_file = tmp_path / "report.json"
    report_file.symlink_to(precious)
    result = run_cli("sync", str(config), "--dry-run", "--report", str(report_file))
    assert result.exit_code == 0, result.stderr
    assert precious.read_text() == "keep me\n"
    assert not report_file.is_symlink() and json.loads(report_file.read_text())["dry_run"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror.json", "precious", "report.json"]
