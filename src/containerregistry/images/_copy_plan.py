"""The copy plan: which manifests a whole-image copy writes, in which order, and which blobs it moves.

Pure (no I/O). `read_plan` (`_async/_plan_reads.py` and its generated sync twin, for the copy engine and
the archive copies alike) does the reading: the top manifest, then level by level (concurrently within a level) the manifests it references and, with
`include_referrers`, the referrer lists of each one and the referrers they name, down to `MAX_DEPTH`
levels. It hands what it read to `plan_copy` as plain tables (digest -> `References`, digest -> referrer
list) and gets back a frozen `CopyPlan`:

- `order`: the manifest write order: an index's children before the index, a subject before its
  referrers, the top manifest last among what it references (its referrers come after it). It is the
  depth-first order of the references, so it does not depend on the order the reads finished in.
- `blobs`: the distinct blobs to transfer, in first-reference order.
- `refusal`: why the copy is refused (`CopyRefusal`), when manifests nest deeper than `MAX_DEPTH`
  levels (a hostile or broken source); `CopyPlan.check` raises it.

The platform filter runs before any child is read, so it is its own function: `choose_platforms` picks an
index's entries matching the wanted platforms (a new, smaller index when some are left out) or refuses
when none match; for a single image it names the config blob whose platform `check_config_platform`
then checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .._bounded import loads_json
from ..protocol import media_types
from ..protocol.digest import compute_digest
from ..protocol.models import (
    ManifestFormatError,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    Platform,
    parse_manifest,
)
from ._models import platform_matches

__all__ = [
    "MAX_DEPTH",
    "CopyPlan",
    "CopyRefusal",
    "PlannedManifest",
    "PlatformChoice",
    "References",
    "check_config_platform",
    "choose_platforms",
    "plan_copy",
]

#: Indexes nest (an index of indexes, referrers of referrers); deeper than this is refused as hostile.
MAX_DEPTH = 8
_DOCKER_CONFIG_TYPES = frozenset({media_types.OCI_CONFIG, media_types.DOCKER_CONFIG})

#: A wanted platform as `parse_platforms` gives it: (os, architecture, variant or None).
WantedPlatform = tuple[str, str, str | None]


@dataclass(frozen=True)
class CopyRefusal:
    """Why a copy is refused before anything moves: manifests nested too deep, or no wanted platform."""

    kind: Literal["depth", "platform"]
    message: str

    def error(self) -> Exception:
        """The exception the copy raises: `ManifestFormatError` for depth, `ValueError` for a platform."""
        return ManifestFormatError(self.message) if self.kind == "depth" else ValueError(self.message)


@dataclass(frozen=True)
class References:
    """What one manifest names: the blobs it consists of and its child manifests (an index's entries)."""

    blobs: tuple[OciDescriptor, ...] = ()
    children: tuple[OciDescriptor, ...] = ()


@dataclass(frozen=True)
class PlannedManifest:
    """A manifest of the plan, with what it references; a referrer is one found by the referrers API."""

    descriptor: OciDescriptor
    references: References
    is_referrer: bool


@dataclass(frozen=True)
class CopyPlan:
    """The manifests to write (`manifests`, in write order `order`), the distinct `blobs`, or a `refusal`."""

    top: OciDescriptor
    manifests: Mapping[str, PlannedManifest]
    order: tuple[str, ...]
    blobs: tuple[OciDescriptor, ...]
    refusal: CopyRefusal | None = None

    def check(self) -> None:
        """Raise the refusal, if any."""
        if self.refusal is not None:
            raise self.refusal.error()


class _Refused(Exception):
    pass


def plan_copy(
    top: OciDescriptor,
    manifests: Mapping[str, References],
    referrers: Mapping[str, Sequence[OciDescriptor]],
    *,
    include_referrers: bool,
    where: str,
) -> CopyPlan:
    """The plan of copying `top` and what it references.

    `manifests` holds what every manifest read references (the top one included), `referrers` each one's
    referrer list (only read with `include_referrers`). A manifest more than `MAX_DEPTH` levels below
    the top (counting index children and referrers) makes the plan a refusal; the engine need not read it.
    A manifest seen twice (two indexes sharing a child, a referrer cycle) is planned once.
    """
    planned: dict[str, PlannedManifest] = {}
    order: list[str] = []
    blobs: dict[str, OciDescriptor] = {}

    def visit(descriptor: OciDescriptor, depth: int, is_referrer: bool) -> None:
        if depth > MAX_DEPTH:
            raise _Refused
        if descriptor.digest in planned:
            return
        refs = manifests[descriptor.digest]
        planned[descriptor.digest] = PlannedManifest(descriptor, refs, is_referrer)
        for blob in refs.blobs:
            blobs.setdefault(blob.digest, blob)
        wanted = {c.digest: c for c in refs.children if c.digest not in planned}
        for child in wanted.values():
            visit(child, depth + 1, False)
        order.append(descriptor.digest)
        if include_referrers:
            for referrer in referrers.get(descriptor.digest, ()):
                if referrer.digest not in planned:
                    visit(referrer, depth + 1, True)

    try:
        visit(top, 0, False)
    except _Refused:
        message = f"{where}: manifests nest deeper than {MAX_DEPTH} levels"
        return CopyPlan(top, {}, (), (), CopyRefusal("depth", message))
    return CopyPlan(top, planned, tuple(order), tuple(blobs.values()))


@dataclass(frozen=True)
class PlatformChoice:
    """The top manifest after the platform filter.

    `descriptor`/`content` are the manifest to copy (a new index when `filtered`); `config`, for a
    single image with an image config, is the config blob whose platform `check_config_platform`
    checks; `refusal` says that nothing matches.
    """

    descriptor: OciDescriptor
    content: bytes
    filtered: bool = False
    config: OciDescriptor | None = None
    refusal: CopyRefusal | None = None

    def check(self) -> None:
        if self.refusal is not None:
            raise self.refusal.error()


def _wanted_text(wanted: Sequence[WantedPlatform]) -> str:
    return ", ".join("/".join(p for p in w if p) for w in wanted)


def choose_platforms(
    descriptor: OciDescriptor, content: bytes, wanted: Sequence[WantedPlatform], where: str
) -> PlatformChoice:
    """Keep the entries of an index that match `wanted` (all of them: the original index, unchanged)."""
    parsed = parse_manifest(content, descriptor.media_type)
    if isinstance(parsed, OciImageIndex):
        chosen = [d for d in parsed.manifests if platform_matches(d.platform, wanted)]
        if not chosen:
            available = ", ".join(str(d.platform) for d in parsed.manifests if d.platform) or "none"
            message = f"no manifest in {where} matches {_wanted_text(wanted)} (available: {available})"
            return PlatformChoice(descriptor, content, refusal=CopyRefusal("platform", message))
        if len(chosen) == len(parsed.manifests):
            return PlatformChoice(descriptor, content)  # nothing filtered out: keep the original index
        parsed.manifests = chosen
        new = parsed.to_bytes()
        filtered = OciDescriptor(media_type=descriptor.media_type, digest=compute_digest(new), size=len(new))
        return PlatformChoice(filtered, new, filtered=True)
    if isinstance(parsed, OciImageManifest) and parsed.config.media_type in _DOCKER_CONFIG_TYPES:
        # A single image: its config's platform is checked rather than copying the wrong one silently.
        return PlatformChoice(descriptor, content, config=parsed.config)
    return PlatformChoice(descriptor, content)


def check_config_platform(config: bytes, wanted: Sequence[WantedPlatform], where: str) -> CopyRefusal | None:
    """A refusal when the image config `config` names a platform other than `wanted` (unreadable: none)."""
    try:
        body = loads_json(config, f"read the config of {where}")
        os_name, arch, variant = body.get("os"), body.get("architecture"), body.get("variant")
    except (ValueError, AttributeError):
        return None
    if not (isinstance(os_name, str) and isinstance(arch, str)):
        return None
    platform = Platform(architecture=arch, os=os_name, variant=variant if isinstance(variant, str) else None)
    if platform_matches(platform, wanted):
        return None
    return CopyRefusal("platform", f"{where} is a single {platform} image, not {_wanted_text(wanted)}")
