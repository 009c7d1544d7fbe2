"""Library `mirror_repository` and `sync_mirrors`, sync and async, between the emulator and Distribution."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.images import SyncConfig, SyncJob, TagFilter
from containerregistry.images import attach_artifact as attach
from tests.images.support import run
from tests.images.test_inspect_and_tags import push_sample
from tests.support.adapter import ClientKind
from tests.support.faults import PlannedFault, run_fault_proxy


@pytest.fixture(params=["emulator-to-distribution", "distribution-to-emulator"])
def sides(request: pytest.FixtureRequest) -> tuple[str, str]:
    emulator = str(request.getfixturevalue("registry_emulator").endpoint)
    distribution = str(request.getfixturevalue("distribution").endpoint)
    if request.param == "emulator-to-distribution":
        return emulator, distribution
    return distribution, emulator


def digest_of(endpoint: str, repo: str, tag: str) -> str | None:
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        try:
            return client.get_manifest(tag).digest
        except Exception:
            return None


def actions(result: Any) -> dict[str, str]:
    return {item.tag: item.action for item in result.items}


def test_mirror_is_incremental_and_dry_run_writes_nothing(
    sides: tuple[str, str], client_kind: ClientKind
) -> None:
    src, dst = sides
    repo = f"mirror/{client_kind.flavour}-{secrets.token_hex(3)}"
    samples = {tag: push_sample(src, repo, tag) for tag in ("1.0.0", "1.1.0")}  # also tags 1.x.0-arm64
    source, target = f"{src}/{repo}", f"{dst}/copy/{repo}"

    planned = run(client_kind, "mirror_repository", source, target, dry_run=True)
    assert actions(planned) == {t: "would copy" for t in ("1.0.0", "1.0.0-arm64", "1.1.0", "1.1.0-arm64")}
    assert digest_of(dst, f"copy/{repo}", "1.0.0") is None

    first = run(client_kind, "mirror_repository", source, target, tags=TagFilter(semver=">=1"))
    assert actions(first) == {"1.0.0": "copied", "1.1.0": "copied"}, [i.error for i in first.items]
    for tag, sample in samples.items():
        assert digest_of(dst, f"copy/{repo}", tag) == sample["index"]
    assert all(item.blobs_copied > 0 for item in first.items)

    again = run(client_kind, "mirror_repository", source, target, tags=TagFilter(semver=">=1"))
    assert actions(again) == {"1.0.0": "up-to-date", "1.1.0": "up-to-date"}

    push_sample(src, repo, "1.2.0")
    newest = run(client_kind, "mirror_repository", source, target, tags=TagFilter(semver=">=1", newest=2))
    assert actions(newest) == {"1.1.0": "up-to-date", "1.2.0": "copied"}


def test_platform_filtered_mirror_is_up_to_date_on_rerun(
    sides: tuple[str, str], client_kind: ClientKind
) -> None:
    src, dst = sides
    repo = f"mirror/{client_kind.flavour}-{secrets.token_hex(3)}"
    sample = push_sample(src, repo, "v1")
    source, target = f"{src}/{repo}", f"{dst}/plat/{repo}"
    first = run(client_kind, "mirror_repository", source, target, tags=["v1"], platforms=["linux/arm64"])
    assert actions(first) == {"v1": "copied"}
    copied = digest_of(dst, f"plat/{repo}", "v1")
    assert copied is not None and copied != sample["index"]  # a new index with one platform
    again = run(client_kind, "mirror_repository", source, target, tags=["v1"], platforms=["linux/arm64"])
    assert actions(again) == {"v1": "up-to-date"}


def test_new_referrers_make_a_tag_copy_again(
    sides: tuple[str, str], client_kind: ClientKind, tmp_path: Path
) -> None:
    src, dst = sides
    repo = f"mirror/{client_kind.flavour}-{secrets.token_hex(3)}"
    push_sample(src, repo, "v1")
    note = tmp_path / "sbom.json"
    note.write_text("{}")
    source, target = f"{src}/{repo}", f"{dst}/refs/{repo}"
    with ContainerRegistryContentClient(src, repo, None) as client:
        attach(client, "v1", [note], artifact_type="application/spdx+json")
    assert actions(
        run(client_kind, "mirror_repository", source, target, tags=["v1"], include_referrers=True)
    ) == {"v1": "copied"}
    assert actions(
        run(client_kind, "mirror_repository", source, target, tags=["v1"], include_referrers=True)
    ) == {"v1": "up-to-date"}
    with ContainerRegistryContentClient(src, repo, None) as client:
        sig = attach(client, "v1", [note], artifact_type="application/vnd.example.sig")
    assert actions(
        run(client_kind, "mirror_repository", source, target, tags=["v1"], include_referrers=True)
    ) == {"v1": "copied"}
    assert digest_of(dst, f"refs/{repo}", sig.digest) == sig.digest


def test_sync_mirrors_runs_its_shard_and_reports_unreadable_sources(
    sides: tuple[str, str], client_kind: ClientKind
) -> None:
    src, dst = sides
    repos = [f"sync/{client_kind.flavour}-{secrets.token_hex(3)}-{i}" for i in range(4)]
    for repo in repos:
        push_sample(src, repo, "v1")
    jobs = [SyncJob(source=f"{src}/{r}", target=f"{dst}/m/{r}", tags=TagFilter(regex="v1")) for r in repos]
    jobs.append(SyncJob(source=f"{src}/sync/absent-{secrets.token_hex(3)}", target=f"{dst}/m/absent"))
    config = SyncConfig(jobs=jobs)
    seen: list[str] = []
    for index in range(2):
        report = run(client_kind, "sync_mirrors", config, shard=(index, 2))
        seen += [r.target for r in report.results]
        assert report.shard == f"{index}/2" and report.jobs_total == 5
    assert sorted(seen) == sorted(
        job.target.split("://", 1)[1] for job in jobs
    )  # every job exactly once over the shards
    whole = run(client_kind, "sync_mirrors", config)
    assert not whole.ok
    broken = [r for r in whole.results if r.error]
    assert [r.target for r in broken] == [f"{dst.split('://', 1)[1]}/m/absent"] and "absent" in (
        broken[0].error or ""
    )
    assert whole.count("up-to-date") == 4


#: What CNCF Distribution answers a manifest PUT when two concurrent uploads of one blob lost it.
_BLOB_LOST = PlannedFault(
    "status",
    method="PUT",
    path="/manifests/",
    status=400,
    body=b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}',
)


def test_a_blob_lost_by_the_target_is_uploaded_again(
    distribution: Any, registry_emulator: Any, client_kind: ClientKind
) -> None:
    repo = f"mirror/{client_kind.flavour}-{secrets.token_hex(3)}"
    sample = push_sample(registry_emulator.endpoint, repo, "v1")
    # A proxy in front of the real registry answers the first manifest PUT as Distribution does then.
    with run_fault_proxy(distribution.port, plan=[_BLOB_LOST]) as proxy:
        result = run(
            client_kind,
            "mirror_repository",
            f"{registry_emulator.endpoint}/{repo}",
            f"{proxy.endpoint}/lost/{repo}",
            tags=["v1"],
        )
    assert proxy.faults["status_400"] == 1
    assert actions(result) == {"v1": "copied"}, [i.error for i in result.items]
    assert digest_of(distribution.endpoint, f"lost/{repo}", "v1") == sample["index"]
