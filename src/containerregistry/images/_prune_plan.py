"""The prune plan: which manifests `prune` deletes, in which order, which it keeps or skips, and why.

Pure (no I/O): `plan_prune` takes the listed manifest properties (newest first) and the lock facts (the
repository's lock and its locked tags) and returns a `PrunePlan`. The engine (`_async/_prune.py` and its
generated sync twin) runs the plan's deletes, wave by wave (`PrunePlan.waves`: an index's platform
manifests only after the index's delete succeeded), and hands back what happened to each;
`PrunePlan.result` turns that into the `PruneResult`, always in the plan's order (newest first), whatever
order the concurrent deletes finished in. A dry run hands back "every delete succeeded", so it reports
exactly what the real run does when the registry refuses nothing beyond the locks it reported.

The rules (those of `prune`'s docstring):
- Platform manifests (any manifest another listed manifest refers to) are not candidates on their own:
  they follow the manifests that refer to them. One goes only when every manifest referring to it goes
  (and after all of those were deleted); while any of them stays, it is kept "referenced by ...".
- Candidates: every other manifest, or with `tag_pattern` only those with a tag matching the glob (the
  others are kept). The newest `keep` candidates are kept.
- An older candidate is kept when `older_than` protects it (last updated within `older_than` of `now`,
  or its update time is unknown), skipped when a lock would make the registry refuse its delete
  (the repository's, a tag's, or its own `deleteEnabled`/`writeEnabled`), and deleted otherwise.
- A platform manifest whose indexes all go but that is locked itself is skipped; one whose index the
  registry refused (or failed) to delete is kept, and so are the manifests below it.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..protocol.acr import ArtifactManifestProperties
from ._models import PrunedManifest, PruneResult

__all__ = [
    "PruneLocks",
    "PrunePlan",
    "PruneStep",
    "plan_prune",
    "repository_lock",
    "tag_lock",
]


def _refusing(can_delete: bool | None, can_write: bool | None) -> list[str]:
    """The attributes that make a delete refused (`deleteEnabled=false`, `writeEnabled=false`)."""
    return [
        name for name, value in (("deleteEnabled", can_delete), ("writeEnabled", can_write)) if value is False
    ]


def repository_lock(repository: str, can_delete: bool | None, can_write: bool | None) -> str | None:
    """Why the repository's lock refuses every manifest delete (and the command that lifts it), or None."""
    names = _refusing(can_delete, can_write)
    if not names:
        return None
    return (
        f"locked: repository {' and '.join(f'{n}=false' for n in names)}"
        f" (lift with: creg repo update {repository} --delete --write)"
    )


def tag_lock(repository: str, tag: str, can_delete: bool | None, can_write: bool | None) -> str | None:
    """Why a locked tag refuses the delete of the manifest it points at, or None."""
    names = _refusing(can_delete, can_write)
    if not names:
        return None
    return (
        f"locked: tag {tag} {' and '.join(f'{n}=false' for n in names)}"
        f" (lift with: creg tag update {repository}:{tag} --delete --write)"
    )


@dataclass(frozen=True)
class PruneLocks:
    """The locks beyond a manifest's own that make the registry refuse its delete.

    Attributes:
        repository: why the repository is locked (`repository_lock`), or None.
        tags: manifest digest -> why a tag pointing at it is locked (`tag_lock`; the first locked tag).
    """

    repository: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_tags(
        cls,
        repository: str,
        repository_reason: str | None,
        tags: Iterable[tuple[str, str, bool | None, bool | None]],
    ) -> PruneLocks:
        """From `(tag, digest, can_delete, can_write)` rows, in listing order (the first locked tag wins)."""
        by_digest: dict[str, str] = {}
        for name, digest, can_delete, can_write in tags:
            reason = tag_lock(repository, name, can_delete, can_write)
            if reason is not None and digest not in by_digest:
                by_digest[digest] = reason
        return cls(repository_reason, by_digest)

    def reason(self, manifest: ArtifactManifestProperties, repository: str) -> str | None:
        """Why a delete of `manifest` would be refused (the lock, and the command that lifts it), or None."""
        if self.repository is not None:
            return self.repository
        names = _refusing(manifest.can_delete, manifest.can_write)
        if names:
            return (
                f"locked: manifest {' and '.join(f'{n}=false' for n in names)}"
                f" (lift with: creg manifest update {repository}@{manifest.digest} --delete --write)"
            )
        return self.tags.get(manifest.digest)


def _entry(manifest: ArtifactManifestProperties, reason: str = "") -> PrunedManifest:
    return PrunedManifest(
        digest=manifest.digest,
        tags=list(manifest.tags),
        last_updated_on=manifest.last_updated_on,
        reason=reason,
    )


@dataclass(frozen=True)
class PruneStep:
    """One manifest the plan deletes if it can.

    Attributes:
        manifest: its listed properties.
        reason: what the result says of it when deleted: "" for a candidate, "platform manifest of
            <index>" for a manifest that follows its index.
        after: the manifests (digests) that refer to it: its delete waits until all of theirs
            succeeded, and it stays when one of them stays.
        locked: why a lock refuses its delete (a platform manifest whose index goes but that is
            locked itself): it is then never tried. Candidates that are locked are not steps: they are
            in `PrunePlan.skipped`.
        wave: 0 for candidates, 1 + the largest wave of `after` otherwise.
    """

    manifest: ArtifactManifestProperties
    reason: str = ""
    after: tuple[str, ...] = ()
    locked: str | None = None
    wave: int = 0

    @property
    def digest(self) -> str:
        return self.manifest.digest


#: What happened to a step: None = deleted (or, in a dry run, would be), else why it was not.
Outcome = str | None


@dataclass(frozen=True)
class PrunePlan:
    """What `prune` deletes (in order), keeps and skips; see `plan_prune`.

    Attributes:
        steps: the deletes, in the result's order (newest first, each index followed by the manifests
            that follow it).
        kept: the manifests kept whatever the deletes do, with the reason.
        skipped: the candidates a lock refuses, with the lock and the command that lifts it.
    """

    steps: tuple[PruneStep, ...] = ()
    kept: tuple[PrunedManifest, ...] = ()
    skipped: tuple[PrunedManifest, ...] = ()

    def waves(self) -> list[list[PruneStep]]:
        """The steps to try, grouped so that each group runs after the previous one finished (a
        platform manifest after its index); locked steps are left out (never tried)."""
        groups: dict[int, list[PruneStep]] = {}
        for step in self.steps:
            if step.locked is None:
                groups.setdefault(step.wave, []).append(step)
        return [groups[wave] for wave in sorted(groups)]

    @staticmethod
    def ready(step: PruneStep, outcomes: Mapping[str, Outcome]) -> bool:
        """Whether `step` may be tried now: every manifest that refers to it was deleted."""
        return step.locked is None and all(d in outcomes and outcomes[d] is None for d in step.after)

    def result(self, outcomes: Mapping[str, Outcome], *, dry_run: bool) -> PruneResult:
        """The `PruneResult` of the plan, given what happened to each step tried (by digest).

        A step not tried because one of the manifests referring to it stays is kept ("referenced by
        X, which stays"); a locked step is skipped with its lock; a step that failed is skipped with
        the outcome's reason. Order: the plan's, so the result does not depend on timing.
        """
        result = PruneResult(kept=list(self.kept), skipped=list(self.skipped), dry_run=dry_run)
        for step in self.steps:
            staying = next((d for d in step.after if d not in outcomes or outcomes[d] is not None), None)
            if staying is not None:
                result.kept.append(_entry(step.manifest, f"referenced by {staying}, which stays"))
            elif step.locked is not None:
                result.skipped.append(_entry(step.manifest, step.locked))
            elif step.digest not in outcomes:
                raise ValueError(f"no outcome for {step.digest}, which was ready to be deleted")
            elif (reason := outcomes[step.digest]) is None:
                result.deleted.append(_entry(step.manifest, step.reason))
            else:
                result.skipped.append(_entry(step.manifest, reason))
        return result


def plan_prune(
    manifests: Sequence[ArtifactManifestProperties],
    *,
    keep: int,
    repository: str,
    tag_pattern: str | None = None,
    older_than: timedelta | None = None,
    now: datetime | None = None,
    locks: PruneLocks | None = None,
) -> PrunePlan:
    """Plan a prune of `manifests` (listed newest first, by last update); see the module's rules.

    Args:
        manifests: the repository's manifests with their properties, newest first.
        keep: how many of the newest candidates to keep (0: none).
        repository: the repository name (for the commands that lift a lock).
        tag_pattern: a glob: only manifests with a matching tag are candidates.
        older_than: only manifests last updated before `now - older_than` may go.
        now: the time `older_than` counts back from (required with `older_than`; aware datetimes).
        locks: the repository's lock and its locked tags.

    Raises:
        ValueError: `keep` is negative, or `older_than` without `now`.
    """
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    if older_than is not None and now is None:
        raise ValueError("older_than needs now")
    cutoff = now - older_than if older_than is not None and now is not None else None
    locks = locks or PruneLocks()
    by_digest = {m.digest: m for m in manifests}
    # Which listed manifests refer to each manifest, newest first (an index and its platform manifests).
    parents: dict[str, list[str]] = {}
    for manifest in manifests:
        for related in manifest.related_artifacts:
            if related.digest == manifest.digest:
                continue
            owners = parents.setdefault(related.digest, [])
            if manifest.digest not in owners:
                owners.append(manifest.digest)
    kept: list[PrunedManifest] = []
    skipped: list[PrunedManifest] = []
    doomed: list[ArtifactManifestProperties] = []
    seen = 0
    for manifest in manifests:
        if manifest.digest in parents:
            continue  # follows the manifests that refer to it, below
        if tag_pattern is not None and not any(fnmatch.fnmatchcase(t, tag_pattern) for t in manifest.tags):
            kept.append(_entry(manifest, f"no tag matches {tag_pattern!r}"))
            continue
        seen += 1
        if seen <= keep:
            kept.append(_entry(manifest, f"among the newest {keep}"))
        elif cutoff is not None and (manifest.last_updated_on is None or manifest.last_updated_on > cutoff):
            kept.append(_entry(manifest, f"updated within the last {older_than}"))
        elif (reason := locks.reason(manifest, repository)) is not None:
            skipped.append(_entry(manifest, reason))
        else:
            doomed.append(manifest)
    # A referred-to manifest goes when every manifest referring to it goes: in topological order from
    # the doomed candidates (nested indexes work; a cycle, which content addressing rules out, stays).
    followers = [d for d in parents if d in by_digest]
    referring: dict[str, list[str]] = {}
    for digest in followers:
        for owner in parents[digest]:
            referring.setdefault(owner, []).append(digest)
    remaining = {d: len(parents[d]) for d in followers}
    depth: dict[str, int] = {}
    wave = {m.digest: 0 for m in doomed}
    queue = deque(wave)
    while queue:
        owner = queue.popleft()
        for digest in referring.get(owner, []):
            depth[digest] = max(depth.get(digest, 0), wave[owner] + 1)
            remaining[digest] -= 1
            if remaining[digest] == 0:
                wave[digest] = depth[digest]
                queue.append(digest)
    for digest in followers:
        if digest not in wave:
            staying = next(o for o in parents[digest] if o not in wave)
            kept.append(_entry(by_digest[digest], f"referenced by {staying}"))
    # Steps in result order: each doomed candidate, newest first, followed (depth first) by what follows it.
    attached: dict[str, list[str]] = {}
    for digest in followers:
        if digest in wave:
            attached.setdefault(parents[digest][0], []).append(digest)
    steps: list[PruneStep] = []
    for manifest in doomed:
        steps.append(PruneStep(manifest))
        pending = list(reversed(attached.get(manifest.digest, [])))
        while pending:  # depth first, without recursion (a listing may nest deeply)
            child = pending.pop()
            referrers = tuple(parents[child])
            steps.append(
                PruneStep(
                    by_digest[child],
                    f"platform manifest of {referrers[0]}",
                    after=referrers,
                    locked=locks.reason(by_digest[child], repository),
                    wave=wave[child],
                )
            )
            pending.extend(reversed(attached.get(child, [])))
    return PrunePlan(tuple(steps), tuple(kept), tuple(skipped))
