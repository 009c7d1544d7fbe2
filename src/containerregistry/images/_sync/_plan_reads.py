# This file is generated from containerregistry/images/_async/_plan_reads.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""The reads behind a copy plan: a source's manifests and referrer lists, a level at a time.

This is the async source; `containerregistry.images._sync._plan_reads` is generated from it by
scripts/unasync.py.

Owns `_ManifestSource`, the part of a store a plan reads through (`read_manifest`, `referrers`: a `_Store`
and an archive source both have it), and `read_plan`: from the top manifest, level by level, the
referrer lists of a level's manifests (with `include_referrers`) and then the manifests they and the
level name, each level's reads concurrent (at most `concurrency` at once); nothing deeper than
`MAX_DEPTH` levels is read. Each manifest's bytes go to the copy's `ManifestSpool` as they are read;
the pure `plan_copy` (`images/_copy_plan.py`) turns the tables into the `CopyPlan`, and `planned_manifests`
the plan's manifests into the `_Manifest`s the engines carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..._sync._shim import run_bounded
from ...protocol.models import OciDescriptor
from .._copy_plan import MAX_DEPTH, CopyPlan, References, plan_copy
from .._spool import ManifestSpool
from ._stores import _Manifest, _references


class _ManifestSource(Protocol):
    """What a copy plan reads: manifests by descriptor and each one's referrers."""

    def read_manifest(self, descriptor: OciDescriptor) -> bytes:
        """The manifest's bytes, checked against its descriptor."""
        ...

    def referrers(self, digest: str) -> list[OciDescriptor]:
        """The manifests whose subject is `digest`."""
        ...


def read_plan(
    source: _ManifestSource,
    top: OciDescriptor,
    content: bytes,
    spool: ManifestSpool,
    *,
    include_referrers: bool,
    concurrency: int,
    where: str,
) -> CopyPlan:
    """The plan of copying `top` (whose bytes are `content`) out of `source`; `where` names the source in
    errors. The caller checks the plan's refusal (`CopyPlan.check`, or its own error)."""

    def parse(descriptor: OciDescriptor, body: bytes) -> References:
        blobs, children = _references(body, descriptor.media_type, f"manifest {descriptor.digest} of {where}")
        spool.put(descriptor.digest, body)
        return References(tuple(blobs), tuple(children))

    def reader(descriptor: OciDescriptor) -> Callable[[], Any]:
        def read() -> References:
            return parse(descriptor, source.read_manifest(descriptor))

        return read

    def lister(digest: str) -> Callable[[], Any]:
        def list_referrers() -> list[OciDescriptor]:
            return source.referrers(digest)

        return list_referrers

    read = {top.digest: parse(top, content)}
    referrers: dict[str, list[OciDescriptor]] = {}
    level = [top]
    for depth in range(MAX_DEPTH + 1):
        if include_referrers:
            lists = run_bounded([lister(d.digest) for d in level], concurrency)
            referrers.update(zip([d.digest for d in level], lists, strict=True))
        named: dict[str, OciDescriptor] = {}
        for manifest in level:
            for child in (*read[manifest.digest].children, *referrers.get(manifest.digest, ())):
                if child.digest not in read:
                    named.setdefault(child.digest, child)
        if not named or depth == MAX_DEPTH:
            break  # one level deeper would be refused: the plan says so without reading it
        fetched = run_bounded([reader(d) for d in named.values()], concurrency)
        read.update(zip(named, fetched, strict=True))
        level = list(named.values())
    return plan_copy(top, read, referrers, include_referrers=include_referrers, where=where)


def planned_manifests(plan: CopyPlan, spool: ManifestSpool) -> dict[str, _Manifest]:
    """The plan's manifests as the engines carry them (digest -> `_Manifest`, bytes waiting in `spool`)."""
    return {
        digest: _Manifest(
            m.descriptor, spool, list(m.references.blobs), list(m.references.children), m.is_referrer
        )
        for digest, m in plan.manifests.items()
    }
