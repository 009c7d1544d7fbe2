"""`BlobSightings`: where a mirror run has seen each blob in a target registry, so it can mount, not upload.

A `sync` or `copy --all-tags` run copies many images into repositories of one registry; they share
blobs (base layers, configs). Every blob that a copy skipped (the target had it), mounted or uploaded
is noted under (target registry, digest) with the repository that holds it, and the next copy that
needs it in another repository of that registry tries a cross-repository mount from there first
(`POST ?mount=&from=`: 201 is done, 202 falls back to the upload). Held for one run only; thread-safe
(the sync engine copies from worker threads).
"""

from __future__ import annotations

import threading

__all__ = ["BlobSightings"]


class BlobSightings:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def note(self, registry: str, digest: str, repository: str) -> None:
        """`repository` of `registry` holds blob `digest` (the first repository noted is kept)."""
        with self._lock:
            self._seen.setdefault((registry, digest), repository)

    def where(self, registry: str, digest: str, *, besides: str) -> str | None:
        """A repository of `registry` other than `besides` known to hold `digest`, or None."""
        with self._lock:
            found = self._seen.get((registry, digest))
        return found if found is not None and found != besides else None
