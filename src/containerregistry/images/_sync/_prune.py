# This file is generated from containerregistry/images/_async/_prune.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""`prune`: delete a repository's manifests beyond the newest `keep`, skipping locked ones.

This is the async source; `containerregistry.images._sync._prune` is generated from it by scripts/unasync.py.

Uses the ACR metadata API: lists the manifests newest first, decides which go (platform manifests
follow their index), knows the repository and tag locks a delete would hit, and deletes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import httpx

from ..._sync._registry_client import ContainerRegistryClient
from ...auth import Credential
from ...exceptions import OperationNotAllowedError
from ...protocol.acr import ArtifactManifestOrder, ArtifactManifestProperties
from ...transport import RetryPolicy
from .._models import PrunedManifest, PruneResult

__all__ = ["prune"]


def _entry(manifest: ArtifactManifestProperties, reason: str = "") -> PrunedManifest:
    return PrunedManifest(
        digest=manifest.digest,
        tags=list(manifest.tags),
        last_updated_on=manifest.last_updated_on,
        reason=reason,
    )


def _lock_reason(
    manifest: ArtifactManifestProperties, repository: str, locks: dict[str, str] | None = None
) -> str | None:
    """Why a delete of `manifest` would be refused (the lock, and the command that lifts it), or None.

    Args:
        locks: lock reasons that apply beyond the manifest's own: `""` for the repository, and
            manifest digests for their locked tags.
    """
    locks = locks or {}
    if "" in locks:
        return locks[""]
    names = [
        name
        for name, value in (("deleteEnabled", manifest.can_delete), ("writeEnabled", manifest.can_write))
        if value is False
    ]
    if names:
        return (
            f"locked: manifest {' and '.join(f'{name}=false' for name in names)}"
            f" (lift with: creg manifest update {repository}@{manifest.digest} --delete --write)"
        )
    return locks.get(manifest.digest)


def _external_locks(client: ContainerRegistryClient, repository: str) -> dict[str, str]:
    """The repository's own lock (key `""`) and its locked tags (by manifest digest): either makes the
    registry refuse a manifest delete, so a dry run must know them as the real run would."""
    locks: dict[str, str] = {}
    repo = client.get_repository(repository)
    properties = repo.get_properties()
    names = [
        n
        for n, v in (("deleteEnabled", properties.can_delete), ("writeEnabled", properties.can_write))
        if v is False
    ]
    if names:
        locks[""] = (
            f"locked: repository {' and '.join(f'{n}=false' for n in names)}"
            f" (lift with: creg repo update {repository} --delete --write)"
        )
    for tag in repo.list_tag_properties():
        names = [
            n for n, v in (("deleteEnabled", tag.can_delete), ("writeEnabled", tag.can_write)) if v is False
        ]
        if names and tag.digest not in locks:
            locks[tag.digest] = (
                f"locked: tag {tag.name} {' and '.join(f'{n}=false' for n in names)}"
                f" (lift with: creg tag update {repository}:{tag.name} --delete --write)"
            )
    return locks


def prune(
    endpoint: str,
    repository: str,
    *,
    keep: int,
    credential: Credential | None = None,
    dry_run: bool = False,
    tag_pattern: str | None = None,
    older_than: timedelta | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
) -> PruneResult:
    """Delete a repository's manifests beyond the newest `keep` (by last update), skipping locked ones.

    Uses the ACR metadata API (ACR and the emulator). Manifests are listed newest first; the platform
    manifests of an index are not counted on their own: they follow their index (kept with it, and
    deleted with it unless another kept manifest still refers to them). Among the candidates (all
    top-level manifests, or only those with a tag matching `tag_pattern`), the newest `keep` are kept;
    the older ones are deleted unless `older_than` protects them or they are locked.

    Args:
        endpoint: the registry, e.g. `https://myregistry.azurecr.io`.
        repository: the repository name.
        keep: how many of the newest candidates to keep (0 deletes every candidate).
        credential: see `containerregistry.credentials`.
        dry_run: only report what would be deleted.
        tag_pattern: a glob (`v1.*`, `*-rc*`): only manifests with a matching tag are candidates;
            the others (untagged ones included) are kept.
        older_than: only delete manifests last updated longer ago than this.
        transport, timeout, retry, verify, insecure, trusted_token_hosts: client options (see
            `ContainerRegistryClient`).

    Returns:
        A `PruneResult`: `deleted` (newest first; with `dry_run`, what would be deleted), `kept` and
        `skipped` (locked, or the registry refused), each with a reason.

    Raises:
        ValueError: `keep` is negative.
        HttpResponseError, ServiceRequestError: listing the manifests failed.
    """
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    cutoff = datetime.now(timezone.utc) - older_than if older_than is not None else None
    result = PruneResult(dry_run=dry_run)
    with ContainerRegistryClient(
        endpoint,
        credential,
        transport=transport,
        timeout=timeout,
        retry=retry,
        verify=verify,
        insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
    ) as client:
        listing = client.get_repository(repository).list_manifest_properties(
            order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING
        )
        manifests = [m for m in listing]
        locks = _external_locks(client, repository)
        parents: dict[str, list[str]] = {}
        for manifest in manifests:
            for related in manifest.related_artifacts:
                parents.setdefault(related.digest, []).append(manifest.digest)
        by_digest = {m.digest: m for m in manifests}
        doomed: list[ArtifactManifestProperties] = []
        seen = 0
        for manifest in manifests:
            if manifest.digest in parents:
                continue  # decided with its index below
            if tag_pattern is not None and not any(
                fnmatch.fnmatchcase(t, tag_pattern) for t in manifest.tags
            ):
                result.kept.append(_entry(manifest, f"no tag matches {tag_pattern!r}"))
                continue
            seen += 1
            if seen <= keep:
                result.kept.append(_entry(manifest, f"among the newest {keep}"))
            elif cutoff is not None and (
                manifest.last_updated_on is None or manifest.last_updated_on > cutoff
            ):
                result.kept.append(_entry(manifest, f"updated within the last {older_than}"))
            elif (reason := _lock_reason(manifest, repository, locks)) is not None:
                result.skipped.append(_entry(manifest, reason))
            else:
                doomed.append(manifest)
        # Children go with their index, unless a manifest that stays still refers to them.
        staying = {m.digest for m in manifests} - {m.digest for m in doomed}
        children: list[tuple[ArtifactManifestProperties, str]] = []
        for child_digest, owners in parents.items():
            child = by_digest.get(child_digest)
            if child is None:
                continue
            if any(owner in staying for owner in owners):
                result.kept.append(_entry(child, f"referenced by {next(o for o in owners if o in staying)}"))
            else:
                children.append((child, owners[0]))
        for manifest in doomed:
            deleted = _prune_one(client, repository, manifest, "", result, dry_run)
            for child, owner in children:
                if owner == manifest.digest:
                    if not deleted:
                        # The index stays (the registry refused): its platform manifests must stay too.
                        result.kept.append(_entry(child, f"referenced by {owner}, which stays"))
                    elif (reason := _lock_reason(child, repository, locks)) is not None:
                        result.skipped.append(_entry(child, reason))
                    else:
                        _prune_one(
                            client, repository, child, f"platform manifest of {owner}", result, dry_run
                        )
    return result


def _prune_one(
    client: ContainerRegistryClient,
    repository: str,
    manifest: ArtifactManifestProperties,
    reason: str,
    result: PruneResult,
    dry_run: bool,
) -> bool:
    if not dry_run:
        try:
            client.get_artifact(repository, manifest.digest).delete()
        except OperationNotAllowedError as exc:
            result.skipped.append(_entry(manifest, f"the registry refused: {exc}"))
            return False
    result.deleted.append(_entry(manifest, reason))
    return True
