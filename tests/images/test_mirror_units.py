"""Tag selection (regex, semver, newest-N), sync config parsing and shards: pure functions, no registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerregistry.images import SyncConfigError, TagFilter, load_sync_config
from containerregistry.images._mirror import SyncJob, in_shard, parse_shard, select_tags, semver_matches

TAGS = ["latest", "1.9.0", "1.10.0", "1.10.1", "2.0.0-rc.1", "2.0.0", "v2.1", "sha256-" + "a" * 64, "dev-x"]


@pytest.mark.parametrize(
    ("tag", "constraint", "expected"),
    [
        ("1.10.1", ">=1.10", True),
        ("1.9.0", ">=1.10", False),
        ("1.10.1", ">=1.10 <1.10.1", False),
        ("1.10.0", ">=1.10, <1.10.1", True),
        ("v2.1", "^2", True),
        ("2.0.0", "^1.9", False),
        ("1.10.1", "~1.10", True),
        ("1.11.0", "~1.10", False),
        ("0.3.5", "^0.3.1", True),
        ("0.4.0", "^0.3.1", False),
        ("1.2.7", "=1.2", True),
        ("2.0.0-rc.1", ">=1.0", False),
        ("latest", "*", False),
        ("3.0.0", "<2 || >=3", True),
        ("2.5.0", "<2 || >=3", False),
        ("1.10.0", ">= 1.10", True),
    ],
)
def test_semver_matches(tag: str, constraint: str, expected: bool) -> None:
    assert semver_matches(tag, constraint) is expected


def test_semver_prereleases_only_when_asked() -> None:
    assert semver_matches("2.0.0-rc.1", ">=2.0.0-rc.0", prerelease=True)
    assert not semver_matches(
        "2.0.0-rc.1", ">=2.0.0", prerelease=True
    )  # a prerelease sorts before its release


def test_malformed_constraints_and_patterns_are_refused_up_front() -> None:
    for bad in (">=banana", ">>1", "||"):
        with pytest.raises(SyncConfigError):
            TagFilter(semver=bad)
    with pytest.raises(SyncConfigError, match="regular expression"):
        TagFilter(regex="(")
    with pytest.raises(SyncConfigError, match="positive"):
        TagFilter(newest=0)


def test_select_tags() -> None:
    # Natural order without a filter (v2 before v10), never the referrers fallback tag.
    assert select_tags(["v10", "v2", "sha256-" + "b" * 64], None) == ["v2", "v10"]
    assert select_tags(TAGS, TagFilter(semver=">=1.10")) == ["1.10.0", "1.10.1", "2.0.0", "v2.1"]
    assert select_tags(TAGS, TagFilter(semver=">=1", newest=2)) == ["2.0.0", "v2.1"]
    assert select_tags(TAGS, TagFilter(regex=r"\d+\.\d+\.\d+", exclude=r".*-rc.*")) == [
        "1.9.0",
        "1.10.0",
        "1.10.1",
        "2.0.0",
    ]
    assert select_tags(TAGS, TagFilter(regex="dev-.*|latest")) == ["dev-x", "latest"]
    assert select_tags(TAGS, TagFilter(newest=1, regex="l.*")) == ["latest"]


def test_load_sync_config_json_and_yaml(tmp_path: Path) -> None:
    data = {
        "defaults": {"referrers": True, "platforms": ["linux/amd64"]},
        "image_concurrency": 3,
        "sync": [
            {"source": "a.example/x", "target": "b.example/x", "tags": {"semver": ">=1", "newest": 2}},
            {"source": "a.example/y", "target": "b.example/y", "tags": ["v1", "v2"], "referrers": False},
        ],
    }
    as_json = tmp_path / "mirror.json"
    as_json.write_text(json.dumps(data))
    config = load_sync_config(as_json)
    assert config.image_concurrency == 3 and config.concurrency == 4
    first, second = config.jobs
    assert first.referrers is True and first.platforms == ["linux/amd64"] and first.tags.newest == 2
    assert second.referrers is False and select_tags(["v1", "v2", "v3"], second.tags) == ["v1", "v2"]

    yaml = pytest.importorskip("yaml")
    as_yaml = tmp_path / "mirror.yaml"
    as_yaml.write_text(yaml.safe_dump(data))
    assert load_sync_config(as_yaml) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sync": []}, "non-empty list"),
        ({"sync": [{"source": "a/x"}]}, r"sync\[0\].target"),
        ({"sync": [{"source": "a/x", "target": "b/x", "tag": {}}]}, "unknown key"),
        ({"sync": [{"source": "a/x", "target": "b/x", "tags": {"semver": ">>1"}}]}, r"sync\[0\].tags"),
        ({"sync": [{"source": "a/x", "target": "b/x", "platforms": ["linux"]}]}, "platforms"),
        ({"sync": [{"source": "a/x", "target": "b/x"}], "concurrency": 0}, "concurrency"),
        ({"syncs": []}, "unknown top-level"),
    ],
)
def test_bad_configs_name_the_entry(tmp_path: Path, data: object, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SyncConfigError, match=message):
        load_sync_config(path)


def test_not_json_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    with pytest.raises(SyncConfigError, match="not valid JSON"):
        load_sync_config(path)


def test_shards_split_every_job_exactly_once_and_deterministically() -> None:
    jobs = [SyncJob(source=f"src.example/r{i}", target=f"dst.example/mirror/r{i}") for i in range(200)]
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(count) if in_shard(job, i, count)] for job in jobs]
        assert all(len(o) == 1 for o in owners)  # each job in exactly one shard
        sizes = [sum(1 for o in owners if o == [i]) for i in range(count)]
        assert min(sizes) > 200 / count / 2  # roughly balanced
    # Stable: the same on every machine and run (a hash of the target, not Python's salted hash()).
    assert [in_shard(jobs[0], i, 4) for i in range(4)] == [in_shard(jobs[0], i, 4) for i in range(4)]
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(SyncConfigError):
            parse_shard(bad)
