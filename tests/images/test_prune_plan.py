"""plan_prune with plain tables: no sockets, no registry (the rules of `prune`'s docstring)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from containerregistry.images._prune_plan import (
    PruneLocks,
    PrunePlan,
    plan_prune,
    repository_lock,
    tag_lock,
)
from containerregistry.protocol.acr import ArtifactManifestPlatform, ArtifactManifestProperties

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
REPO = "app"


def m(
    name: str,
    hours_ago: float | None,
    *tags: str,
    refs: tuple[str, ...] = (),
    can_delete: bool | None = True,
    can_write: bool | None = True,
) -> ArtifactManifestProperties:
    """A listed manifest `sha256:<name>` last updated `hours_ago` before NOW (None: unknown)."""
    return ArtifactManifestProperties(
        digest=f"sha256:{name}",
        last_updated_on=None if hours_ago is None else NOW - timedelta(hours=hours_ago),
        tags=list(tags),
        related_artifacts=[ArtifactManifestPlatform(digest=f"sha256:{r}") for r in refs],
        can_delete=can_delete,
        can_write=can_write,
    )


def names(entries: Any) -> list[str]:
    return [e.digest.removeprefix("sha256:") for e in entries]


def table(entries: Any) -> list[tuple[str, str]]:
    return [(e.digest.removeprefix("sha256:"), e.reason.split(" (lift with: ")[0]) for e in entries]


def plan(manifests: list[ArtifactManifestProperties], **kwargs: Any) -> PrunePlan:
    kwargs.setdefault("keep", 0)
    return plan_prune(manifests, repository=REPO, now=NOW, **kwargs)


def run(p: PrunePlan, fail: dict[str, str] | None = None, *, dry_run: bool = False) -> Any:
    """Execute the plan as the engine does (wave by wave, only ready steps), `fail`ing the given names."""
    fail = fail or {}
    outcomes: dict[str, str | None] = {}
    tried: list[list[str]] = []
    for wave in p.waves():
        ready = [s for s in wave if p.ready(s, outcomes)]
        if ready:
            tried.append(names(ready))
        for step in reversed(ready):  # finishing in any order gives the same result
            outcomes[step.digest] = fail.get(step.digest.removeprefix("sha256:"))
    return p.result(outcomes, dry_run=dry_run), tried


# A listing newest first: three images, an index with two platform manifests, and the oldest image.
LISTING = [
    m("v5", 1, "v5"),
    m("v4", 2, "v4"),
    m("v3", 3, "v3"),
    m("idx", 4, "multi", refs=("amd", "arm")),
    m("amd", 4),
    m("arm", 4),
    m("v1", 5, "v1"),
]


def test_the_newest_keep_stay_the_rest_go_newest_first_with_platform_manifests_after_their_index() -> None:
    p = plan(LISTING, keep=2)
    result, tried = run(p)
    assert table(result.kept) == [("v5", "among the newest 2"), ("v4", "among the newest 2")]
    assert table(result.deleted) == [
        ("v3", ""),
        ("idx", ""),
        ("amd", "platform manifest of sha256:idx"),
        ("arm", "platform manifest of sha256:idx"),
        ("v1", ""),
    ]
    assert result.skipped == [] and not result.dry_run
    # The platform manifests are deleted only after their index: a second wave.
    assert tried == [["v3", "idx", "v1"], ["amd", "arm"]]


def test_platform_manifests_are_not_counted_and_stay_with_a_kept_index() -> None:
    p = plan(LISTING, keep=4)
    result, tried = run(p)
    assert names(result.kept) == ["v5", "v4", "v3", "idx", "amd", "arm"]
    assert table(result.kept)[-2:] == [
        ("amd", "referenced by sha256:idx"),
        ("arm", "referenced by sha256:idx"),
    ]
    assert names(result.deleted) == ["v1"] and tried == [["v1"]]


def test_keep_zero_deletes_every_candidate_and_negative_is_refused() -> None:
    result, _ = run(plan(LISTING, keep=0))
    assert sorted(names(result.deleted)) == sorted(names(LISTING)) and result.kept == []
    with pytest.raises(ValueError, match="keep must be 0 or more"):
        plan(LISTING, keep=-1)


def test_a_platform_manifest_another_staying_manifest_refers_to_stays() -> None:
    listing = [
        m("new", 1, "new", refs=("shared",)),
        m("old", 2, "old", refs=("shared", "own")),
        m("shared", 2),
        m("own", 2),
    ]
    result, _ = run(plan(listing, keep=1))
    assert names(result.deleted) == ["old", "own"]
    assert table(result.kept) == [("new", "among the newest 1"), ("shared", "referenced by sha256:new")]


def test_an_index_the_registry_refused_keeps_its_platform_manifests() -> None:
    p = plan(LISTING, keep=3)
    result, tried = run(p, {"idx": "the registry refused: locked meanwhile"})
    assert table(result.skipped) == [("idx", "the registry refused: locked meanwhile")]
    assert table(result.kept)[-2:] == [
        ("amd", "referenced by sha256:idx, which stays"),
        ("arm", "referenced by sha256:idx, which stays"),
    ]
    assert names(result.deleted) == ["v1"]
    assert tried == [["idx", "v1"]]  # the platform manifests were never tried


def test_a_platform_manifest_shared_by_two_indexes_goes_only_when_both_went() -> None:
    listing = [
        m("keepme", 1, "keepme"),
        m("a", 2, "a", refs=("shared", "a-own")),
        m("b", 3, "b", refs=("shared",)),
        m("shared", 3),
        m("a-own", 3),
    ]
    p = plan(listing, keep=1)
    ok, tried = run(p)
    assert names(ok.deleted) == ["a", "shared", "a-own", "b"]
    assert tried == [["a", "b"], ["shared", "a-own"]]
    # b refused: a and its own platform manifest go, the shared one stays with b.
    refused, _ = run(p, {"b": "the registry refused: no"})
    assert names(refused.deleted) == ["a", "a-own"]
    assert table(refused.skipped) == [("b", "the registry refused: no")]
    assert ("shared", "referenced by sha256:b, which stays") in table(refused.kept)


def test_nested_indexes_go_top_down_and_a_refusal_keeps_everything_below() -> None:
    listing = [m("top", 2, "top", refs=("mid",)), m("mid", 2, refs=("leaf",)), m("leaf", 2)]
    p = plan(listing)
    result, tried = run(p)
    assert names(result.deleted) == ["top", "mid", "leaf"] and tried == [["top"], ["mid"], ["leaf"]]
    refused, tried = run(p, {"top": "the registry refused: no"})
    assert refused.deleted == [] and tried == [["top"]]
    assert table(refused.kept) == [
        ("mid", "referenced by sha256:top, which stays"),
        ("leaf", "referenced by sha256:mid, which stays"),
    ]


def test_tag_pattern_makes_only_matching_manifests_candidates() -> None:
    listing = [
        m("rc3", 1, "rc-3"),
        m("stable", 2, "stable"),
        m("untagged", 3),
        m("rc2", 4, "rc-2", "x"),
        m("rc1", 5, "rc-1"),
    ]
    result, _ = run(plan(listing, keep=1, tag_pattern="rc-*"))
    assert table(result.kept) == [
        ("rc3", "among the newest 1"),
        ("stable", "no tag matches 'rc-*'"),
        ("untagged", "no tag matches 'rc-*'"),
    ]
    assert names(result.deleted) == ["rc2", "rc1"]


def test_older_than_protects_recent_and_undated_manifests() -> None:
    listing = [m("a", 1, "a"), m("b", 10, "b"), m("c", None, "c"), m("d", 30, "d"), m("e", 48, "e")]
    result, _ = run(plan(listing, keep=1, older_than=timedelta(hours=24)))
    assert table(result.kept) == [
        ("a", "among the newest 1"),
        ("b", "updated within the last 1 day, 0:00:00"),
        ("c", "updated within the last 1 day, 0:00:00"),
    ]
    assert names(result.deleted) == ["d", "e"]
    with pytest.raises(ValueError, match="older_than needs now"):
        plan_prune(listing, keep=1, repository=REPO, older_than=timedelta(hours=1))


def test_locked_candidates_are_skipped_with_the_lock_and_the_command_that_lifts_it() -> None:
    listing = [
        m("v3", 1, "v3"),
        m("nodel", 2, "v2", can_delete=False),
        m("nowrite", 3, "v1", can_write=False),
        m("tagged", 4, "pinned"),
    ]
    locks = PruneLocks.from_tags(
        REPO, None, [("pinned", "sha256:tagged", False, True), ("other", "sha256:v3", True, True)]
    )
    p = plan(listing, locks=locks)
    result, tried = run(p)
    assert table(result.skipped) == [
        ("nodel", "locked: manifest deleteEnabled=false"),
        ("nowrite", "locked: manifest writeEnabled=false"),
        ("tagged", "locked: tag pinned deleteEnabled=false"),
    ]
    assert "creg manifest update app@sha256:nodel --delete --write" in result.skipped[0].reason
    assert "creg tag update app:pinned --delete --write" in result.skipped[2].reason
    assert names(result.deleted) == ["v3"] and tried == [["v3"]]


def test_a_locked_repository_skips_every_candidate() -> None:
    reason = repository_lock(REPO, can_delete=True, can_write=False)
    assert reason is not None and reason.startswith("locked: repository writeEnabled=false")
    assert "creg repo update app --delete --write" in reason
    result, tried = run(plan(LISTING, keep=1, locks=PruneLocks(repository=reason)))
    assert result.deleted == [] and tried == []
    assert names(result.skipped) == ["v4", "v3", "idx", "v1"]
    assert {e.reason for e in result.skipped} == {reason}
    assert repository_lock(REPO, True, True) is None and tag_lock(REPO, "t", None, None) is None


def test_a_locked_platform_manifest_of_an_index_that_goes_is_skipped_and_never_tried() -> None:
    listing = [m("idx", 1, "multi", refs=("amd", "arm")), m("amd", 1, can_delete=False), m("arm", 1)]
    result, tried = run(plan(listing))
    assert names(result.deleted) == ["idx", "arm"]
    assert table(result.skipped) == [("amd", "locked: manifest deleteEnabled=false")]
    assert tried == [["idx"], ["arm"]]


def test_a_dry_run_reports_what_a_run_without_refusals_does() -> None:
    p = plan(LISTING, keep=2)
    preview, _ = run(p, dry_run=True)
    real, _ = run(p)
    assert preview.dry_run and not real.dry_run
    assert (preview.deleted, preview.kept, preview.skipped) == (real.deleted, real.kept, real.skipped)


def test_references_to_manifests_not_listed_or_to_itself_are_ignored() -> None:
    listing = [m("idx", 1, "i", refs=("gone", "idx")), m("v1", 2, "v1")]
    result, _ = run(plan(listing))
    assert names(result.deleted) == ["idx", "v1"]
