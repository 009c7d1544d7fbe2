"""`prune`: delete a repository's manifests beyond the newest `keep`, skipping locked ones.

This is the async source; `containerregistry.images._sync._prune` is generated from it by scripts/unasync.py.

The I/O half of prune: lists the manifests newest first (the largest page ACR serves) together with the
repository and tag locks a delete would hit, has `images._prune_plan.plan_prune` decide, and runs the
plan's deletes through one client (one connection pool, one token cache), `concurrency` at a time and
wave by wave (an index's platform manifests after the index's delete succeeded). Concurrency comes from
`run_bounded` of the clients' `_shim`: tasks here, a thread pool in the generated sync twin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ...aio._registry_client import ContainerRegistryClient
from ...aio._shim import run_bounded
from ...auth import AsyncCredential
from ...exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    OperationNotAllowedError,
    PermissionDeniedError,
    ServiceRequestError,
)
from ...protocol.acr import ArtifactManifestOrder
from ...transport import RetryPolicy
from .._models import PruneResult
from .._prune_plan import PruneLocks, PruneStep, plan_prune, repository_lock
from ._stores import SharedClient, _ClientOptions

__all__ = ["prune"]

#: Deletes in flight by default. 97 deletes through wan.py's cloud proxy (20 ms RTT) on the TLS emulator,
#: on a loaded 2-core machine: 1 -> 4.7 s, 4 -> 3.2 s, 8 -> 2.4 s, 16 -> 0.85-2.7 s, 32 -> 1.3 s (far,
#: 80 ms: 14.9, 4.1, 3.5, 2.2, 1.7 s). Past 8 the registry's own work bounds it; 16 stays below the
#: connection pool (32) and leaves room under a registry's write throttling.
DEFAULT_CONCURRENCY = 16

#: The page size of the listings: ACR serves at most 1,000 items a page (it answers a larger `n` with
#: 1,000, Azure/acr#749) and 100 when `n` is absent; the emulator and Distribution allow up to 10,000.
PAGE_SIZE = 1000


async def prune(
    endpoint: str,
    repository: str,
    *,
    keep: int,
    credential: AsyncCredential | None = None,
    dry_run: bool = False,
    tag_pattern: str | None = None,
    older_than: timedelta | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> PruneResult:
    """Delete a repository's manifests beyond the newest `keep` (by last update), skipping locked ones.

    Uses the ACR metadata API (ACR and the emulator). Manifests are listed newest first; the platform
    manifests of an index are not counted on their own: they follow their index (kept with it, and
    deleted after it unless another manifest that stays still refers to them; an index the registry
    refused to delete keeps them). Among the candidates (all top-level manifests, or only those with a
    tag matching `tag_pattern`), the newest `keep` are kept; the older ones are deleted unless
    `older_than` protects them or they are locked. Up to `concurrency` deletes are in flight at once,
    through one client (one token cache); the result's order does not depend on which finished first.
    A delete that fails is reported in `skipped` and the others go on, except when the registry cannot
    be reached or the credential may not delete (401, 403): the deletes not yet started are then not
    tried, and reported so.

    Args:
        endpoint: the registry, e.g. `https://myregistry.azurecr.io`.
        repository: the repository name.
        keep: how many of the newest candidates to keep (0 deletes every candidate).
        credential: see `containerregistry.credentials`.
        dry_run: only report what would be deleted.
        tag_pattern: a glob (`v1.*`, `*-rc*`): only manifests with a matching tag are candidates;
            the others (untagged ones included) are kept.
        older_than: only delete manifests last updated longer ago than this.
        concurrency: how many deletes may be in flight at once (default 16).
        transport, timeout, retry, verify, insecure, trusted_token_hosts: client options (see
            `ContainerRegistryClient`).
        client: an open `ContainerRegistryClient` or `ContainerRegistryContentClient` to reuse when
            `endpoint` is its registry: the listing and the deletes go through its connection pool,
            token cache and credential (`credential` and the options above are then not used), so
            repeated prunes and pushes of a repository fetch its tokens once. It stays open: closing
            it is the caller's business. A client of another registry is not used.

    Returns:
        A `PruneResult`: `deleted` (newest first; with `dry_run`, what would be deleted), `kept` and
        `skipped` (locked; the registry refused; the delete failed: "the delete failed: ..."; not tried
        after such a failure: "not tried: ..."), each with a reason.

    Raises:
        ValueError: `keep` is negative or `concurrency` below 1.
        HttpResponseError, ServiceRequestError: listing the manifests or the locks failed.
    """
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    now = datetime.now(timezone.utc)
    options = _ClientOptions.of(
        client,
        transport=transport,
        timeout=timeout,
        retry=retry,
        verify=verify,
        insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
    )
    async with _registry_client(endpoint, credential, options) as registry:
        repo = registry.get_repository(repository)

        async def listing() -> Any:
            pager = repo.list_manifest_properties(
                order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING, results_per_page=PAGE_SIZE
            )
            return [m async for m in pager]

        async def repository_properties() -> Any:
            return await repo.get_properties()

        async def tag_locks() -> Any:
            # (tag, digest, can_delete, can_write): a locked tag makes the registry refuse the delete of
            # its manifest, so a dry run must know the tag locks as the real run would.
            return [
                (t.name, t.digest, t.can_delete, t.can_write)
                async for t in repo.list_tag_properties(results_per_page=PAGE_SIZE)
            ]

        # The listing and the lock look-ups at once (one token: the first to start fetches it).
        manifests, properties, tags = await run_bounded([listing, repository_properties, tag_locks], 3)
        locks = PruneLocks.from_tags(
            repository, repository_lock(repository, properties.can_delete, properties.can_write), tags
        )
        plan = plan_prune(
            manifests,
            keep=keep,
            repository=repository,
            tag_pattern=tag_pattern,
            older_than=older_than,
            now=now,
            locks=locks,
        )
        outcomes: dict[str, str | None] = {}
        deletes = _Deletes(registry, repository)
        for wave in plan.waves():
            ready = [step for step in wave if plan.ready(step, outcomes)]
            if dry_run:
                outcomes.update((step.digest, None) for step in ready)
                continue
            done = await run_bounded([deletes.task(step) for step in ready], concurrency)
            outcomes.update(zip((step.digest for step in ready), done, strict=True))
    return plan.result(outcomes, dry_run=dry_run)


def _registry_client(
    endpoint: str, credential: AsyncCredential | None, options: _ClientOptions
) -> ContainerRegistryClient:
    """The client prune works through: on the shared client's pipeline when `endpoint` is its registry
    (same `host[:port]`, as `_ClientOptions.pipeline_for` decides for a location), else a new one."""
    shared = options.pipeline_at(endpoint, credential)
    if shared is not None:
        return ContainerRegistryClient(shared.endpoint, _pipeline=shared)
    return ContainerRegistryClient(
        endpoint, options=dataclasses.replace(options.options, credential=credential)
    )


class _Deletes:
    """The deletes of one prune: each task deletes one manifest and says what happened (None: deleted).

    A refusal (405: a lock the listing did not show, e.g. set meanwhile) or another error status of one
    manifest is that manifest's: the others go on. No usable answer (the registry unreachable after the
    client's retries) or a credential that may not delete (401, 403) would fail every delete alike, so
    the deletes not yet started are not tried (each says why); those in flight finish.
    """

    def __init__(self, client: ContainerRegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self.stopped: str | None = None

    def task(self, step: PruneStep) -> Callable[[], Any]:
        async def delete() -> str | None:
            if self.stopped is not None:
                return f"not tried: {self.stopped}"
            try:
                await self.client.get_artifact(self.repository, step.digest).delete()
            except OperationNotAllowedError as exc:
                return f"the registry refused: {exc}"
            except (ClientAuthenticationError, PermissionDeniedError, ServiceRequestError) as exc:
                if self.stopped is None:
                    self.stopped = f"an earlier delete failed ({exc})"
                return f"the delete failed: {exc}"
            except HttpResponseError as exc:
                return f"the delete failed: {exc}"
            return None

        return delete
